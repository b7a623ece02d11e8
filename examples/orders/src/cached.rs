//! Credentials and accounts served from memory: the key's principal, the
//! session, and the user's account, each read once from its store and then
//! kept, so a request reads neither SQLite nor the shared store's records.
//!
//! What is kept is valid for one credentials [`Generation`]: every change
//! (a key issued or revoked, a session saved or revoked, a role changed, a
//! user disabled, a password changed) stores itself first and then moves
//! the generation on, and every lookup compares the generation first. So a
//! change applies to the next request of this instance (the counter is in
//! memory) and of every other instance (the generation is in the shared
//! store they all read). Only hits are kept: a key or session not found is
//! looked up again, so one issued elsewhere works at once, and junk
//! credentials fill nothing.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use guard_runtime::authn::{Account, Accounts, LiveSession, SessionRecord, SessionStore, TokenRecord, TokenStore};
use guard_runtime::{Principal, StoreError, StoreFuture};

use crate::generation::Generation;

/// Entries kept at most; past it the memory starts again from nothing.
const MAX_ENTRIES: usize = 100_000;

/// How long an entry is trusted even when the generation has not moved: a
/// bound on staleness should a change be stored but its generation write
/// fail (the request that made it answers 503).
const MAX_AGE: Duration = Duration::from_secs(30);

/// Values by key, valid for one generation.
struct Memo<V> {
    entries: RwLock<Entries<V>>,
}

struct Entries<V> {
    generation: u64,
    map: HashMap<String, (V, Instant)>,
}

impl<V: Clone> Memo<V> {
    fn new() -> Self {
        Memo { entries: RwLock::new(Entries { generation: 0, map: HashMap::new() }) }
    }

    /// The value under `key` if it was stored in `generation`, not too long ago.
    fn get(&self, generation: u64, key: &str) -> Option<V> {
        let entries = self.entries.read().ok()?;
        if entries.generation != generation {
            return None;
        }
        let (value, at) = entries.map.get(key)?;
        (at.elapsed() < MAX_AGE).then(|| value.clone())
    }

    /// Keeps `value`, read after `generation` was current. An entry of an
    /// older generation empties the memory; one of a newer generation than
    /// this read wins, and this value is dropped on the next lookup anyway.
    fn put(&self, generation: u64, key: &str, value: V) {
        let Ok(mut entries) = self.entries.write() else { return };
        if entries.generation != generation || entries.map.len() >= MAX_ENTRIES {
            entries.map.clear();
            entries.generation = generation;
        }
        entries.map.insert(key.to_owned(), (value, Instant::now()));
    }
}

/// A [`TokenStore`] whose principals are kept in memory.
#[derive(Clone)]
pub struct CachedTokens<T> {
    inner: T,
    generation: Generation,
    memo: Arc<Memo<Arc<Principal>>>,
}

impl<T: TokenStore> CachedTokens<T> {
    pub fn new(inner: T, generation: Generation) -> Self {
        CachedTokens { inner, generation, memo: Arc::new(Memo::new()) }
    }
}

impl<T: TokenStore> TokenStore for CachedTokens<T> {
    /// The whole record, from the store: not what requests call.
    fn find<'a>(&'a self, secret_hash: &'a str) -> StoreFuture<'a, Result<Option<TokenRecord>, StoreError>> {
        self.inner.find(secret_hash)
    }

    fn find_principal<'a>(
        &'a self,
        secret_hash: &'a str,
    ) -> StoreFuture<'a, Result<Option<Arc<Principal>>, StoreError>> {
        if let Ok(Ok(generation)) = self.generation.current().into_ready() {
            if let Some(principal) = self.memo.get(generation, secret_hash) {
                return StoreFuture::ready(Ok(Some(principal)));
            }
        }
        StoreFuture::new(async move {
            let generation = self.generation.current().await?;
            if let Some(principal) = self.memo.get(generation, secret_hash) {
                return Ok(Some(principal));
            }
            let found = self.inner.find_principal(secret_hash).await?;
            if let Some(principal) = &found {
                self.memo.put(generation, secret_hash, principal.clone());
            }
            Ok(found)
        })
    }

    fn insert(&self, record: TokenRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        StoreFuture::new(async move {
            self.inner.insert(record).await?;
            self.generation.bump().await
        })
    }

    fn revoke<'a>(&'a self, credential_id: &'a str) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            self.inner.revoke(credential_id).await?;
            self.generation.bump().await
        })
    }
}

