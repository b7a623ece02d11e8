//! [`ApprovalStore`] on PostgreSQL.

use std::time::Duration;

use sqlx::{Row, SqlStr};

use super::{decode, seconds, sql, Conn};
use crate::store::{ApprovalRequest, ApprovalState, ApprovalStore};
use crate::{StoreError, StoreFuture};

const WHAT: &str = "approval store";

/// Approval requests in PostgreSQL, shared by every instance: one row per
/// request, the JSON record beside its live state and approver. A
/// transition is one `UPDATE … WHERE state = <from> RETURNING`, so of
/// concurrent transitions, on any instance, exactly one gets a row back.
/// Rows are deleted once past their time to be forgotten (`forget_at`,
/// the database's clock). Made by
/// [`PostgresStores::approvals`](super::PostgresStores::approvals).
#[derive(Clone, Debug)]
pub struct PostgresApprovalStore {
    conn: Conn,
    create: SqlStr,
    get: SqlStr,
    transition: SqlStr,
    pending: SqlStr,
}

impl PostgresApprovalStore {
    pub(super) fn new(conn: Conn) -> Self {
        let t = conn.tables.approvals.clone();
        PostgresApprovalStore {
            create: sql(format!(
                "INSERT INTO {t} (id, tenant, record, state, forget_at)
                 VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))"
            )),
            get: sql(format!("SELECT record, state, decided_by FROM {t} WHERE id = $1 AND forget_at > now()")),
            transition: sql(format!(
                "UPDATE {t} SET state = $3, decided_by = COALESCE($4, decided_by)
                 WHERE id = $1 AND state = $2 AND forget_at > now() RETURNING true"
            )),
            pending: sql(format!(
                "SELECT record, state, decided_by FROM {t}
                 WHERE tenant = $1 AND state = 'pending' AND forget_at > now()"
            )),
            conn,
        }
    }

    /// A row as a request: its live state and approver over the record's.
    fn assemble(row: &sqlx::postgres::PgRow) -> Result<ApprovalRequest, StoreError> {
        let record: String = row.try_get("record").map_err(|e| StoreError::new(WHAT, e))?;
        let state: String = row.try_get("state").map_err(|e| StoreError::new(WHAT, e))?;
        let decided_by: Option<Vec<u8>> = row.try_get("decided_by").map_err(|e| StoreError::new(WHAT, e))?;
        let mut request: ApprovalRequest = decode(WHAT, &record)?;
        request.state = ApprovalState::from_name(&state)
            .ok_or_else(|| StoreError::new(WHAT, format!("stored request has an unknown state {state:?}")))?;
        if let Some(by) = decided_by {
            let by = String::from_utf8(by).map_err(|e| StoreError::new(WHAT, e))?;
            request.decided_by = Some(by);
        }
        Ok(request)
    }
}

impl ApprovalStore for PostgresApprovalStore {
    fn create<'a>(&'a self, request: &'a ApprovalRequest, keep: Duration) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            let json = serde_json::to_string(request).map_err(|e| StoreError::new(WHAT, e))?;
            let query = sqlx::query(self.create.clone())
                .bind(request.id.as_str())
                .bind(request.tenant.as_bytes())
                .bind(json)
                .bind(request.state.as_str())
                .bind(seconds(keep));
            self.conn.run(WHAT, query.execute(&self.conn.pool)).await?;
            self.conn.wrote(&self.conn.tables.approvals, "forget_at");
            Ok(())
        })
    }

    fn get<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Result<Option<ApprovalRequest>, StoreError>> {
        StoreFuture::new(async move {
            let query = sqlx::query(self.get.clone()).bind(id);
            let row = self.conn.run(WHAT, query.fetch_optional(&self.conn.pool)).await?;
            row.as_ref().map(Self::assemble).transpose()
        })
    }

    fn transition<'a>(
        &'a self,
        id: &'a str,
        from: ApprovalState,
        to: ApprovalState,
        decided_by: Option<&'a str>,
    ) -> StoreFuture<'a, Result<bool, StoreError>> {
        StoreFuture::new(async move {
            let query = sqlx::query_scalar::<_, bool>(self.transition.clone())
                .bind(id)
                .bind(from.as_str())
                .bind(to.as_str())
                .bind(decided_by.map(str::as_bytes));
            Ok(self.conn.run(WHAT, query.fetch_optional(&self.conn.pool)).await?.is_some())
        })
    }

    fn pending<'a>(&'a self, tenant: &'a str) -> StoreFuture<'a, Result<Vec<ApprovalRequest>, StoreError>> {
        StoreFuture::new(async move {
            let query = sqlx::query(self.pending.clone()).bind(tenant.as_bytes());
            let rows = self.conn.run(WHAT, query.fetch_all(&self.conn.pool)).await?;
            let mut found = rows.iter().map(Self::assemble).collect::<Result<Vec<_>, _>>()?;
            found.sort_by(|a, b| (a.requested_at, &a.id).cmp(&(b.requested_at, &b.id)));
            Ok(found)
        })
    }
}
