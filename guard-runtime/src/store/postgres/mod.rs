//! PostgreSQL-backed stores, so that many app instances share one state
//! (enabled by the `postgres` feature).
//!
//! Over 400 lines because the pool, the schema it migrates and the bounded
//! call every store makes through it belong together; each store's own
//! queries live in a file of their own.
//!
//! One [`PostgresStores`] connection pool serves all five stores, each in
//! its own table (names after the prefix, default `guard_`, in the schema
//! of [`PostgresStoresBuilder::schema`], else the `search_path`'s):
//!
//! | store | trait | table |
//! |---|---|---|
//! | [`PostgresSessionStore`] | [`SessionStore`](crate::authn::SessionStore) | `sessions`: id hash (key), principal id (indexed), JSON record, expiry, revoked flag |
//! | [`PostgresTokenStore`] | [`TokenStore`](crate::authn::TokenStore) | `tokens`: secret hash (key), credential id (indexed), JSON record |
//! | [`PostgresReplayStore`] | [`ReplayStore`](crate::store::ReplayStore) | `replay`: key, expiry |
//! | [`PostgresDenialStore`] | [`DenialStore`](crate::store::DenialStore) | `denials`: key, count, end of window |
//! | [`PostgresApprovalStore`] | [`ApprovalStore`](crate::store::ApprovalStore) | `approvals`: id (key), tenant (indexed), JSON record, state, approver, time to forget it |
//!
//! Hashes and records are `text`. Keys and ids that may hold any string
//! (replay keys, denial keys, principal and credential ids) are `bytea`
//! holding their UTF-8, since `text` cannot hold a NUL character.
//!
//! [`PostgresStores::migrate`] creates the tables (and the schema) if they
//! do not exist; it is idempotent and safe to run from every instance at
//! startup. Every update is one SQL statement (`INSERT … ON CONFLICT`, or
//! `UPDATE`/`DELETE … WHERE`), so it is atomic for all instances; times
//! are the database server's `now()`, so the instances' clocks do not
//! matter. Records are JSON in `text` columns; a value that does not
//! decode is an error (and so a 503), never taken for a missing one.
//!
//! Expired rows stop counting at once and are deleted in the background
//! every [`SWEEP_EVERY`] writes of a store (and by [`PostgresStores::sweep`]).
//! A revoked session keeps its row, emptied, until it would have expired,
//! so a save racing the revocation (a re-authentication) cannot bring it
//! back.
//!
//! Every store call is bounded by [`PostgresStoresBuilder::timeout`]
//! (default 1 s), waiting for a pooled connection included; the server
//! also gets it as `statement_timeout`. While PostgreSQL is down or hung,
//! requests get a quick 503 `unavailable` instead of hanging, and the
//! guarded body never runs. The pool tests a connection before handing it
//! out and opens new ones as needed, so a database restart needs no app
//! restart.
//!
//! TLS: this feature turns on no TLS backend of `sqlx`; for `sslmode=require`
//! add one in the app, e.g. `sqlx = { version = "0.9", features = ["tls-rustls"] }`.
//!
//! # Example
//!
//! ```no_run
//! use guard_runtime::authn::{Sessions, Tokens};
//! use guard_runtime::store::postgres::PostgresStores;
//! use guard_runtime::{Actions, Resolvers, RolePolicy};
//!
//! # async fn demo() -> Result<(), guard_runtime::StoreError> {
//! let stores = PostgresStores::builder("postgres://app@127.0.0.1:5432/shop")
//!     .schema("guard")
//!     .prefix("shop_")
//!     .connect()
//!     .await?;
//! stores.migrate().await?; // CREATE TABLE IF NOT EXISTS …
//! let sessions = Sessions::new(stores.sessions());
//! let tokens = Tokens::new(stores.tokens());
//! let app: axum::Router = Actions::new(RolePolicy::new(), (tokens, sessions), Resolvers::new())
//!     .replay_store(stores.replay())
//!     .denial_store(stores.denials())
//!     // .mount(…)
//!     .into_router(());
//! # Ok(()) }
//! ```

mod approvals;
mod denials;
mod replay;
mod sessions;
mod tokens;

use std::future::Future;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, SqlSafeStr, SqlStr};

pub use approvals::PostgresApprovalStore;
pub use denials::PostgresDenialStore;
pub use replay::PostgresReplayStore;
pub use sessions::PostgresSessionStore;
pub use tokens::PostgresTokenStore;

use crate::StoreError;

/// The default table name prefix.
pub const DEFAULT_PREFIX: &str = "guard_";

