use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::sweep::Sweeper;
use crate::{StoreError, StoreFuture};

/// The denials counted for one key in the current window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DenialWindow {
    /// Denials so far in this window.
    pub count: u32,
    /// Time until the window closes (the `Retry-After` of a 429).
    pub resets_in: Duration,
}

/// Fixed-window denial counters for probing detection, keyed by principal
/// (authenticated) or client address (unauthenticated).
///
/// Every method returns a [`StoreFuture`]: an in-process store answers with
/// [`StoreFuture::ready`] (no allocation), a network store with
/// [`StoreFuture::new`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a guard denial store",
    label = "expected a `guard_runtime::store::DenialStore`, such as `MemoryDenialStore`",
    note = "implement `guard_runtime::store::DenialStore`; its documentation (`cargo doc -p guard-runtime --open`) says what to implement"
)]
pub trait DenialStore: Send + Sync + 'static {
    /// The current window of `key`.
    fn current<'a>(&'a self, key: &'a str, window: Duration) -> StoreFuture<'a, Result<DenialWindow, StoreError>>;
    /// Adds one denial to `key`'s window (opening one if none is open),
    /// atomically: of concurrent adds on any instance sharing the store,
    /// each sees its own count.
    ///
    /// The guard adds one for every attempt before checking it (a
    /// reservation), so that under any concurrency at most the threshold
    /// are checked in a window, and takes it back with
    /// [`release`](DenialStore::release) when the attempt was not denied.
    fn add<'a>(&'a self, key: &'a str, window: Duration) -> StoreFuture<'a, Result<DenialWindow, StoreError>>;
    /// Takes back one denial added to `key`'s open window; never below 0,
    /// and nothing if the window has ended.
    ///
    /// The guard may drop this call's future unpolled when it is not ready
    /// at once, and call again from a future of its own: do the work when
    /// polled (as `async` blocks do).
    fn release<'a>(&'a self, key: &'a str, window: Duration) -> StoreFuture<'a, Result<(), StoreError>>;
}

/// When a key's window opened, and its denials so far.
type Window = (Instant, u32);

/// In-process [`DenialStore`].
#[derive(Clone, Debug, Default)]
pub struct MemoryDenialStore {
    windows: Arc<Mutex<(HashMap<String, Window>, Sweeper)>>,
}

impl MemoryDenialStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn update(&self, key: &str, window: Duration, add: u32) -> Result<DenialWindow, StoreError> {
        let now = Instant::now();
        let mut guard = self.windows.lock().map_err(|_| StoreError::new("denial store", "lock poisoned"))?;
        let (windows, sweeper) = &mut *guard;
        if add == 0 {
            // Reads are the hot path: no allocation, no insertion.
            return Ok(match windows.get(key) {
                Some(&(opened, count)) if now < opened + window => {
                    DenialWindow { count, resets_in: opened + window - now }
                }
                _ => DenialWindow { count: 0, resets_in: window },
            });
        }
        sweeper.maybe(windows.len(), || {
            windows.retain(|_, (opened, _)| now < *opened + window);
            windows.len()
        });
        let entry = windows.entry(key.to_owned()).or_insert((now, 0));
        if now >= entry.0 + window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(add);
        Ok(DenialWindow { count: entry.1, resets_in: entry.0 + window - now })
    }
}

impl DenialStore for MemoryDenialStore {
    fn current<'a>(&'a self, key: &'a str, window: Duration) -> StoreFuture<'a, Result<DenialWindow, StoreError>> {
        StoreFuture::ready(self.update(key, window, 0))
    }

    fn add<'a>(&'a self, key: &'a str, window: Duration) -> StoreFuture<'a, Result<DenialWindow, StoreError>> {
        StoreFuture::ready(self.update(key, window, 1))
    }

    fn release<'a>(&'a self, key: &'a str, window: Duration) -> StoreFuture<'a, Result<(), StoreError>> {
        let now = Instant::now();
        let released =
            self.windows.lock().map_err(|_| StoreError::new("denial store", "lock poisoned")).map(|mut guard| {
                if let Some((opened, count)) = guard.0.get_mut(key) {
                    if now < *opened + window {
                        *count = count.saturating_sub(1);
                    }
                }
            });
        StoreFuture::ready(released)
    }
}
