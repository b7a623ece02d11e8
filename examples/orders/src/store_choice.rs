//! `--store`: where sessions, keys, replay keys and denial counters live.
//!
//! In-process (the default): sessions and keys in SQLite, replay keys and
//! denial counters in memory; one instance. `redis://…`: all four in Redis
//! through `guard_runtime::store::redis`, shared by every instance pointed
//! at the same Redis. Orders, users and passwords stay in SQLite either way.

use std::sync::Arc;
use std::time::Duration;

use guard_runtime::authn::{SessionRecord, SessionStore, Tokens};
use guard_runtime::store::redis::RedisStores;
use guard_runtime::{Actions, BoxFuture, StoreError};
use sqlx::SqlitePool;

use crate::redis_keys::RedisKeys;
use crate::stores::{SqliteSessionStore, SqliteTokenStore};

/// Every Redis key of the app starts with this.
const REDIS_PREFIX: &str = "orders:";

/// How long one Redis call may take before the request answers 503.
const REDIS_TIMEOUT: Duration = Duration::from_secs(1);

/// What `--store` asked for (parsed before anything is created).
#[derive(Clone, PartialEq, Eq)]
pub enum StoreChoice {
    InProcess,
    Redis(String),
}

impl std::fmt::Debug for StoreChoice {
    // The URL may carry a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreChoice::InProcess => f.write_str("in-process"),
            StoreChoice::Redis(_) => f.write_str("redis"),
        }
    }
}

impl StoreChoice {
    /// `None`, `""` or `in-process`: the default; `redis://…`/`rediss://…`:
    /// Redis. Anything else is a bad flag. Messages never echo the URL
    /// (it may hold a password), only its scheme.
    pub fn parse(flag: Option<&str>) -> Result<StoreChoice, String> {
        let value = flag.map(str::trim).unwrap_or("");
        if value.is_empty() || value == "in-process" {
            return Ok(StoreChoice::InProcess);
        }
        match value.split_once("://") {
            Some(("redis" | "rediss", rest)) if !rest.is_empty() => Ok(StoreChoice::Redis(value.to_owned())),
            Some(("redis" | "rediss", _)) => Err("--store: the Redis URL names no host".to_owned()),
            Some((scheme, _)) => {
                Err(format!("--store: unsupported scheme `{scheme}://` (expected `redis://HOST:PORT` or `in-process`)"))
            }
            None => Err("--store: expected `redis://HOST:PORT` or `in-process`".to_owned()),
        }
    }

    /// Short name for logs.
    pub fn label(&self) -> &'static str {
        match self {
            StoreChoice::InProcess => "in-process",
            StoreChoice::Redis(_) => "redis",
        }
    }

    /// Connects to Redis if asked to, without waiting for it
    /// (`connect_lazy`): the app starts while Redis is down and answers 503
    /// until it is up. Fails only on a malformed URL. Needs a Tokio runtime.
    pub fn connect(&self) -> Result<Option<RedisStores>, String> {
        match self {
            StoreChoice::InProcess => Ok(None),
            StoreChoice::Redis(url) => RedisStores::builder(url.as_str())
                .prefix(REDIS_PREFIX)
                .timeout(REDIS_TIMEOUT)
                .connect_lazy()
                .map(Some)
                .map_err(|e| format!("--store: {}", one_line(&e.to_string()))),
        }
    }
}

fn one_line(message: &str) -> String {
    message.lines().next().unwrap_or("invalid URL").to_owned()
}

/// The stores the app is built on.
pub struct Stores {
    /// Sessions (the authenticator's and the login action's store).
    pub session_store: SharedSessionStore,
    /// Bearer keys and agent tokens.
    pub tokens: Tokens,
    /// Set when on Redis: replay keys and denial counters go there too.
    redis: Option<(RedisStores, RedisKeys)>,
}

impl Stores {
    /// On `redis` (from [`StoreChoice::connect`]) if given, else in-process.
    pub fn new(redis: Option<RedisStores>, pool: &SqlitePool) -> Stores {
        let Some(redis) = redis else { return Stores::in_process(pool) };
        let keys = RedisKeys::new(&redis, pool.clone());
        Stores {
            session_store: SharedSessionStore::new(redis.sessions()),
            tokens: Tokens::new(keys.clone()),
            redis: Some((redis, keys)),
        }
    }

    /// Today's single-instance stores: SQLite sessions and keys; guard's
    /// in-memory replay and denial stores.
    pub fn in_process(pool: &SqlitePool) -> Stores {
        Stores {
            session_store: SharedSessionStore::new(SqliteSessionStore::new(pool.clone())),
            tokens: Tokens::new(SqliteTokenStore::new(pool.clone())),
            redis: None,
        }
    }

    /// Puts the replay keys and denial counters in the shared store, if any.
    pub fn apply<S: Clone + Send + Sync + 'static>(&self, actions: Actions<S>) -> Actions<S> {
        match &self.redis {
            Some((redis, _)) => actions.replay_store(redis.replay()).denial_store(redis.denials()),
            None => actions,
        }
    }

    /// On Redis: copies the keys SQLite records into Redis if Redis does not
    /// hold them yet (first start, or a Redis that lost its data). A Redis
    /// that is down now is only logged: lookups retry the copy later.
    pub async fn prepare(&self) {
        let Some((_, keys)) = &self.redis else { return };
        match keys.seed_if_needed().await {
            Ok(true) => tracing::info!("copied the service-account keys and agent tokens into Redis"),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "Redis is not reachable yet; requests answer 503 until it is"),
        }
    }
}

/// Any session store behind one type, so the app state need not know which.
#[derive(Clone)]
pub struct SharedSessionStore(Arc<dyn SessionStore>);

impl SharedSessionStore {
    pub fn new(store: impl SessionStore) -> Self {
        SharedSessionStore(Arc::new(store))
    }
}

impl std::fmt::Debug for SharedSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedSessionStore").finish_non_exhaustive()
    }
}

impl SessionStore for SharedSessionStore {
    fn load<'a>(&'a self, id_hash: &'a str) -> BoxFuture<'a, Result<Option<SessionRecord>, StoreError>> {
        self.0.load(id_hash)
    }

    fn save<'a>(&'a self, id_hash: &'a str, record: SessionRecord) -> BoxFuture<'a, Result<(), StoreError>> {
        self.0.save(id_hash, record)
    }

    fn revoke<'a>(&'a self, id_hash: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        self.0.revoke(id_hash)
    }

    fn revoke_principal<'a>(
        &'a self,
        principal_id: &'a str,
        keep: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.0.revoke_principal(principal_id, keep)
    }
}

#[cfg(test)]
mod tests {
    use super::StoreChoice;

    #[test]
    fn parses_the_flag() {
        assert_eq!(StoreChoice::parse(None), Ok(StoreChoice::InProcess));
        assert_eq!(StoreChoice::parse(Some("in-process")), Ok(StoreChoice::InProcess));
        assert_eq!(
            StoreChoice::parse(Some("redis://127.0.0.1:6379")),
            Ok(StoreChoice::Redis("redis://127.0.0.1:6379".into()))
        );
        for bad in ["postgres://x", "127.0.0.1:6379", "redis://", "memory"] {
            let err = StoreChoice::parse(Some(bad)).unwrap_err();
            assert!(err.starts_with("--store: "), "{err}");
        }
        let err = StoreChoice::parse(Some("http://user:secret@host")).unwrap_err();
        assert!(!err.contains("secret"), "{err}");
    }
}