/// A [`SessionStore`] whose live sessions are kept in memory.
#[derive(Clone)]
pub struct CachedSessions<S> {
    inner: S,
    generation: Generation,
    memo: Arc<Memo<(LiveSession, SystemTime)>>,
}

impl<S: SessionStore> CachedSessions<S> {
    pub fn new(inner: S, generation: Generation) -> Self {
        CachedSessions { inner, generation, memo: Arc::new(Memo::new()) }
    }

    /// A kept session, if it has not expired since.
    fn kept(&self, generation: u64, id_hash: &str) -> Option<LiveSession> {
        let (live, expires_at) = self.memo.get(generation, id_hash)?;
        (expires_at > SystemTime::now()).then_some(live)
    }
}

impl<S: SessionStore> SessionStore for CachedSessions<S> {
    /// The whole record, from the store: what re-authentication and
    /// rebinding read before they save.
    fn load<'a>(&'a self, id_hash: &'a str) -> StoreFuture<'a, Result<Option<SessionRecord>, StoreError>> {
        self.inner.load(id_hash)
    }

    fn load_live<'a>(&'a self, id_hash: &'a str) -> StoreFuture<'a, Result<Option<LiveSession>, StoreError>> {
        if let Ok(Ok(generation)) = self.generation.current().into_ready() {
            if let Some(live) = self.kept(generation, id_hash) {
                return StoreFuture::ready(Ok(Some(live)));
            }
        }
        StoreFuture::new(async move {
            let generation = self.generation.current().await?;
            if let Some(live) = self.kept(generation, id_hash) {
                return Ok(Some(live));
            }
            let Some(record) = self.inner.load(id_hash).await? else { return Ok(None) };
            if record.expires_at <= SystemTime::now() {
                return Ok(None);
            }
            let live = LiveSession { principal: Arc::new(record.principal), csrf_token: record.csrf_token };
            self.memo.put(generation, id_hash, (live.clone(), record.expires_at));
            Ok(Some(live))
        })
    }

    fn save<'a>(&'a self, id_hash: &'a str, record: SessionRecord) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            self.inner.save(id_hash, record).await?;
            self.generation.bump().await
        })
    }

    fn revoke<'a>(&'a self, id_hash: &'a str) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            self.inner.revoke(id_hash).await?;
            self.generation.bump().await
        })
    }

    fn revoke_principal<'a>(
        &'a self,
        principal_id: &'a str,
        keep: Option<&'a str>,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            self.inner.revoke_principal(principal_id, keep).await?;
            self.generation.bump().await
        })
    }
}

/// An [`Accounts`] source whose accounts are kept in memory. Changes to
/// accounts are made by the app's actions, which call
/// [`Generation::bump`] once the change is stored.
#[derive(Clone)]
pub struct CachedAccounts<A> {
    inner: A,
    generation: Generation,
    memo: Arc<Memo<Arc<Account>>>,
}

impl<A: Accounts> CachedAccounts<A> {
    pub fn new(inner: A, generation: Generation) -> Self {
        CachedAccounts { inner, generation, memo: Arc::new(Memo::new()) }
    }
}