/// The default bound on every store call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// The default number of pooled connections.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;

/// A store deletes its expired rows in the background once per this many
/// writes.
pub const SWEEP_EVERY: u64 = 1024;

/// Rows one background sweep deletes at most (per table).
const SWEEP_BATCH: u32 = 10_000;

/// A connection pool to PostgreSQL and the five guard stores over it.
///
/// Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct PostgresStores {
    conn: Conn,
}

impl std::fmt::Debug for PostgresStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.conn.fmt(f)
    }
}

impl PostgresStores {
    /// Connects to `url` (`postgres://user[:password]@host[:port]/database`)
    /// with the default prefix, schema and timeout. Fails if PostgreSQL
    /// does not answer. Does not create the tables: see
    /// [`migrate`](PostgresStores::migrate).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::builder(url).connect().await
    }

    /// Configures a connection pool to `url`.
    pub fn builder(url: impl Into<String>) -> PostgresStoresBuilder {
        PostgresStoresBuilder {
            url: url.into(),
            schema: None,
            prefix: DEFAULT_PREFIX.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }

    /// Creates the schema (if one was set), the four tables and their
    /// indexes, unless they exist. Idempotent; concurrent calls from
    /// several instances serialize on an advisory lock.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let conn = &self.conn;
        let t = &conn.tables;
        let mut statements = Vec::new();
        if let Some(schema) = &t.schema {
            statements.push(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""));
        }
        statements.extend([
            format!(
                "CREATE TABLE IF NOT EXISTS {} (
                    id_hash text PRIMARY KEY,
                    principal_id bytea NOT NULL,
                    record text NOT NULL,
                    expires_at timestamptz NOT NULL,
                    revoked boolean NOT NULL DEFAULT false
                )",
                t.sessions
            ),
            format!("CREATE INDEX IF NOT EXISTS \"{}\" ON {} (principal_id)", t.index("sessions_principal_id"), t.sessions),
            format!("CREATE INDEX IF NOT EXISTS \"{}\" ON {} (expires_at)", t.index("sessions_expires_at"), t.sessions),
            format!(
                "CREATE TABLE IF NOT EXISTS {} (
                    secret_hash text PRIMARY KEY,
                    credential_id bytea NOT NULL,
                    record text NOT NULL
                )",
                t.tokens
            ),
            format!("CREATE INDEX IF NOT EXISTS \"{}\" ON {} (credential_id)", t.index("tokens_credential_id"), t.tokens),
            format!(
                "CREATE TABLE IF NOT EXISTS {} (key bytea PRIMARY KEY, expires_at timestamptz NOT NULL)",
                t.replay
            ),
            format!("CREATE INDEX IF NOT EXISTS \"{}\" ON {} (expires_at)", t.index("replay_expires_at"), t.replay),
            format!(
                "CREATE TABLE IF NOT EXISTS {} (key bytea PRIMARY KEY, count bigint NOT NULL, window_end timestamptz NOT NULL)",
                t.denials
            ),
            format!("CREATE INDEX IF NOT EXISTS \"{}\" ON {} (window_end)", t.index("denials_window_end"), t.denials),
            format!(
                "CREATE TABLE IF NOT EXISTS {} (
                    id text PRIMARY KEY,
                    tenant bytea NOT NULL,
                    record text NOT NULL,
                    state text NOT NULL,
                    decided_by bytea,
                    forget_at timestamptz NOT NULL
                )",
                t.approvals
            ),
            format!("CREATE INDEX IF NOT EXISTS \"{}\" ON {} (tenant, state)", t.index("approvals_tenant"), t.approvals),
            format!("CREATE INDEX IF NOT EXISTS \"{}\" ON {} (forget_at)", t.index("approvals_forget_at"), t.approvals),
        ]);
        let work = async {
            let mut tx = conn.pool.begin().await?;
            // Concurrent `CREATE … IF NOT EXISTS` can still collide in the
            // catalog; one migration at a time.
            sqlx::query("SELECT pg_advisory_xact_lock(7230861540118395641)").execute(&mut *tx).await?;
            for statement in statements {
                sqlx::query(AssertSqlSafe(statement)).execute(&mut *tx).await?;
            }
            tx.commit().await
        };
        // Creating tables may wait on locks: allow more than one call.
        let bound = conn.timeout.saturating_mul(10).max(Duration::from_secs(10));
        match tokio::time::timeout(bound, work).await {
            Ok(done) => done.map_err(|e| StoreError::new("postgres migration", e)),
            Err(_) => Err(StoreError::new("postgres migration", format!("not done within {bound:?}"))),
        }
    }

    /// Deletes every expired row now (sessions, revoked ones included,
    /// replay keys, denial windows and approval requests); returns how
    /// many. The stores also do this in the background as they are written
    /// to; call it from a periodic job if writes are rare.
    pub async fn sweep(&self) -> Result<u64, StoreError> {
        let t = &self.conn.tables;
        let mut deleted = 0;
        for (table, column) in [
            (&t.sessions, "expires_at"),
            (&t.replay, "expires_at"),
            (&t.denials, "window_end"),
            (&t.approvals, "forget_at"),
        ] {
            let sql = format!("DELETE FROM {table} WHERE {column} <= now()");
            deleted += self
                .conn
                .run("postgres sweep", sqlx::query(AssertSqlSafe(sql)).execute(&self.conn.pool))
                .await?
                .rows_affected();
        }
        Ok(deleted)
    }

    /// The session store.
    pub fn sessions(&self) -> PostgresSessionStore {
        PostgresSessionStore::new(self.conn.clone())
    }

    /// The store of hashed API keys and agent tokens.
    pub fn tokens(&self) -> PostgresTokenStore {
        PostgresTokenStore::new(self.conn.clone())
    }

    /// The store of single-use keys.
    pub fn replay(&self) -> PostgresReplayStore {
        PostgresReplayStore::new(self.conn.clone())
    }

    /// The store of denial counters.
    pub fn denials(&self) -> PostgresDenialStore {
        PostgresDenialStore::new(self.conn.clone())
    }

    /// The store of approval requests.
    pub fn approvals(&self) -> PostgresApprovalStore {
        PostgresApprovalStore::new(self.conn.clone())
    }

    /// The table name prefix in use.
    pub fn prefix(&self) -> &str {
        &self.conn.tables.prefix
    }

    /// The schema of the tables, if one was set.
    pub fn schema(&self) -> Option<&str> {
        self.conn.tables.schema.as_deref()
    }
}

