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

impl MemoryDenialStore {
    /// The keys whose open window holds at least `threshold` denials: the
    /// callers and client addresses refused with 429 until `resets_in`.
    /// Read-only, for an operator's view (the orders app's audit page);
    /// sorted by key.
    pub fn locked_out(&self, threshold: u32, window: Duration) -> Result<Vec<(String, DenialWindow)>, StoreError> {
        let now = Instant::now();
        let guard = self.windows.lock().map_err(|_| StoreError::new("denial store", "lock poisoned"))?;
        let mut locked: Vec<_> = guard
            .0
            .iter()
            .filter(|(_, &(opened, count))| threshold > 0 && count >= threshold && now < opened + window)
            .map(|(key, &(opened, count))| (key.clone(), DenialWindow { count, resets_in: opened + window - now }))
            .collect();
        locked.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(locked)
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{DenialStore, MemoryDenialStore};

    #[tokio::test]
    async fn lists_only_the_keys_at_the_threshold_in_an_open_window() {
        let store = MemoryDenialStore::new();
        let window = Duration::from_secs(60);
        for _ in 0..3 {
            store.add("principal:acme/alice", window).await.expect("add");
        }
        store.add("addr:127.0.0.1", window).await.expect("add");
        let locked = store.locked_out(3, window).expect("read");
        assert_eq!(locked.len(), 1, "{locked:?}");
        assert_eq!(locked[0].0, "principal:acme/alice");
        assert_eq!(locked[0].1.count, 3);
        assert!(locked[0].1.resets_in <= window);
        // A threshold of 0 is detection off: nobody is locked out.
        assert!(store.locked_out(0, window).expect("read").is_empty());
        // A closed window locks nobody out, however many it counted.
        assert!(store.locked_out(1, Duration::ZERO).expect("read").is_empty());
    }
}
