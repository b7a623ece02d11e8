//! `--store`: where sessions, keys, replay keys, denial counters and
//! approval requests live.
//!
//! In-process (the default): sessions and keys in SQLite, replay keys,
//! denial counters and approval requests in memory; one instance.
//! `redis://…` or `postgres://…`: all five in Redis (`guard_runtime::store::redis`) or PostgreSQL
//! (`guard_runtime::store::postgres`), shared by every instance pointed at
//! the same server. Orders, users and passwords stay in SQLite either way.

use std::sync::Arc;
use std::time::Duration;

use guard_runtime::authn::{LiveSession, SessionRecord, SessionStore, TokenStore, Tokens};
use guard_runtime::store::postgres::{PostgresReplayStore, PostgresStores, PostgresTokenStore};
use guard_runtime::store::redis::{RedisReplayStore, RedisStores, RedisTokenStore};
use guard_runtime::store::{ApprovalRequest, ApprovalState, ApprovalStore, MemoryApprovalStore, ReplayStore};
use guard_runtime::{Actions, StoreError, StoreFuture};
use sqlx::SqlitePool;

use crate::cached::{CachedSessions, CachedTokens};
use crate::generation::{Generation, PostgresGeneration, RedisGeneration};
use crate::shared_keys::SharedKeys;
use crate::stores::{SqliteSessionStore, SqliteTokenStore};

/// Every Redis key of the app starts with this.
const REDIS_PREFIX: &str = "orders:";

/// The Redis key of the credentials generation (`generation.rs`).
const REDIS_GENERATION: &str = "orders:credentials-generation";

/// Every PostgreSQL table of the app starts with this.
const POSTGRES_PREFIX: &str = "orders_";

/// How long one call to the shared store may take before the request
/// answers 503.
const STORE_TIMEOUT: Duration = Duration::from_secs(1);

/// How often a PostgreSQL unreachable at startup is asked again to create
/// the tables.
const MIGRATE_RETRY: Duration = Duration::from_millis(500);

const EXPECTED: &str = "expected `redis://HOST:PORT`, `postgres://USER@HOST:PORT/DB` or `in-process`";

/// What `--store` asked for (parsed before anything is created).
#[derive(Clone, PartialEq, Eq)]
pub enum StoreChoice {
    InProcess,
    Redis(String),
    Postgres(String),
}

impl std::fmt::Debug for StoreChoice {
    // The URL may carry a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

impl StoreChoice {
    /// `None`, `""` or `in-process`: the default; `redis://…`/`rediss://…`:
    /// Redis; `postgres://…`/`postgresql://…`: PostgreSQL. Anything else is
    /// a bad flag. Messages never echo the URL (it may hold a password),
    /// only its scheme.
    pub fn parse(flag: Option<&str>) -> Result<StoreChoice, String> {
        let value = flag.map(str::trim).unwrap_or("");
        if value.is_empty() || value == "in-process" {
            return Ok(StoreChoice::InProcess);
        }
        let Some((scheme, rest)) = value.split_once("://") else {
            return Err(format!("--store: {EXPECTED}"));
        };
        let (kind, name): (fn(String) -> StoreChoice, _) = match scheme {
            "redis" | "rediss" => (StoreChoice::Redis, "Redis"),
            "postgres" | "postgresql" => (StoreChoice::Postgres, "PostgreSQL"),
            _ => return Err(format!("--store: unsupported scheme `{scheme}://` ({EXPECTED})")),
        };
        if rest.is_empty() {
            return Err(format!("--store: the {name} URL names no host"));
        }
        Ok(kind(value.to_owned()))
    }

    /// Short name for logs.
    pub fn label(&self) -> &'static str {
        match self {
            StoreChoice::InProcess => "in-process",
            StoreChoice::Redis(_) => "redis",
            StoreChoice::Postgres(_) => "postgres",
        }
    }

    /// Connects to the shared store if asked to, without waiting for it
    /// (`connect_lazy`): the app starts while it is down and answers 503
    /// until it is up. Fails only on a malformed URL. Needs a Tokio runtime.
    pub fn connect(&self) -> Result<Option<SharedStores>, String> {
        let connected = match self {
            StoreChoice::InProcess => return Ok(None),
            StoreChoice::Redis(url) => connect_redis(url),
            StoreChoice::Postgres(url) => connect_postgres(url),
        };
        connected.map(Some).map_err(|e| format!("--store: {}", one_line(&e.to_string())))
    }
}

/// Guard's Redis stores and the credentials generation, on one server.
fn connect_redis(url: &str) -> Result<SharedStores, StoreError> {
    let redis = RedisStores::builder(url).prefix(REDIS_PREFIX).timeout(STORE_TIMEOUT).connect_lazy()?;
    let generation = RedisGeneration::connect_lazy(url, REDIS_GENERATION, STORE_TIMEOUT)?;
    Ok(SharedStores::Redis(redis, generation))
}

