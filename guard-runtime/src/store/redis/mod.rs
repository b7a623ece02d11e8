//! Redis-backed stores, so that many app instances share one state
//! (enabled by the `redis` feature).
//!
//! One [`RedisStores`] connection serves all five stores:
//!
//! | store | trait | Redis keys (after the prefix, default `guard:`) |
//! |---|---|---|
//! | [`RedisSessionStore`] | [`SessionStore`](crate::authn::SessionStore) | `session:<id hash>` (JSON, expires with the session), `principal-sessions:<principal id>` (set of id hashes), `revoked-session:<id hash>` (tombstone) |
//! | [`RedisTokenStore`] | [`TokenStore`](crate::authn::TokenStore) | `token:<secret hash>` (JSON), `credential-tokens:<credential id>` (set of secret hashes) |
//! | [`RedisReplayStore`] | [`ReplayStore`](crate::store::ReplayStore) | `replay:<key>` (`SET NX PX`) |
//! | [`RedisDenialStore`] | [`DenialStore`](crate::store::DenialStore) | `denials:<key>` (counter, expires with its window) |
//! | [`RedisApprovalStore`] | [`ApprovalStore`](crate::store::ApprovalStore) | `approval:<id>` (hash: JSON record, state, approver; expires with the request), `approvals:<tenant>` (set of ids) |
//!
//! Every multi-key update runs as one Lua script, so it is atomic for all
//! instances. Values are JSON; a value that does not decode is an error (and
//! so a 503), never taken for a missing one.
//!
//! The connection is a [`ConnectionManager`]: it reconnects by itself, so a
//! Redis restart needs no app restart. Every store call is bounded by
//! [`RedisStoresBuilder::timeout`] (default 1 s): while Redis is down or
//! hung, requests get a quick 503 `unavailable` instead of hanging, and the
//! guarded body never runs. Scripts touch keys they do not declare, so the
//! stores need a single Redis server (or a primary with replicas), not
//! Redis Cluster.
//!
//! # Example
//!
//! ```no_run
//! use guard_runtime::authn::{Sessions, Tokens};
//! use guard_runtime::store::redis::RedisStores;
//! use guard_runtime::{Actions, Resolvers, RolePolicy};
//!
//! # async fn demo() -> Result<(), guard_runtime::StoreError> {
//! let stores = RedisStores::builder("redis://127.0.0.1:6379/").prefix("shop:").connect().await?;
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
use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::RedisResult;

pub use approvals::RedisApprovalStore;
pub use denials::RedisDenialStore;
pub use replay::RedisReplayStore;
pub use sessions::RedisSessionStore;
pub use tokens::RedisTokenStore;

use crate::StoreError;

/// The default key prefix.
pub const DEFAULT_PREFIX: &str = "guard:";

/// The default bound on every store call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// A connection to Redis and the five guard stores over it.
///
/// Cheap to clone: clones share the connection.
#[derive(Clone)]
pub struct RedisStores {
    conn: Conn,
}

impl std::fmt::Debug for RedisStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.conn.fmt(f)
    }
}

impl RedisStores {
    /// Connects to `url` (`redis://[:password@]host[:port][/db]`, or
    /// `rediss://` when the `redis` crate has TLS on) with the default
    /// prefix and timeout. Fails if Redis does not answer.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::builder(url).connect().await
    }

    /// Configures a connection to `url`.
    pub fn builder(url: impl Into<String>) -> RedisStoresBuilder {
        RedisStoresBuilder { url: url.into(), prefix: DEFAULT_PREFIX.to_owned(), timeout: DEFAULT_TIMEOUT }
    }

    /// The session store.
    pub fn sessions(&self) -> RedisSessionStore {
        RedisSessionStore::new(self.conn.clone())
    }

    /// The store of hashed API keys and agent tokens.
    pub fn tokens(&self) -> RedisTokenStore {
        RedisTokenStore::new(self.conn.clone())
    }

    /// The store of single-use keys.
    pub fn replay(&self) -> RedisReplayStore {
        RedisReplayStore::new(self.conn.clone())
    }

    /// The store of denial counters.
    pub fn denials(&self) -> RedisDenialStore {
        RedisDenialStore::new(self.conn.clone())
    }

    /// The store of approval requests.
    pub fn approvals(&self) -> RedisApprovalStore {
        RedisApprovalStore::new(self.conn.clone())
    }

    /// The key prefix in use.
    pub fn prefix(&self) -> &str {
        &self.conn.prefix
    }
}

