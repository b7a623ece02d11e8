//! Who the probing limit locks out now, for the admin's audit page.
//!
//! guard counts denials per principal (and per client address for
//! unauthenticated requests) in its denial store. The in-process store can
//! list its open windows (`MemoryDenialStore::locked_out`); Redis and
//! PostgreSQL counters cannot be listed, and the page says so.

use std::time::Duration;

use guard_runtime::store::MemoryDenialStore;
use guard_runtime::StoreError;

use crate::html::admin::Lockout;

#[derive(Clone, Debug)]
pub struct Lockouts {
    /// `None` when the counters are in a shared store.
    store: Option<MemoryDenialStore>,
    threshold: u32,
    window: Duration,
}

impl Lockouts {
    /// Over the in-process `store` the app counts denials in.
    pub fn listed(store: MemoryDenialStore, threshold: u32, window: Duration) -> Self {
        Lockouts { store: Some(store), threshold, window }
    }

    /// The counters are in a shared store: nothing to list.
    pub fn unlisted() -> Self {
        Lockouts { store: None, threshold: 0, window: Duration::ZERO }
    }

    /// The principals of `tenant` locked out now, or `None` if the store
    /// cannot be listed. Another tenant's principals and client addresses
    /// are not a tenant admin's to see.
    pub fn of_tenant(&self, tenant: &str) -> Result<Option<Vec<Lockout>>, StoreError> {
        let Some(store) = &self.store else { return Ok(None) };
        // The key guard counts an authenticated caller's denials under.
        let prefix = format!("principal:{tenant}/");
        let locked = store.locked_out(self.threshold, self.window)?;
        let of_tenant = locked.into_iter().filter_map(|(key, window)| {
            let who = key.strip_prefix(&prefix)?.to_owned();
            Some(Lockout { who, denials: window.count, resets_in_secs: window.resets_in.as_secs().max(1) })
        });
        Ok(Some(of_tenant.collect()))
    }
}