/// Guard's PostgreSQL stores and the credentials generation, on one server.
fn connect_postgres(url: &str) -> Result<SharedStores, StoreError> {
    let pg = PostgresStores::builder(url).prefix(POSTGRES_PREFIX).timeout(STORE_TIMEOUT).connect_lazy()?;
    Ok(SharedStores::Postgres(pg, PostgresGeneration::connect_lazy(url, STORE_TIMEOUT)?))
}

fn one_line(message: &str) -> String {
    message.lines().next().unwrap_or("invalid URL").to_owned()
}

/// A shared store, connected (lazily) by [`StoreChoice::connect`], with
/// the credentials generation kept in it.
#[derive(Clone, Debug)]
pub enum SharedStores {
    Redis(RedisStores, RedisGeneration),
    Postgres(PostgresStores, PostgresGeneration),
}

/// A shared store and the keys in it.
#[derive(Clone, Debug)]
enum Shared {
    Redis(RedisStores, SharedKeys<RedisTokenStore, RedisReplayStore>),
    Postgres(PostgresStores, SharedKeys<PostgresTokenStore, PostgresReplayStore>, PostgresGeneration),
}

/// The stores the app is built on. Keys and sessions are served from
/// memory (`cached.rs`), valid for one credentials generation.
pub struct Stores {
    /// Sessions (the authenticator's and the login action's store).
    pub session_store: SharedSessionStore,
    /// Bearer keys and agent tokens.
    pub tokens: Tokens,
    /// Approval requests (refunds waiting for a second admin): in memory,
    /// or in the shared store.
    pub approvals: SharedApprovalStore,
    /// Moved on by every change to a key, a session or an account: what
    /// is kept in memory is stale from then on, on every instance.
    pub generation: Generation,
    /// Set when on Redis or PostgreSQL: replay keys and denial counters go
    /// there too.
    shared: Option<Shared>,
}

impl Stores {
    /// On `shared` (from [`StoreChoice::connect`]) if given, else in-process.
    pub fn new(shared: Option<SharedStores>, pool: &SqlitePool) -> Stores {
        let (session_store, tokens, approvals, generation, shared) = match shared {
            None => return Stores::in_process(pool),
            Some(SharedStores::Redis(redis, generation)) => {
                let generation = Generation::Redis(generation);
                let keys = SharedKeys::new(redis.tokens(), redis.replay(), pool.clone());
                let sessions = CachedSessions::new(redis.sessions(), generation.clone());
                let tokens = CachedTokens::new(keys.clone(), generation.clone());
                let approvals = SharedApprovalStore::new(redis.approvals());
                (
                    SharedSessionStore::new(sessions),
                    Tokens::new(tokens),
                    approvals,
                    generation,
                    Shared::Redis(redis, keys),
                )
            }
            Some(SharedStores::Postgres(pg, pg_generation)) => {
                let generation = Generation::Postgres(pg_generation.clone());
                let keys = SharedKeys::new(pg.tokens(), pg.replay(), pool.clone());
                let sessions = CachedSessions::new(pg.sessions(), generation.clone());
                let tokens = CachedTokens::new(keys.clone(), generation.clone());
                let approvals = SharedApprovalStore::new(pg.approvals());
                let shared = Shared::Postgres(pg, keys, pg_generation);
                (SharedSessionStore::new(sessions), Tokens::new(tokens), approvals, generation, shared)
            }
        };
        Stores { session_store, tokens, approvals, generation, shared: Some(shared) }
    }

    /// The single-instance stores: SQLite sessions and keys, kept in memory
    /// under a generation in memory; guard's in-memory replay and denial
    /// stores.
    pub fn in_process(pool: &SqlitePool) -> Stores {
        let generation = Generation::local();
        Stores {
            session_store: SharedSessionStore::new(CachedSessions::new(
                SqliteSessionStore::new(pool.clone()),
                generation.clone(),
            )),
            tokens: Tokens::new(CachedTokens::new(SqliteTokenStore::new(pool.clone()), generation.clone())),
            generation,
            approvals: SharedApprovalStore::new(MemoryApprovalStore::new()),
            shared: None,
        }
    }

    /// Whether the denial counters live in a shared store (which cannot
    /// list who is locked out).
    pub fn shares_denials(&self) -> bool {
        self.shared.is_some()
    }

