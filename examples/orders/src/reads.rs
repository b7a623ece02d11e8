//! The connections the resolvers read through: a few SQLite connections
//! of their own, beside the pool.
//!
//! Every guarded order action starts with the resolver's read of the
//! order (the row whose tenant and owner guard checks, and which
//! `GET /orders/{id}` answers with). sqlx-sqlite runs each connection on
//! a worker thread of its own, and a query is a hand-off to that thread
//! and back. Through `SqlitePool` one read costs two such round trips:
//! the query, and the ping sqlx sends every connection it takes back
//! (`PoolConnection`'s return to the pool, which no option turns off).
//! On a busy core each hand-off is a context switch or two, several
//! times the query itself. Here a read is one round trip: the query.
//!
//! The ping guards against a query cancelled half-way leaving the
//! connection mid-transaction. These connections only ever run single
//! statements (no transaction to leave open): a cancelled read's rows are
//! dropped by the worker, and the next command waits behind it in the
//! worker's queue. A connection whose read failed is closed, and opened
//! again by the next read that picks it; the failed read answers with its
//! error (the resolver's 503).
//!
//! The in-memory database lives in the pool's one connection, kept
//! forever: there, reads go through the pool.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use sqlx::sqlite::{SqliteConnectOptions, SqliteRow};
use sqlx::{Connection, Execute, Executor, Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// Where the resolvers' reads go.
#[derive(Clone, Debug)]
pub enum Reads {
    /// A database file: connections of their own.
    Own(ReadConnections),
    /// The in-memory database: its pool's one connection.
    Pool(SqlitePool),
}

impl Reads {
    /// The reads of `pool`'s database: through connections of their own,
    /// opened as the pool opens its own, when it is a file on disk (opened
    /// by now: `db::open` creates it). Anything else, such as the
    /// in-memory database, reads through the pool, which is always right.
    /// One connection a core this process may run on (more would only
    /// queue threads), and never fewer than two, so that a read waiting
    /// on a lock does not hold up every other.
    pub fn of(pool: &SqlitePool) -> Reads {
        let options = pool.connect_options();
        if !options.get_filename().is_file() {
            return Reads::Pool(pool.clone());
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Reads::Own(ReadConnections::new(options, cores.max(2)))
    }

    /// The row `query` selects, if any.
    pub async fn fetch_optional<'q, E>(&self, query: E) -> Result<Option<SqliteRow>, sqlx::Error>
    where
        E: Execute<'q, Sqlite> + 'q,
    {
        match self {
            Reads::Own(connections) => connections.fetch_optional(query).await,
            Reads::Pool(pool) => pool.fetch_optional(query).await,
        }
    }
}

/// A fixed set of connections, each opened on first use.
#[derive(Clone)]
pub struct ReadConnections {
    options: Arc<SqliteConnectOptions>,
    slots: Arc<[Arc<Mutex<Option<SqliteConnection>>>]>,
    /// Where the next read starts looking for a free connection.
    next: Arc<AtomicUsize>,
}

impl std::fmt::Debug for ReadConnections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadConnections").field("connections", &self.slots.len()).finish_non_exhaustive()
    }
}

impl ReadConnections {
    /// `count` connections (at least one) opened with `options`, lazily.
    pub fn new(options: Arc<SqliteConnectOptions>, count: usize) -> Self {
        let slots = (0..count.max(1)).map(|_| Arc::new(Mutex::new(None))).collect();
        ReadConnections { options, slots, next: Arc::new(AtomicUsize::new(0)) }
    }

    /// The row `query` selects, if any, read through one connection.
    pub async fn fetch_optional<'q, E>(&self, query: E) -> Result<Option<SqliteRow>, sqlx::Error>
    where
        E: Execute<'q, Sqlite> + 'q,
    {
        let mut slot = self.free_slot().await;
        let connection = match &mut *slot {
            Some(connection) => connection,
            empty => empty.insert(SqliteConnection::connect_with(&self.options).await?),
        };
        let read = connection.fetch_optional(query).await;
        if read.is_err() {
            // Whatever failed (the file, the worker thread, the statement),
            // the next read starts from a new connection.
            *slot = None;
        }
        read
    }

    /// A free connection if there is one, else a turn on the next in line.
    async fn free_slot(&self) -> OwnedMutexGuard<Option<SqliteConnection>> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let count = self.slots.len();
        for offset in 0..count {
            if let Ok(slot) = self.slots[(start + offset) % count].clone().try_lock_owned() {
                return slot;
            }
        }
        self.slots[start % count].clone().lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Row;

    use super::*;
    use crate::config::DbLocation;
    use crate::db;

