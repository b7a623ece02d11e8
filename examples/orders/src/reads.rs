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
//! An in-memory database has nothing to share with a second connection
//! (the pool keeps its one connection forever): there, reads go through
//! the pool.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use sqlx::sqlite::{SqliteConnectOptions, SqliteRow};
use sqlx::{ConnectOptions, Connection, Execute, Executor, Sqlite, SqliteConnection, SqlitePool};
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
    /// opened as the pool opens its own, unless the database is in memory.
    /// One connection a core this process may run on (more would only
    /// queue threads), and never fewer than two, so that a read waiting
    /// on a lock does not hold up every other.
    pub fn of(pool: &SqlitePool) -> Reads {
        let options = pool.connect_options();
        let in_memory = options.to_url_lossy().query_pairs().any(|(key, value)| key == "mode" && value == "memory");
        if in_memory {
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
