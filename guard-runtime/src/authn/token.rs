//! `Authorization: Bearer` credentials: service-account API keys and agent tokens.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::http::{header, request::Parts};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Authenticated, Authentication, Authenticator, Via};
use crate::{BoxFuture, Principal, StoreError};

/// The SHA-256 of a secret, hex-encoded: how keys and tokens are stored.
///
/// Keys and tokens are long random strings, so a fast hash is the right
/// tool (as for GitHub tokens); passwords, which are not, belong in argon2.
pub fn hash_secret(secret: &str) -> String {
    super::hex(&Sha256::digest(secret.as_bytes()))
}

/// A stored key or token: its principal (with `authenticated_at` ignored:
/// every request proves the key anew) and the hash it was looked up by.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct TokenRecord {
    /// The caller the key authenticates.
    pub principal: Principal,
    /// [`hash_secret`] of the key.
    pub secret_hash: String,
}

/// Where hashed keys and tokens live. Async and fallible so that a network
/// store fits; every error denies with 503.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a guard token store",
    label = "expected a `guard_runtime::authn::TokenStore`, such as `MemoryTokenStore`",
    note = "see https://docs.rs/guard-runtime/latest/guard_runtime/authn/trait.TokenStore.html"
)]
pub trait TokenStore: Send + Sync + 'static {
    /// The record stored under `secret_hash`, if any.
    fn find<'a>(&'a self, secret_hash: &'a str) -> BoxFuture<'a, Result<Option<TokenRecord>, StoreError>>;
    /// Stores `record` under its hash.
    fn insert(&self, record: TokenRecord) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Removes every key whose credential id is `credential_id`: it stops
    /// working at once.
    fn revoke<'a>(&'a self, credential_id: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;

    /// The principal of the key stored under `secret_hash`: what the
    /// authenticator calls on every request. The default decodes
    /// [`find`](TokenStore::find)'s record and compares its hash again in
    /// constant time, so a store that matches loosely (a prefix index, say)
    /// cannot let a near miss through; an in-process store returns the
    /// principal it shares instead of copying it per request.
    fn find_principal<'a>(&'a self, secret_hash: &'a str) -> BoxFuture<'a, Result<Option<Arc<Principal>>, StoreError>> {
        Box::pin(async move {
            let Some(record) = self.find(secret_hash).await? else { return Ok(None) };
            let same = bool::from(record.secret_hash.as_bytes().ct_eq(secret_hash.as_bytes()));
            Ok(same.then(|| Arc::new(record.principal)))
        })
    }
}

/// In-process [`TokenStore`]: zero setup, one instance only.
#[derive(Clone, Debug, Default)]
pub struct MemoryTokenStore {
    /// Principals by secret hash, shared with the requests they authenticate.
    records: Arc<RwLock<HashMap<String, Arc<Principal>>>>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

fn poisoned() -> StoreError {
    StoreError::new("token store", "lock poisoned")
}

impl TokenStore for MemoryTokenStore {
    fn find<'a>(&'a self, secret_hash: &'a str) -> BoxFuture<'a, Result<Option<TokenRecord>, StoreError>> {
        let found = self
            .records
            .read()
            .map(|map| {
                map.get(secret_hash)
                    .map(|p| TokenRecord { principal: Principal::clone(p), secret_hash: secret_hash.to_owned() })
            })
            .map_err(|_| poisoned());
        Box::pin(std::future::ready(found))
    }

    fn find_principal<'a>(&'a self, secret_hash: &'a str) -> BoxFuture<'a, Result<Option<Arc<Principal>>, StoreError>> {
        let found = self.records.read().map(|map| map.get(secret_hash).cloned()).map_err(|_| poisoned());
        Box::pin(std::future::ready(found))
    }

    fn insert(&self, record: TokenRecord) -> BoxFuture<'_, Result<(), StoreError>> {
        let done = self
            .records
            .write()
            .map(|mut map| {
                map.insert(record.secret_hash, Arc::new(record.principal));
            })
            .map_err(|_| poisoned());
        Box::pin(std::future::ready(done))
    }

    fn revoke<'a>(&'a self, credential_id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        let done = self
            .records
            .write()
            .map(|mut map| map.retain(|_, p| p.credential_id != credential_id))
            .map_err(|_| poisoned());
        Box::pin(std::future::ready(done))
    }
}

/// Authenticates `Authorization: Bearer <key>` against a [`TokenStore`].
///
/// Serves both service-account API keys and agent tokens: the stored record
/// says which kind of principal a key stands for.
///
/// # Example
///
/// ```
/// use guard_runtime::{authn::{MemoryTokenStore, Tokens}, Principal};
///
/// # async fn demo() -> Result<(), guard_runtime::StoreError> {
/// let tokens = Tokens::new(MemoryTokenStore::new());
/// let mut svc = Principal::service("svc-billing", "acme", ["orders:read"]);
/// svc.credential_id = "key-1".into();
/// tokens.issue("a-long-random-key", svc).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Tokens {
    store: Arc<dyn TokenStore>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").finish_non_exhaustive()
    }
}

impl Tokens {
    /// Bearer authentication over `store`.
    pub fn new(store: impl TokenStore) -> Self {
        Tokens { store: Arc::new(store) }
    }

    /// Stores `secret` (hashed) as a credential of `principal`.
    pub async fn issue(&self, secret: &str, principal: Principal) -> Result<(), StoreError> {
        self.store.insert(TokenRecord { principal, secret_hash: hash_secret(secret) }).await
    }

    /// Revokes every key with this credential id.
    pub async fn revoke(&self, credential_id: &str) -> Result<(), StoreError> {
        self.store.revoke(credential_id).await
    }

    /// Issues a new random key for `principal` after revoking its credential
    /// id's old keys, and returns the key. The old key stops working at once.
    pub async fn rotate(&self, principal: Principal) -> Result<String, StoreError> {
        let key = super::random_secret()?;
        self.store.revoke(&principal.credential_id).await?;
        self.issue(&key, principal).await?;
        Ok(key)
    }
}

/// `Authorization` parsed as far as guard cares.
enum BearerHeader<'a> {
    Absent,
    Malformed,
    Token(&'a str),
}

fn bearer(parts: &Parts) -> BearerHeader<'_> {
    let mut values = parts.headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else { return BearerHeader::Absent };
    if values.next().is_some() {
        return BearerHeader::Malformed; // two credentials: ambiguous, refuse
    }
    let Ok(value) = value.to_str() else { return BearerHeader::Malformed };
    let Some((scheme, token)) = value.split_once(' ') else { return BearerHeader::Malformed };
    let token_ok = (1..=512).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_graphic());
    if scheme.eq_ignore_ascii_case("bearer") && token_ok {
        BearerHeader::Token(token)
    } else {
        BearerHeader::Malformed
    }
}

impl Authenticator for Tokens {
    fn authenticate<'a>(&'a self, parts: &'a Parts) -> BoxFuture<'a, Result<Authentication, StoreError>> {
        Box::pin(async move {
            let token = match bearer(parts) {
                BearerHeader::Absent => return Ok(Authentication::Missing),
                BearerHeader::Malformed => return Ok(Authentication::Invalid),
                BearerHeader::Token(token) => token,
            };
            let hash = hash_secret(token);
            let Some(principal) = self.store.find_principal(&hash).await? else { return Ok(Authentication::Invalid) };
            Ok(Authentication::Authenticated(Authenticated { principal, via: Via::Bearer }))
        })
    }
}
