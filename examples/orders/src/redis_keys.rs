//! Service-account keys and agent tokens on Redis, recorded in SQLite too.
//!
//! Every lookup reads Redis only (`token:<hash>` holds the whole principal,
//! an agent's user's roles snapshotted when the key was copied or issued),
//! so a key rotated on one instance stops working on all of them at once.
//! SQLite's `credentials` table stays the durable record: a rotation is
//! written to both, and a Redis that lost its data (restarted without
//! persistence, flushed) is filled again from SQLite, so the demo key a
//! rotation revoked never comes back.

use std::time::Duration;

use guard_runtime::authn::{TokenRecord, TokenStore};
use guard_runtime::store::redis::{RedisReplayStore, RedisStores, RedisTokenStore};
use guard_runtime::store::ReplayStore;
use guard_runtime::{BoxFuture, StoreError};
use sqlx::SqlitePool;

use crate::stores::SqliteTokenStore;

/// A marker in Redis saying "the keys are there". It is a single-use key
/// of the replay store: `SET NX`, so it lives and dies with the keys in the
/// same Redis database.
const SEEDED: &str = "orders-example:keys-copied";

/// The marker never expires by itself.
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

#[derive(Clone, Debug)]
pub struct RedisKeys {
    redis: RedisTokenStore,
    marker: RedisReplayStore,
    sqlite: SqliteTokenStore,
    pool: SqlitePool,
}

impl RedisKeys {
    pub fn new(stores: &RedisStores, pool: SqlitePool) -> Self {
        RedisKeys { redis: stores.tokens(), marker: stores.replay(), sqlite: SqliteTokenStore::new(pool.clone()), pool }
    }

    /// Copies every key SQLite records into Redis unless the marker says
    /// Redis has them; says whether it copied. Idempotent: instances doing
    /// it at once write the same records.
    pub async fn seed_if_needed(&self) -> Result<bool, StoreError> {
        if self.marker.is_claimed(SEEDED).await? {
            return Ok(false);
        }
        let hashes: Vec<String> = sqlx::query_scalar("SELECT secret_hash FROM credentials ORDER BY secret_hash")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| StoreError::new("token store", e))?;
        for hash in hashes {
            // The principal as SQLite describes it now (an agent with its
            // user's current roles).
            if let Some(record) = self.sqlite.find(&hash).await? {
                self.redis.insert(record).await?;
            }
        }
        // Only once every key is in: a copy cut short is redone.
        self.marker.claim(SEEDED, FOREVER).await?;
        Ok(true)
    }
}

impl TokenStore for RedisKeys {
    fn find<'a>(&'a self, secret_hash: &'a str) -> BoxFuture<'a, Result<Option<TokenRecord>, StoreError>> {
        Box::pin(async move {
            if let Some(record) = self.redis.find(secret_hash).await? {
                return Ok(Some(record));
            }
            // A miss on a Redis that lost its keys: copy them, look again.
            if self.seed_if_needed().await? {
                return self.redis.find(secret_hash).await;
            }
            Ok(None)
        })
    }

    /// Durable record first, then the shared lookup.
    fn insert(&self, record: TokenRecord) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            self.sqlite.insert(record.clone()).await?;
            self.redis.insert(record).await
        })
    }

    /// The shared lookup first (every instance stops accepting the key at
    /// once), then the durable record.
    fn revoke<'a>(&'a self, credential_id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.redis.revoke(credential_id).await?;
            self.sqlite.revoke(credential_id).await
        })
    }
}
