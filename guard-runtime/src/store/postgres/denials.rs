//! [`DenialStore`] on PostgreSQL.

use std::time::Duration;

use sqlx::SqlStr;

use super::{seconds, sql, Conn};
use crate::store::{DenialStore, DenialWindow};
use crate::{StoreError, StoreFuture};

const WHAT: &str = "denial store";

/// Fixed-window denial counters in PostgreSQL, shared by every instance:
/// denials on any instance count toward one threshold. A negative count is
/// garbage: an add leaves it as it is, and reports it as an error.
///
/// Each key is a row with its count and the end of its window. An add is
/// one `INSERT … ON CONFLICT (key) DO UPDATE … RETURNING` statement that
/// either increments the open window or, if it has ended, opens a new one
/// at 1, so concurrent adds on any instance each see their own count. Made
/// by [`PostgresStores::denials`](super::PostgresStores::denials).
#[derive(Clone, Debug)]
pub struct PostgresDenialStore {
    conn: Conn,
    current: SqlStr,
    add: SqlStr,
    release: SqlStr,
}

/// Milliseconds from now to the end of the window, as `bigint`.
const LEFT_MS: &str = "(extract(epoch FROM (window_end - now())) * 1000)::bigint";

impl PostgresDenialStore {
    pub(super) fn new(conn: Conn) -> Self {
        let t = conn.tables.denials.clone();
        PostgresDenialStore {
            current: sql(format!("SELECT count, {LEFT_MS} FROM {t} WHERE key = $1 AND window_end > now()")),
            add: sql(format!(
                "INSERT INTO {t} AS d (key, count, window_end) VALUES ($1, 1, now() + make_interval(secs => $2))
                 ON CONFLICT (key) DO UPDATE SET
                   count = CASE WHEN d.window_end <= now() THEN 1 WHEN d.count < 0 THEN d.count ELSE d.count + 1 END,
                   window_end = CASE WHEN d.window_end <= now() THEN EXCLUDED.window_end ELSE d.window_end END
                 RETURNING count, {LEFT_MS}"
            )),
            release: sql(format!(
                "UPDATE {t} SET count = count - 1 WHERE key = $1 AND window_end > now() AND count > 0"
            )),
            conn,
        }
    }

    /// The window from a `(count, ms left)` row; a negative count is
    /// garbage, an error.
    fn window(row: Option<(i64, i64)>, window: Duration) -> Result<DenialWindow, StoreError> {
        let Some((count, left)) = row else { return Ok(DenialWindow { count: 0, resets_in: window }) };
        if count < 0 {
            return Err(StoreError::new(WHAT, format!("stored denial count is negative: {count}")));
        }
        Ok(DenialWindow {
            count: u32::try_from(count).unwrap_or(u32::MAX),
            resets_in: Duration::from_millis(left.max(0) as u64).min(window),
        })
    }
}

impl DenialStore for PostgresDenialStore {
    fn current<'a>(&'a self, key: &'a str, window: Duration) -> StoreFuture<'a, Result<DenialWindow, StoreError>> {
        StoreFuture::new(async move {
            let query = sqlx::query_as::<_, (i64, i64)>(self.current.clone()).bind(key.as_bytes());
            let row = self.conn.run(WHAT, query.fetch_optional(&self.conn.pool)).await?;
            Self::window(row, window)
        })
    }

    fn add<'a>(&'a self, key: &'a str, window: Duration) -> StoreFuture<'a, Result<DenialWindow, StoreError>> {
        StoreFuture::new(async move {
            let query = sqlx::query_as::<_, (i64, i64)>(self.add.clone()).bind(key.as_bytes()).bind(seconds(window));
            let row = self.conn.run(WHAT, query.fetch_one(&self.conn.pool)).await?;
            self.conn.wrote(&self.conn.tables.denials, "window_end");
            Self::window(Some(row), window)
        })
    }

    fn release<'a>(&'a self, key: &'a str, _window: Duration) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            let query = sqlx::query(self.release.clone()).bind(key.as_bytes());
            self.conn.run(WHAT, query.execute(&self.conn.pool)).await?;
            Ok(())
        })
    }
}
