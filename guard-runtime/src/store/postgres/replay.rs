//! [`ReplayStore`] on PostgreSQL.

use std::time::Duration;

use sqlx::SqlStr;

use super::{seconds, sql, Conn};
use crate::store::ReplayStore;
use crate::{StoreError, StoreFuture};

const WHAT: &str = "replay store";

/// Single-use keys in PostgreSQL. A claim is one statement,
/// `INSERT … ON CONFLICT (key) DO UPDATE … WHERE <the old claim expired>
/// RETURNING`: PostgreSQL serializes concurrent inserts of one key, so of
/// any number of concurrent claims, on any instance, exactly one gets a row
/// back. Made by [`PostgresStores::replay`](super::PostgresStores::replay).
#[derive(Clone, Debug)]
pub struct PostgresReplayStore {
    conn: Conn,
    is_claimed: SqlStr,
    claim: SqlStr,
}

impl PostgresReplayStore {
    pub(super) fn new(conn: Conn) -> Self {
        let t = conn.tables.replay.clone();
        PostgresReplayStore {
            is_claimed: sql(format!("SELECT EXISTS (SELECT 1 FROM {t} WHERE key = $1 AND expires_at > now())")),
            claim: sql(format!(
                "INSERT INTO {t} AS r (key, expires_at) VALUES ($1, now() + make_interval(secs => $2))
                 ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE r.expires_at <= now()
                 RETURNING true"
            )),
            conn,
        }
    }
}

impl ReplayStore for PostgresReplayStore {
    fn is_claimed<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Result<bool, StoreError>> {
        StoreFuture::new(async move {
            let query = sqlx::query_scalar::<_, bool>(self.is_claimed.clone()).bind(key.as_bytes());
            self.conn.run(WHAT, query.fetch_one(&self.conn.pool)).await
        })
    }

    fn claim<'a>(&'a self, key: &'a str, ttl: Duration) -> StoreFuture<'a, Result<bool, StoreError>> {
        StoreFuture::new(async move {
            let query = sqlx::query_scalar::<_, bool>(self.claim.clone()).bind(key.as_bytes()).bind(seconds(ttl));
            let won = self.conn.run(WHAT, query.fetch_optional(&self.conn.pool)).await?.is_some();
            self.conn.wrote(&self.conn.tables.replay, "expires_at");
            Ok(won)
        })
    }
}