    const READ: &str = "SELECT item FROM orders WHERE id = ?";

    async fn file_database(dir: &tempfile::TempDir) -> SqlitePool {
        db::open(&DbLocation::File(dir.path().join("orders.db"))).await.expect("database").0
    }

    async fn place(pool: &SqlitePool, item: &str) -> i64 {
        sqlx::query_scalar("INSERT INTO orders (tenant, owner, item, quantity, address, status) VALUES ('acme', 'alice', ?, 1, 'x', 'new') RETURNING id")
            .bind(item)
            .fetch_one(pool)
            .await
            .expect("insert")
    }

    async fn item(reads: &Reads, id: i64) -> Result<Option<String>, sqlx::Error> {
        Ok(reads.fetch_optional(sqlx::query(READ).bind(id)).await?.map(|row| row.get("item")))
    }

    /// Nothing is kept between reads: each sees what was committed
    /// through the pool just before it.
    #[tokio::test]
    async fn a_file_database_is_read_through_its_own_connections_and_each_read_is_current() {
        let dir = tempfile::tempdir().expect("dir");
        let pool = file_database(&dir).await;
        let reads = Reads::of(&pool);
        assert!(matches!(reads, Reads::Own(_)), "{reads:?}");
        let id = place(&pool, "lamp").await;
        assert_eq!(item(&reads, id).await.expect("read").as_deref(), Some("lamp"));
        sqlx::query("UPDATE orders SET item = 'desk' WHERE id = ?").bind(id).execute(&pool).await.expect("update");
        assert_eq!(item(&reads, id).await.expect("read").as_deref(), Some("desk"));
        sqlx::query("DELETE FROM orders WHERE id = ?").bind(id).execute(&pool).await.expect("delete");
        assert_eq!(item(&reads, id).await.expect("read"), None);
    }

    #[tokio::test]
    async fn an_in_memory_database_is_read_through_its_pool() {
        let (pool, _) = db::open(&DbLocation::Memory).await.expect("database");
        let reads = Reads::of(&pool);
        assert!(matches!(reads, Reads::Pool(_)), "{reads:?}");
        let id = place(&pool, "lamp").await;
        assert_eq!(item(&reads, id).await.expect("read").as_deref(), Some("lamp"));
    }

    /// A failed read answers its error (the resolver's 503) and drops its
    /// connection; the next read opens a new one.
    #[tokio::test]
    async fn a_failed_read_fails_and_the_next_read_opens_a_new_connection() {
        let dir = tempfile::tempdir().expect("dir");
        let pool = file_database(&dir).await;
        let id = place(&pool, "lamp").await;
        let connections = ReadConnections::new(pool.connect_options(), 1);
        let reads = Reads::Own(connections.clone());
        assert_eq!(item(&reads, id).await.expect("read").as_deref(), Some("lamp"));
        assert!(connections.slots[0].try_lock().expect("free").is_some(), "kept open after a good read");

        let failed = reads.fetch_optional(sqlx::query("SELECT item FROM no_such_table")).await;
        assert!(failed.is_err(), "{failed:?}");
        assert!(connections.slots[0].try_lock().expect("free").is_none(), "dropped after a failed read");
        assert_eq!(item(&reads, id).await.expect("read").as_deref(), Some("lamp"));
    }

    /// A database that cannot be opened fails every read; none answers
    /// as if the order were missing.
    #[tokio::test]
    async fn a_database_that_cannot_be_opened_fails_the_read() {
        let dir = tempfile::tempdir().expect("dir");
        let options = SqliteConnectOptions::new().filename(dir.path().join("missing").join("orders.db"));
        let reads = Reads::Own(ReadConnections::new(Arc::new(options), 2));
        assert!(item(&reads, 1).await.is_err());
        assert!(item(&reads, 1).await.is_err(), "still failing, not a miss");
    }

    /// More reads at once than connections: each waits its turn and gets
    /// its own row.
    #[tokio::test]
    async fn reads_beyond_the_connections_wait_their_turn() {
        let dir = tempfile::tempdir().expect("dir");
        let pool = file_database(&dir).await;
        let mut ids = Vec::new();
        for n in 0..16 {
            ids.push((place(&pool, &format!("item {n}")).await, format!("item {n}")));
        }
        let reads = Reads::Own(ReadConnections::new(pool.connect_options(), 2));
        let all = ids.iter().map(|(id, _)| item(&reads, *id));
        let items = futures_util::future::join_all(all).await;
        for ((_, expected), got) in ids.iter().zip(items) {
            assert_eq!(got.expect("read").as_deref(), Some(expected.as_str()));
        }
    }
}