/// Configures [`PostgresStores`]; made by [`PostgresStores::builder`].
#[derive(Clone)]
pub struct PostgresStoresBuilder {
    url: String,
    schema: Option<String>,
    prefix: String,
    timeout: Duration,
    max_connections: u32,
}

impl std::fmt::Debug for PostgresStoresBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: show only what follows the `@`.
        let host = self.url.rsplit_once('@').map_or(self.url.as_str(), |(_, host)| host);
        f.debug_struct("PostgresStoresBuilder")
            .field("host", &host)
            .field("schema", &self.schema)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

impl PostgresStoresBuilder {
    /// The schema of the tables (default: none, so the connection's
    /// `search_path` decides, usually `public`). Lowercase ASCII letters,
    /// digits and `_`, not starting with a digit; checked on connect.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// The prefix of every table name (default `guard_`), so that several
    /// apps can share one schema. Lowercase ASCII letters, digits and `_`,
    /// at most 32 bytes; checked on connect.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long one store call may take, waiting for a connection included
    /// (default 1 s). Past it the call fails, and the request answers 503
    /// `unavailable`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How many connections the pool opens at most (default 10).
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Connects now; fails if PostgreSQL does not answer within the timeout.
    pub async fn connect(self) -> Result<PostgresStores, StoreError> {
        let (pool_options, options, tables) = self.parts()?;
        let timeout = self.timeout;
        let pool = tokio::time::timeout(timeout, pool_options.connect_with(options))
            .await
            .map_err(|_| StoreError::new("postgres", format!("no connection within {timeout:?}")))?
            .map_err(|e| StoreError::new("postgres", e))?;
        Ok(PostgresStores { conn: Conn::new(pool, tables, timeout) })
    }

    /// Returns at once and connects on first use, so the app can start
    /// while PostgreSQL is still down (its requests answer 503 until it is
    /// up). Fails only on a malformed URL, schema or prefix. Must be called
    /// inside a Tokio runtime.
    pub fn connect_lazy(self) -> Result<PostgresStores, StoreError> {
        let (pool_options, options, tables) = self.parts()?;
        let pool = pool_options.connect_lazy_with(options);
        Ok(PostgresStores { conn: Conn::new(pool, tables, self.timeout) })
    }

