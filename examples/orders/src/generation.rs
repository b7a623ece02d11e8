//! The credentials generation: one value that every change to a key, a
//! session or a user account replaces, so that what an instance holds in
//! memory (`cached.rs`) is known stale the moment anything changes, here
//! or on another instance.
//!
//! In-process it is a counter in memory (one instance). On `--store
//! redis://…` or `postgres://…` it lives in the shared store: every request
//! reads it there (one small read, instead of the key's record in the
//! shared store and the user's account in SQLite), and every change writes
//! a new random value. Random, not incremented: a store that lost its data
//! starts from nothing, and a counter counting up again could meet a value
//! some instance still holds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use guard_runtime::{StoreError, StoreFuture};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

/// What a generation reads when the shared store holds none yet.
const NONE_YET: u64 = 0;

/// Where the generation lives.
#[derive(Clone)]
pub enum Generation {
    /// In this process: changes are made here, and only here.
    Local(Arc<AtomicU64>),
    Redis(RedisGeneration),
    Postgres(PostgresGeneration),
}

impl std::fmt::Debug for Generation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Generation::Local(_) => "Generation::Local",
            Generation::Redis(_) => "Generation::Redis",
            Generation::Postgres(_) => "Generation::Postgres",
        })
    }
}

impl Generation {
    /// One instance: a counter in memory.
    pub fn local() -> Generation {
        Generation::Local(Arc::new(AtomicU64::new(1)))
    }

    /// The generation now. In memory it is at hand; a shared store's is
    /// read when polled.
    pub fn current(&self) -> StoreFuture<'_, Result<u64, StoreError>> {
        match self {
            Generation::Local(counter) => StoreFuture::ready(Ok(counter.load(Ordering::Acquire))),
            Generation::Redis(redis) => StoreFuture::new(redis.current()),
            Generation::Postgres(pg) => StoreFuture::new(pg.current()),
        }
    }

    /// Marks everything held in memory, on every instance, as stale. Called
    /// after the change is stored, before the request that made it answers.
    pub async fn bump(&self) -> Result<(), StoreError> {
        match self {
            Generation::Local(counter) => {
                counter.fetch_add(1, Ordering::AcqRel);
                Ok(())
            }
            Generation::Redis(redis) => redis.bump().await,
            Generation::Postgres(pg) => pg.bump().await,
        }
    }
}

/// A fresh random generation, never [`NONE_YET`].
fn random() -> Result<u64, StoreError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::new("credentials generation", e.to_string()))?;
    Ok(u64::from_le_bytes(bytes).max(NONE_YET + 1))
}

/// The generation as one Redis string.
#[derive(Clone)]
pub struct RedisGeneration {
    manager: ConnectionManager,
    key: Arc<str>,
    timeout: Duration,
}

impl RedisGeneration {
    /// Connects on first use, as the app's other Redis stores do.
    pub fn connect_lazy(url: &str, key: &str, timeout: Duration) -> Result<RedisGeneration, StoreError> {
        let client = redis::Client::open(url).map_err(|e| StoreError::new("redis", e))?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(timeout))
            .set_connection_timeout(Some(timeout))
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(timeout);
        let manager =
            ConnectionManager::new_lazy_with_config(client, config).map_err(|e| StoreError::new("redis", e))?;
        Ok(RedisGeneration { manager, key: key.into(), timeout })
    }

    async fn current(&self) -> Result<u64, StoreError> {
        let (mut conn, mut get) = (self.manager.clone(), redis::cmd("GET"));
        let get = get.arg(&*self.key).query_async::<Option<u64>>(&mut conn);
        Ok(bounded(self.timeout, get).await?.unwrap_or(NONE_YET))
    }

    async fn bump(&self) -> Result<(), StoreError> {
        let (mut conn, mut set) = (self.manager.clone(), redis::cmd("SET"));
        let set = set.arg(&*self.key).arg(random()?).query_async::<()>(&mut conn);
        bounded(self.timeout, set).await
    }
}

impl std::fmt::Debug for RedisGeneration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisGeneration").field("key", &self.key).finish_non_exhaustive()
    }
}

/// `op`, bounded by `timeout`; any failure names the generation.
async fn bounded<T, E: std::error::Error + Send + Sync + 'static>(
    timeout: Duration,
    op: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(timeout, op).await {
        Ok(done) => done.map_err(|e| StoreError::new("credentials generation", e)),
        Err(_) => Err(StoreError::new("credentials generation", format!("no answer within {timeout:?}"))),
    }
}

/// The generation as one row of a PostgreSQL table of its own.
#[derive(Clone, Debug)]
pub struct PostgresGeneration {
    pool: PgPool,
    timeout: Duration,
}

impl PostgresGeneration {
    /// Connects on first use, as the app's other PostgreSQL stores do.
    pub fn connect_lazy(url: &str, timeout: Duration) -> Result<PostgresGeneration, StoreError> {
        let options: PgConnectOptions = url.parse().map_err(|e| StoreError::new("postgres", e))?;
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .acquire_timeout(timeout)
            .test_before_acquire(true)
            .connect_lazy_with(options.application_name("orders-example"));
        Ok(PostgresGeneration { pool, timeout })
    }

    /// Creates the table if missing: with the shared store's own tables.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let create = sqlx::query(
            "CREATE TABLE IF NOT EXISTS orders_credentials_generation (id INT PRIMARY KEY, value BIGINT NOT NULL)",
        )
        .execute(&self.pool);
        bounded(self.timeout, create).await.map(drop)
    }

    async fn current(&self) -> Result<u64, StoreError> {
        let read = sqlx::query_scalar::<_, i64>("SELECT value FROM orders_credentials_generation WHERE id = 1")
            .fetch_optional(&self.pool);
        // The bits of the random value, whatever their sign in a BIGINT.
        Ok(bounded(self.timeout, read).await?.map_or(NONE_YET, |value| u64::from_ne_bytes(value.to_ne_bytes())))
    }

    async fn bump(&self) -> Result<(), StoreError> {
        let value = i64::from_ne_bytes(random()?.to_ne_bytes());
        let write = sqlx::query(
            "INSERT INTO orders_credentials_generation (id, value) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET value = excluded.value",
        )
        .bind(value)
        .execute(&self.pool);
        bounded(self.timeout, write).await.map(drop)
    }
}
