use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::sweep::Sweeper;
use crate::{StoreError, StoreFuture};

/// Single-use keys (`Idempotency-Key`, nonces).
///
/// Every method returns a [`StoreFuture`]: an in-process store answers with
/// [`StoreFuture::ready`] (no allocation), a network store with
/// [`StoreFuture::new`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a guard replay store",
    label = "expected a `guard_runtime::store::ReplayStore`, such as `MemoryReplayStore`",
    note = "implement `guard_runtime::store::ReplayStore`; its documentation (`cargo doc -p guard-runtime --open`) says what to implement"
)]
pub trait ReplayStore: Send + Sync + 'static {
    /// Claims `key` for `ttl`, atomically: of any number of concurrent
    /// claims of one key (on any instance sharing the store) exactly one
    /// returns `Ok(true)`; the others, and later ones, `Ok(false)`.
    fn claim<'a>(&'a self, key: &'a str, ttl: Duration) -> StoreFuture<'a, Result<bool, StoreError>>;

    /// Whether `key` is already claimed, without claiming it. Lets a retry
    /// answer 409 before checks whose outcome the first use changed (a
    /// workflow state); the atomic [`claim`](ReplayStore::claim) still decides.
    fn is_claimed<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Result<bool, StoreError>>;
}

/// In-process [`ReplayStore`].
#[derive(Clone, Debug, Default)]
pub struct MemoryReplayStore {
    keys: Arc<Mutex<(HashMap<String, Instant>, Sweeper)>>,
}

impl MemoryReplayStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl ReplayStore for MemoryReplayStore {
    fn is_claimed<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Result<bool, StoreError>> {
        let now = Instant::now();
        let claimed = self
            .keys
            .lock()
            .map(|guard| guard.0.get(key).is_some_and(|expires| *expires > now))
            .map_err(|_| StoreError::new("replay store", "lock poisoned"));
        StoreFuture::ready(claimed)
    }

    fn claim<'a>(&'a self, key: &'a str, ttl: Duration) -> StoreFuture<'a, Result<bool, StoreError>> {
        let now = Instant::now();
        let claimed = self
            .keys
            .lock()
            .map(|mut guard| {
                let (keys, sweeper) = &mut *guard;
                sweeper.maybe(keys.len(), || {
                    keys.retain(|_, expires| *expires > now);
                    keys.len()
                });
                match keys.get(key) {
                    Some(expires) if *expires > now => false,
                    _ => {
                        keys.insert(key.to_owned(), now + ttl);
                        true
                    }
                }
            })
            .map_err(|_| StoreError::new("replay store", "lock poisoned"));
        StoreFuture::ready(claimed)
    }
}