    /// Puts the approval requests in their store, and the replay keys and
    /// denial counters in the shared store, if any.
    pub fn apply<S: Clone + Send + Sync + 'static>(&self, actions: Actions<S>) -> Actions<S> {
        let actions = actions.approval_store(self.approvals.clone());
        match &self.shared {
            Some(Shared::Redis(redis, _)) => actions.replay_store(redis.replay()).denial_store(redis.denials()),
            Some(Shared::Postgres(pg, ..)) => actions.replay_store(pg.replay()).denial_store(pg.denials()),
            None => actions,
        }
    }

    /// On a shared store: creates PostgreSQL's tables if missing, then
    /// copies the keys SQLite records into the store if it does not hold
    /// them yet (first start, or a store that lost its data). A store that
    /// is down now is only logged: requests answer 503 until it is up; key
    /// lookups retry the copy, and PostgreSQL's tables are created in the
    /// background as soon as it answers.
    pub async fn prepare(&self) {
        match &self.shared {
            None => {}
            Some(Shared::Redis(_, keys)) => {
                if let Err(e) = seed("Redis", keys).await {
                    not_reachable("Redis", &e);
                }
            }
            Some(Shared::Postgres(pg, keys, generation)) => {
                let Err(e) = postgres_ready(pg, keys, generation).await else { return };
                not_reachable("PostgreSQL", &e);
                let (pg, keys, generation) = (pg.clone(), keys.clone(), generation.clone());
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(MIGRATE_RETRY).await;
                        if postgres_ready(&pg, &keys, &generation).await.is_ok() {
                            tracing::info!("PostgreSQL answers: its tables are ready");
                            return;
                        }
                    }
                });
            }
        }
    }
}

/// Creates the tables (if missing), then copies the keys if needed.
async fn postgres_ready(
    pg: &PostgresStores,
    keys: &SharedKeys<PostgresTokenStore, PostgresReplayStore>,
    generation: &PostgresGeneration,
) -> Result<(), StoreError> {
    pg.migrate().await?;
    generation.migrate().await?;
    seed("PostgreSQL", keys).await
}

/// Copies the keys into the store `name` if it does not hold them yet.
async fn seed<T: TokenStore, R: ReplayStore>(name: &str, keys: &SharedKeys<T, R>) -> Result<(), StoreError> {
    if keys.seed_if_needed().await? {
        tracing::info!("copied the service-account keys and agent tokens into {name}");
    }
    Ok(())
}

fn not_reachable(name: &str, error: &StoreError) {
    tracing::warn!(%error, "{name} is not reachable yet; requests answer 503 until it is");
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
    fn load<'a>(&'a self, id_hash: &'a str) -> StoreFuture<'a, Result<Option<SessionRecord>, StoreError>> {
        self.0.load(id_hash)
    }

    fn load_live<'a>(&'a self, id_hash: &'a str) -> StoreFuture<'a, Result<Option<LiveSession>, StoreError>> {
        self.0.load_live(id_hash)
    }

    fn save<'a>(&'a self, id_hash: &'a str, record: SessionRecord) -> StoreFuture<'a, Result<(), StoreError>> {
        self.0.save(id_hash, record)
    }

    fn revoke<'a>(&'a self, id_hash: &'a str) -> StoreFuture<'a, Result<(), StoreError>> {
        self.0.revoke(id_hash)
    }

    fn revoke_principal<'a>(
        &'a self,
        principal_id: &'a str,
        keep: Option<&'a str>,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        self.0.revoke_principal(principal_id, keep)
    }
}

/// Any approval store behind one type: the app's, and a test's handle on
/// the same requests.
#[derive(Clone)]
pub struct SharedApprovalStore(Arc<dyn ApprovalStore>);

impl SharedApprovalStore {
    pub fn new(store: impl ApprovalStore) -> Self {
        SharedApprovalStore(Arc::new(store))
    }
}

impl std::fmt::Debug for SharedApprovalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedApprovalStore").finish_non_exhaustive()
    }
}

impl ApprovalStore for SharedApprovalStore {
    fn create<'a>(&'a self, request: &'a ApprovalRequest, keep: Duration) -> StoreFuture<'a, Result<(), StoreError>> {
        self.0.create(request, keep)
    }

    fn get<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Result<Option<ApprovalRequest>, StoreError>> {
        self.0.get(id)
    }

    fn transition<'a>(
        &'a self,
        id: &'a str,
        from: ApprovalState,
        to: ApprovalState,
        decided_by: Option<&'a str>,
    ) -> StoreFuture<'a, Result<bool, StoreError>> {
        self.0.transition(id, from, to, decided_by)
    }

    fn pending<'a>(&'a self, tenant: &'a str) -> StoreFuture<'a, Result<Vec<ApprovalRequest>, StoreError>> {
        self.0.pending(tenant)
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
        for url in ["postgres://postgres@127.0.0.1:5432/postgres", "postgresql://u:pw@db/orders"] {
            assert_eq!(StoreChoice::parse(Some(url)), Ok(StoreChoice::Postgres(url.into())));
        }
        assert_eq!(format!("{:?}", StoreChoice::parse(Some("postgresql://u:pw@db/orders"))), "Ok(postgres)");
        for bad in ["mysql://x", "127.0.0.1:6379", "redis://", "postgres://", "memory"] {
            let err = StoreChoice::parse(Some(bad)).unwrap_err();
            assert!(err.starts_with("--store: "), "{err}");
        }
        let err = StoreChoice::parse(Some("http://user:secret@host")).unwrap_err();
        assert!(!err.contains("secret"), "{err}");
    }
}