    fn parts(&self) -> Result<(PgPoolOptions, PgConnectOptions, Tables), StoreError> {
        let tables = Tables::new(self.schema.clone(), self.prefix.clone())?;
        if !(self.url.starts_with("postgres://") || self.url.starts_with("postgresql://")) {
            return Err(StoreError::new("postgres", "the URL must start with postgres:// or postgresql://"));
        }
        let millis = u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX).clamp(1, i32::MAX as u64);
        let options = PgConnectOptions::from_str(&self.url)
            .map_err(|e| StoreError::new("postgres", e))?
            .application_name("guard")
            // The server gives up on a statement when the client does.
            .options([("statement_timeout", millis.to_string())]);
        let pool_options = PgPoolOptions::new()
            .max_connections(self.max_connections)
            .min_connections(0)
            .acquire_timeout(self.timeout)
            // Hand out only live connections, so a restarted server costs
            // no failed request.
            .test_before_acquire(true);
        Ok((pool_options, options, tables))
    }
}

/// The qualified, quoted names of the five tables.
#[derive(Debug)]
struct Tables {
    schema: Option<String>,
    prefix: String,
    sessions: String,
    tokens: String,
    replay: String,
    denials: String,
    approvals: String,
}

impl Tables {
    fn new(schema: Option<String>, prefix: String) -> Result<Self, StoreError> {
        let word = |s: &str| s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !word(&prefix) || prefix.len() > 32 {
            return Err(StoreError::new(
                "postgres",
                format!("table prefix {prefix:?}: use at most 32 of a-z, 0-9 and _"),
            ));
        }
        if let Some(schema) = &schema {
            if schema.is_empty()
                || !word(schema)
                || schema.len() > 63
                || schema.starts_with(|c: char| c.is_ascii_digit())
            {
                return Err(StoreError::new(
                    "postgres",
                    format!("schema {schema:?}: use at most 63 of a-z, 0-9 and _, not starting with a digit"),
                ));
            }
        }
        let name = |table: &str| match &schema {
            Some(schema) => format!("\"{schema}\".\"{prefix}{table}\""),
            None => format!("\"{prefix}{table}\""),
        };
        Ok(Tables {
            sessions: name("sessions"),
            tokens: name("tokens"),
            replay: name("replay"),
            denials: name("denials"),
            approvals: name("approvals"),
            schema,
            prefix,
        })
    }

    /// The name of an index (unqualified: it lives in its table's schema).
    fn index(&self, what: &str) -> String {
        format!("{}{what}", self.prefix)
    }
}

/// What every store holds: the shared pool, the table names, the bound.
#[derive(Clone)]
pub(crate) struct Conn {
    pool: PgPool,
    tables: Arc<Tables>,
    timeout: Duration,
    writes: Arc<AtomicU64>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStores")
            .field("schema", &self.tables.schema)
            .field("prefix", &self.tables.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Conn {
    fn new(pool: PgPool, tables: Tables, timeout: Duration) -> Self {
        Conn { pool, tables: Arc::new(tables), timeout, writes: Arc::new(AtomicU64::new(0)) }
    }

    /// Runs `query` (a future over the pool), bounded by the timeout; any
    /// failure becomes a [`StoreError`] naming `what`.
    async fn run<T>(
        &self,
        what: &'static str,
        query: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, query).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(StoreError::new(what, err)),
            Err(_) => Err(StoreError::new(what, format!("postgres did not answer within {:?}", self.timeout))),
        }
    }

    /// Counts a write; every [`SWEEP_EVERY`]th one deletes a batch of the
    /// expired rows of `table` (by `column`) in the background, so no
    /// request waits for it.
    fn wrote(&self, table: &str, column: &'static str) {
        if self.writes.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY != SWEEP_EVERY - 1 {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let sql = format!(
            "DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table} WHERE {column} <= now() LIMIT {SWEEP_BATCH}))"
        );
        let conn = self.clone();
        runtime.spawn(async move {
            if let Err(err) = conn.run("postgres sweep", sqlx::query(AssertSqlSafe(sql)).execute(&conn.pool)).await {
                tracing::debug!(error = %err, "guard: background sweep of expired rows failed");
            }
        });
    }
}

/// A statement built once per store, cheap to clone into each query.
fn sql(text: String) -> SqlStr {
    AssertSqlSafe(Arc::<str>::from(text)).into_sql_str()
}

/// `ttl` in seconds for `make_interval`, at least 1 ms and at most ~300
/// years (beyond `timestamptz` arithmetic there is no use).
fn seconds(ttl: Duration) -> f64 {
    ttl.as_secs_f64().clamp(0.001, 1e10)
}

/// Decodes a stored JSON value; garbage is an error, never "missing".
fn decode<T: serde::de::DeserializeOwned>(what: &'static str, json: &str) -> Result<T, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::new(what, format!("undecodable stored value: {e}")))
}
