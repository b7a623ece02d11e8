//! [`TokenStore`] on PostgreSQL.

use sqlx::SqlStr;

use super::{decode, sql, Conn};
use crate::authn::{TokenRecord, TokenStore};
use crate::{StoreError, StoreFuture};

const WHAT: &str = "token store";

/// Hashed API keys and agent tokens in PostgreSQL, shared by every
/// instance: a key revoked or rotated on one instance stops working on all
/// of them at once.
///
/// Each key is a row keyed by its secret hash: the credential id
/// (`record.principal.credential_id`, indexed, for [`TokenStore::revoke`])
/// and the JSON [`TokenRecord`]. Made by
/// [`PostgresStores::tokens`](super::PostgresStores::tokens).
#[derive(Clone, Debug)]
pub struct PostgresTokenStore {
    conn: Conn,
    find: SqlStr,
    insert: SqlStr,
    revoke: SqlStr,
}

impl PostgresTokenStore {
    pub(super) fn new(conn: Conn) -> Self {
        let t = conn.tables.tokens.clone();
        PostgresTokenStore {
            find: sql(format!("SELECT credential_id, record FROM {t} WHERE secret_hash = $1")),
            insert: sql(format!(
                "INSERT INTO {t} (secret_hash, credential_id, record) VALUES ($1, $2, $3)
                 ON CONFLICT (secret_hash) DO UPDATE SET credential_id = EXCLUDED.credential_id, record = EXCLUDED.record"
            )),
            revoke: sql(format!("DELETE FROM {t} WHERE credential_id = $1")),
            conn,
        }
    }
}

impl TokenStore for PostgresTokenStore {
    fn find<'a>(&'a self, secret_hash: &'a str) -> StoreFuture<'a, Result<Option<TokenRecord>, StoreError>> {
        StoreFuture::new(async move {
            let query = sqlx::query_as::<_, (Vec<u8>, String)>(self.find.clone()).bind(secret_hash);
            let found = self.conn.run(WHAT, query.fetch_optional(&self.conn.pool)).await?;
            let Some((credential_id, json)) = found else { return Ok(None) };
            let record: TokenRecord = decode(WHAT, &json)?;
            // Revocation goes by the indexed column: a record that disagrees
            // with its row could survive a revoke.
            if record.principal.credential_id.as_bytes() != credential_id || record.secret_hash != secret_hash {
                return Err(StoreError::new(WHAT, "stored key does not match its row"));
            }
            Ok(Some(record))
        })
    }

    fn insert(&self, record: TokenRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        StoreFuture::new(async move {
            let json = serde_json::to_string(&record).map_err(|e| StoreError::new(WHAT, e))?;
            let query = sqlx::query(self.insert.clone())
                .bind(record.secret_hash.as_str())
                .bind(record.principal.credential_id.as_bytes())
                .bind(json);
            self.conn.run(WHAT, query.execute(&self.conn.pool)).await?;
            Ok(())
        })
    }

    fn revoke<'a>(&'a self, credential_id: &'a str) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            let query = sqlx::query(self.revoke.clone()).bind(credential_id.as_bytes());
            self.conn.run(WHAT, query.execute(&self.conn.pool)).await?;
            Ok(())
        })
    }
}
