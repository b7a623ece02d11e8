//! [`SessionStore`] on PostgreSQL.

use std::time::{Duration, SystemTime};

use sqlx::SqlStr;

use super::{decode, seconds, sql, Conn};
use crate::authn::{SessionRecord, SessionStore};
use crate::{StoreError, StoreFuture};

const WHAT: &str = "session store";

/// Sessions in PostgreSQL, shared by every instance: a logout or a
/// revocation on one instance holds on all of them at once.
///
/// Each session is a row keyed by its id hash: the principal id (indexed,
/// for [`SessionStore::revoke_principal`]), the JSON [`SessionRecord`],
/// the expiry and a revoked flag. Revoking empties the record and sets the
/// flag; the row stays until the session would have expired, and a save
/// never overwrites a revoked row, so a save racing the revocation (a
/// re-authentication) cannot bring it back. Nor does a save ever hand a
/// live session id to another principal. Made by
/// [`PostgresStores::sessions`](super::PostgresStores::sessions).
#[derive(Clone, Debug)]
pub struct PostgresSessionStore {
    conn: Conn,
    load: SqlStr,
    save: SqlStr,
    revoke: SqlStr,
    revoke_principal: SqlStr,
}

impl PostgresSessionStore {
    pub(super) fn new(conn: Conn) -> Self {
        let t = conn.tables.sessions.clone();
        PostgresSessionStore {
            load: sql(format!(
                "SELECT principal_id, record FROM {t} WHERE id_hash = $1 AND NOT revoked AND expires_at > now()"
            )),
            // An expired row is replaced whatever it was; a live one only
            // by a save of the same principal, and never once revoked.
            save: sql(format!(
                "INSERT INTO {t} AS s (id_hash, principal_id, record, expires_at, revoked)
                 VALUES ($1, $2, $3, now() + make_interval(secs => $4), false)
                 ON CONFLICT (id_hash) DO UPDATE
                 SET principal_id = EXCLUDED.principal_id, record = EXCLUDED.record,
                     expires_at = EXCLUDED.expires_at, revoked = false
                 WHERE s.expires_at <= now() OR (NOT s.revoked AND s.principal_id = EXCLUDED.principal_id)"
            )),
            revoke: sql(format!(
                "UPDATE {t} SET revoked = true, record = '' WHERE id_hash = $1 AND NOT revoked AND expires_at > now()"
            )),
            revoke_principal: sql(format!(
                "UPDATE {t} SET revoked = true, record = ''
                 WHERE principal_id = $1 AND id_hash IS DISTINCT FROM $2 AND NOT revoked AND expires_at > now()"
            )),
            conn,
        }
    }
}

impl SessionStore for PostgresSessionStore {
    fn load<'a>(&'a self, id_hash: &'a str) -> StoreFuture<'a, Result<Option<SessionRecord>, StoreError>> {
        StoreFuture::new(async move {
            let query = sqlx::query_as::<_, (Vec<u8>, String)>(self.load.clone()).bind(id_hash);
            let found = self.conn.run(WHAT, query.fetch_optional(&self.conn.pool)).await?;
            let Some((principal_id, json)) = found else { return Ok(None) };
            let record: SessionRecord = decode(WHAT, &json)?;
            // The indexed column is what revocation goes by: a record that
            // disagrees with it could outlive a revoke_all.
            if record.principal.id.as_bytes() != principal_id {
                return Err(StoreError::new(WHAT, "stored session's principal does not match its row"));
            }
            Ok(Some(record).filter(|r| r.expires_at > SystemTime::now()))
        })
    }

    fn save<'a>(&'a self, id_hash: &'a str, record: SessionRecord) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            let json = serde_json::to_string(&record).map_err(|e| StoreError::new(WHAT, e))?;
            let ttl = record.expires_at.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO);
            let query = sqlx::query(self.save.clone())
                .bind(id_hash)
                .bind(record.principal.id.as_bytes())
                .bind(json)
                .bind(seconds(ttl));
            self.conn.run(WHAT, query.execute(&self.conn.pool)).await?;
            self.conn.wrote(&self.conn.tables.sessions, "expires_at");
            Ok(())
        })
    }

    fn revoke<'a>(&'a self, id_hash: &'a str) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            let query = sqlx::query(self.revoke.clone()).bind(id_hash);
            self.conn.run(WHAT, query.execute(&self.conn.pool)).await?;
            Ok(())
        })
    }

    fn revoke_principal<'a>(
        &'a self,
        principal_id: &'a str,
        keep: Option<&'a str>,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            let query = sqlx::query(self.revoke_principal.clone()).bind(principal_id.as_bytes()).bind(keep);
            self.conn.run(WHAT, query.execute(&self.conn.pool)).await?;
            Ok(())
        })
    }
}