impl<A: Accounts> Accounts for CachedAccounts<A> {
    fn account<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Result<Option<Arc<Account>>, StoreError>> {
        if let Ok(Ok(generation)) = self.generation.current().into_ready() {
            if let Some(account) = self.memo.get(generation, id) {
                return StoreFuture::ready(Ok(Some(account)));
            }
        }
        StoreFuture::new(async move {
            let generation = self.generation.current().await?;
            if let Some(account) = self.memo.get(generation, id) {
                return Ok(Some(account));
            }
            let found = self.inner.account(id).await?;
            if let Some(account) = &found {
                self.memo.put(generation, id, account.clone());
            }
            Ok(found)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use guard_runtime::authn::{hash_secret, MemoryAccounts, MemoryTokenStore};
    use guard_runtime::Delegation;

    use super::*;

    /// A token store that counts the lookups reaching it.
    #[derive(Clone, Default)]
    struct Counted {
        inner: MemoryTokenStore,
        lookups: Arc<AtomicUsize>,
    }

    impl TokenStore for Counted {
        fn find<'a>(&'a self, hash: &'a str) -> StoreFuture<'a, Result<Option<TokenRecord>, StoreError>> {
            self.lookups.fetch_add(1, Ordering::SeqCst);
            self.inner.find(hash)
        }
        fn find_principal<'a>(&'a self, hash: &'a str) -> StoreFuture<'a, Result<Option<Arc<Principal>>, StoreError>> {
            self.lookups.fetch_add(1, Ordering::SeqCst);
            self.inner.find_principal(hash)
        }
        fn insert(&self, record: TokenRecord) -> StoreFuture<'_, Result<(), StoreError>> {
            self.inner.insert(record)
        }
        fn revoke<'a>(&'a self, credential_id: &'a str) -> StoreFuture<'a, Result<(), StoreError>> {
            self.inner.revoke(credential_id)
        }
    }

    fn agent() -> Principal {
        let mut agent = Principal::agent(
            "assistant",
            "acme",
            ["orders:read"],
            Delegation { user: "alice".into(), roles: vec!["customer".into()] },
        );
        agent.credential_id = "key:assistant".into();
        agent
    }

    #[tokio::test]
    async fn a_key_is_read_once_and_its_revocation_applies_to_the_next_lookup() {
        let store = Counted::default();
        let cached = CachedTokens::new(store.clone(), Generation::local());
        let hash = hash_secret("assistant-demo-token");
        cached.insert(TokenRecord { principal: agent(), secret_hash: hash.clone() }).await.expect("insert");
        for _ in 0..3 {
            let found = cached.find_principal(&hash).await.expect("lookup");
            assert_eq!(found.map(|p| p.id.clone()).as_deref(), Some("assistant"));
        }
        assert_eq!(store.lookups.load(Ordering::SeqCst), 1, "served from memory after the first lookup");

        cached.revoke("key:assistant").await.expect("revoke");
        assert!(cached.find_principal(&hash).await.expect("lookup").is_none(), "revoked: gone at once");
        // A miss is not kept: a key issued again works at once.
        cached.insert(TokenRecord { principal: agent(), secret_hash: hash.clone() }).await.expect("insert");
        assert!(cached.find_principal(&hash).await.expect("lookup").is_some());
    }

    /// A change stored behind the cache's back (another instance) is seen
    /// once the generation moves, and not before: the generation is what
    /// every instance reads.
    #[tokio::test]
    async fn an_account_changed_elsewhere_applies_once_the_generation_moves() {
        let generation = Generation::local();
        let source = MemoryAccounts::new();
        let account = |role: &str| Account { tenant: "acme".into(), roles: vec![role.into()], credential_version: 0 };
        source.set("alice", account("customer")).expect("set");
        let cached = CachedAccounts::new(source.clone(), generation.clone());
        let roles = |found: Option<Arc<Account>>| found.map(|a| a.roles.clone());
        assert_eq!(roles(cached.account("alice").await.expect("read")), Some(vec!["customer".to_owned()]));

        source.set("alice", account("support")).expect("set");
        assert_eq!(
            roles(cached.account("alice").await.expect("read")),
            Some(vec!["customer".to_owned()]),
            "kept until the generation moves"
        );
        generation.bump().await.expect("bump");
        assert_eq!(roles(cached.account("alice").await.expect("read")), Some(vec!["support".to_owned()]));

        source.remove("alice").expect("remove");
        generation.bump().await.expect("bump");
        assert_eq!(cached.account("alice").await.expect("read"), None, "disabled: no account");
    }
}
