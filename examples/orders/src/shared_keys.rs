//! Service-account keys and agent tokens in the shared store (Redis or
//! PostgreSQL), recorded in SQLite too.
//!
//! Every lookup reads the shared store only (the record holds the whole
//! principal, an agent's user's roles snapshotted when the key was copied
//! or issued), so a key rotated on one instance stops working on all of
//! them at once. SQLite's `credentials` table stays the durable record: a
//! rotation is written to both, and a shared store that lost its data (a
//! Redis restarted without persistence, flushed; a PostgreSQL database
//! recreated) is filled again from SQLite, so the demo key a rotation
//! revoked never comes back.
//!
//! Written over guard's [`TokenStore`] and [`ReplayStore`] traits: the same
//! code serves every backend of `--store`.

use std::time::Duration;

use guard_runtime::authn::{TokenRecord, TokenStore};
use guard_runtime::store::ReplayStore;
use guard_runtime::{StoreError, StoreFuture};
use sqlx::SqlitePool;

use crate::stores::SqliteTokenStore;

/// A marker in the shared store saying "the keys are there". It is a
/// single-use key of the replay store, so it lives and dies with the keys
/// in the same Redis or PostgreSQL database.
const SEEDED: &str = "orders-example:keys-copied";

/// The marker never expires by itself.
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The keys in `shared` (a backend's token store), with `marker` (the same
/// backend's replay store) remembering that they were copied there.
#[derive(Clone, Debug)]
pub struct SharedKeys<T, R> {
    shared: T,
    marker: R,
    sqlite: SqliteTokenStore,
    pool: SqlitePool,
}

impl<T: TokenStore, R: ReplayStore> SharedKeys<T, R> {
    pub fn new(shared: T, marker: R, pool: SqlitePool) -> Self {
        SharedKeys { shared, marker, sqlite: SqliteTokenStore::new(pool.clone()), pool }
    }

    /// Copies every key SQLite records into the shared store unless the
    /// marker says it has them; says whether it copied. Idempotent:
    /// instances doing it at once write the same records.
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
                self.shared.insert(record).await?;
            }
        }
        // Only once every key is in: a copy cut short is redone.
        self.marker.claim(SEEDED, FOREVER).await?;
        Ok(true)
    }
}

impl<T: TokenStore, R: ReplayStore> TokenStore for SharedKeys<T, R> {
    fn find<'a>(&'a self, secret_hash: &'a str) -> StoreFuture<'a, Result<Option<TokenRecord>, StoreError>> {
        StoreFuture::new(async move {
            if let Some(record) = self.shared.find(secret_hash).await? {
                return Ok(Some(record));
            }
            // A miss on a store that lost its keys: copy them, look again.
            if self.seed_if_needed().await? {
                return self.shared.find(secret_hash).await;
            }
            Ok(None)
        })
    }

    /// Durable record first, then the shared lookup.
    fn insert(&self, record: TokenRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        StoreFuture::new(async move {
            self.sqlite.insert(record.clone()).await?;
            self.shared.insert(record).await
        })
    }

    /// The shared lookup first (every instance stops accepting the key at
    /// once), then the durable record.
    fn revoke<'a>(&'a self, credential_id: &'a str) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            self.shared.revoke(credential_id).await?;
            self.sqlite.revoke(credential_id).await
        })
    }
}
