//! Verified tokens, kept until they expire, so a repeated token costs a
//! lookup instead of a signature check.
//!
//! Keyed by the SHA-256 of the token (the map holds no token). Bounded:
//! when full, expired entries go first, then arbitrary ones.

use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use super::jwks::Key;
use super::mapping::VerifiedToken;
use crate::fast_map::FastMap;
use crate::Principal;

/// One verified token.
#[derive(Clone)]
pub(super) struct Entry {
    /// Which trusted issuer signed it (its index).
    pub(super) issuer: usize,
    /// With which of its keys: the id, and the key as it was then.
    pub(super) kid: Arc<str>,
    pub(super) key: Arc<Key>,
    pub(super) token: Arc<VerifiedToken>,
    /// Its principal, when the mapping depends on the token alone.
    pub(super) principal: Option<Arc<Principal>>,
}

pub(super) struct VerifiedCache {
    capacity: usize,
    entries: RwLock<FastMap<[u8; 32], Entry>>,
}

impl VerifiedCache {
    pub(super) fn new(capacity: usize) -> Self {
        VerifiedCache { capacity, entries: RwLock::default() }
    }

    /// The entry for the token hashed to `hash`, if cached and unexpired.
    pub(super) fn get(&self, hash: &[u8; 32], now: SystemTime) -> Option<Entry> {
        let entries = self.entries.read().ok()?;
        entries.get(hash).filter(|e| e.token.expires_at() > now).cloned()
    }

    pub(super) fn insert(&self, hash: [u8; 32], entry: Entry, now: SystemTime) {
        if self.capacity == 0 {
            return;
        }
        // A poisoned lock only costs the cache: verification still ran.
        let Ok(mut entries) = self.entries.write() else { return };
        if entries.len() >= self.capacity {
            entries.retain(|_, e| e.token.expires_at() > now);
        }
        if entries.len() >= self.capacity {
            let excess = entries.len() + 1 - self.capacity + self.capacity / 8;
            let gone: Vec<[u8; 32]> = entries.keys().take(excess).copied().collect();
            for key in gone {
                entries.remove(&key);
            }
        }
        entries.insert(hash, entry);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.read().map(|e| e.len()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn entry(exp: u64) -> Entry {
        let claims = serde_json::from_value(serde_json::json!({"sub": "s", "exp": exp})).expect("claims");
        let token = VerifiedToken::new(claims, &"ab".repeat(32)).expect("token");
        let decoding = jsonwebtoken::DecodingKey::from_secret(b"unused").expect("key");
        let key = Arc::new(Key { decoding, family: jsonwebtoken::AlgorithmFamily::Rsa, algorithm: None });
        Entry { issuer: 0, kid: "k".into(), key, token: Arc::new(token), principal: None }
    }

    #[test]
    fn it_holds_at_most_its_capacity_and_never_an_expired_token() {
        let cache = VerifiedCache::new(16);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        for i in 0..100u8 {
            cache.insert([i; 32], entry(2000), now);
            assert!(cache.len() <= 16);
        }
        assert!(cache.get(&[99; 32], now).is_some(), "the newest is kept");
        cache.insert([200; 32], entry(1500), now);
        assert!(cache.get(&[200; 32], now + Duration::from_secs(500)).is_none(), "expired");
        let off = VerifiedCache::new(0);
        off.insert([1; 32], entry(2000), now);
        assert!(off.get(&[1; 32], now).is_none());
    }
}