/// Configures [`RedisStores`]; made by [`RedisStores::builder`].
#[derive(Clone)]
pub struct RedisStoresBuilder {
    url: String,
    prefix: String,
    timeout: Duration,
}

impl std::fmt::Debug for RedisStoresBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: show only what follows the `@`.
        let host = self.url.rsplit_once('@').map_or(self.url.as_str(), |(_, host)| host);
        f.debug_struct("RedisStoresBuilder")
            .field("host", &host)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RedisStoresBuilder {
    /// The prefix of every key (default `guard:`), so that several apps can
    /// share one Redis database.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long one store call may take, connecting included (default 1 s).
    /// Past it the call fails, and the request answers 503 `unavailable`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Connects now; fails if Redis does not answer within the timeout.
    pub async fn connect(self) -> Result<RedisStores, StoreError> {
        let (client, config, timeout) = self.parts()?;
        let manager = tokio::time::timeout(timeout, ConnectionManager::new_with_config(client, config))
            .await
            .map_err(|_| StoreError::new("redis", format!("no connection within {timeout:?}")))?
            .map_err(|e| StoreError::new("redis", e))?;
        Ok(RedisStores { conn: Conn { manager, prefix: self.prefix.into(), timeout } })
    }

    /// Returns at once and connects on first use, so the app can start
    /// while Redis is still down (its requests answer 503 until Redis is
    /// up). Fails only on a malformed URL. Must be called inside a Tokio
    /// runtime.
    pub fn connect_lazy(self) -> Result<RedisStores, StoreError> {
        let (client, config, timeout) = self.parts()?;
        let manager =
            ConnectionManager::new_lazy_with_config(client, config).map_err(|e| StoreError::new("redis", e))?;
        Ok(RedisStores { conn: Conn { manager, prefix: self.prefix.into(), timeout } })
    }

    fn parts(&self) -> Result<(::redis::Client, ConnectionManagerConfig, Duration), StoreError> {
        let client = ::redis::Client::open(self.url.as_str()).map_err(|e| StoreError::new("redis", e))?;
        // Few, short reconnection attempts: while Redis is down a request
        // should fail fast, and the next request starts a new attempt.
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(self.timeout))
            .set_connection_timeout(Some(self.timeout))
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(self.timeout);
        Ok((client, config, self.timeout))
    }
}

/// What every store holds: the shared connection, the prefix, the bound.
#[derive(Clone)]
pub(crate) struct Conn {
    manager: ConnectionManager,
    prefix: Arc<str>,
    timeout: Duration,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStores")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// `<prefix><kind>:<rest>`.
    fn key(&self, kind: &str, rest: &str) -> String {
        let mut key = String::with_capacity(self.prefix.len() + kind.len() + 1 + rest.len());
        key.push_str(&self.prefix);
        key.push_str(kind);
        key.push(':');
        key.push_str(rest);
        key
    }

    /// Runs `op` on a handle of the connection, bounded by the timeout; any
    /// failure becomes a [`StoreError`] naming `what`.
    async fn run<T, F, Fut>(&self, what: &'static str, op: F) -> Result<T, StoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        match tokio::time::timeout(self.timeout, op(self.manager.clone())).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(StoreError::new(what, err)),
            Err(_) => Err(StoreError::new(what, format!("redis did not answer within {:?}", self.timeout))),
        }
    }
}

/// `ttl` in whole milliseconds for `PX`, at least 1.
fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).clamp(1, i64::MAX as u64)
}

/// Decodes a stored JSON value; garbage is an error, never "missing".
fn decode<T: serde::de::DeserializeOwned>(what: &'static str, json: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(json).map_err(|e| StoreError::new(what, format!("undecodable stored value: {e}")))
}
