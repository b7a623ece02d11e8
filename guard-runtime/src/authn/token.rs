//! `Authorization: Bearer` credentials: service-account API keys and agent tokens.

use std::sync::{Arc, RwLock};

use axum::http::{header, request::Parts};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::accounts::{self, Accounts, Binding};
use super::{Authenticated, Authentication, Authenticator, Via};
use crate::fast_map::FastMap;
use crate::{Principal, StoreError, StoreFuture};

/// The SHA-256 of a secret, hex-encoded: how keys and tokens are stored.
///
/// Keys and tokens are long random strings, so a fast hash is the right
/// tool (as for GitHub tokens); passwords, which are not, belong in argon2.
pub fn hash_secret(secret: &str) -> String {
    hash_secret_hex(secret, &mut [0u8; 64]).to_owned()
}

/// [`hash_secret`] into a stack buffer: the 64 lowercase hex digits of the
/// SHA-256 of `secret`, with no allocation (the per-request path).
pub(crate) fn hash_secret_hex<'b>(secret: &str, out: &'b mut [u8; 64]) -> &'b str {
    crate::hex::write_hex(out, &Sha256::digest(secret.as_bytes()))
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
///
/// Every method returns a [`StoreFuture`]: an in-process store answers with
/// [`StoreFuture::ready`] (no allocation), a network store with
/// [`StoreFuture::new`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a guard token store",
    label = "expected a `guard_runtime::authn::TokenStore`, such as `MemoryTokenStore`",
    note = "implement `guard_runtime::authn::TokenStore`; its documentation (`cargo doc -p guard-runtime --open`) says what to implement"
)]
pub trait TokenStore: Send + Sync + 'static {
    /// The record stored under `secret_hash`, if any.
    fn find<'a>(&'a self, secret_hash: &'a str) -> StoreFuture<'a, Result<Option<TokenRecord>, StoreError>>;
    /// Stores `record` under its hash.
    fn insert(&self, record: TokenRecord) -> StoreFuture<'_, Result<(), StoreError>>;
    /// Removes every key whose credential id is `credential_id`: it stops
    /// working at once.
    fn revoke<'a>(&'a self, credential_id: &'a str) -> StoreFuture<'a, Result<(), StoreError>>;

    /// The principal of the key stored under `secret_hash`: what the
    /// authenticator calls on every request. The default decodes
    /// [`find`](TokenStore::find)'s record and compares its hash again in
    /// constant time, so a store that matches loosely (a prefix index, say)
    /// cannot let a near miss through; an in-process store returns the
    /// principal it shares instead of copying it per request. The default
    /// boxes a future only if `find`'s answer is not at hand.
    ///
    /// [`Tokens`] looks the hash up in a stack buffer first: if the answer is
    /// not ready at once, it drops that future unpolled and calls again from
    /// a future that owns the hash. So do the lookup when polled (as `async`
    /// blocks do), or make calling it twice harmless.
    fn find_principal<'a>(
        &'a self,
        secret_hash: &'a str,
    ) -> StoreFuture<'a, Result<Option<Arc<Principal>>, StoreError>> {
        let check = move |found: Result<Option<TokenRecord>, StoreError>| {
            let Some(record) = found? else { return Ok(None) };
            let same = bool::from(record.secret_hash.as_bytes().ct_eq(secret_hash.as_bytes()));
            Ok(same.then(|| Arc::new(record.principal)))
        };
        match self.find(secret_hash).into_ready() {
            Ok(found) => StoreFuture::ready(check(found)),
            Err(waiting) => StoreFuture::new(async move { check(waiting.await) }),
        }
    }
}

/// In-process [`TokenStore`]: zero setup, one instance only.
#[derive(Clone, Debug, Default)]
pub struct MemoryTokenStore {
    /// Principals by secret hash, shared with the requests they authenticate.
    records: Arc<RwLock<FastMap<String, Arc<Principal>>>>,
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
    fn find<'a>(&'a self, secret_hash: &'a str) -> StoreFuture<'a, Result<Option<TokenRecord>, StoreError>> {
        let found = self
            .records
            .read()
            .map(|map| {
                map.get(secret_hash)
                    .map(|p| TokenRecord { principal: Principal::clone(p), secret_hash: secret_hash.to_owned() })
            })
            .map_err(|_| poisoned());
        StoreFuture::ready(found)
    }

    fn find_principal<'a>(
        &'a self,
        secret_hash: &'a str,
    ) -> StoreFuture<'a, Result<Option<Arc<Principal>>, StoreError>> {
        let found = self.records.read().map(|map| map.get(secret_hash).cloned()).map_err(|_| poisoned());
        StoreFuture::ready(found)
    }

    fn insert(&self, record: TokenRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        let done = self
            .records
            .write()
            .map(|mut map| {
                map.insert(record.secret_hash, Arc::new(record.principal));
            })
            .map_err(|_| poisoned());
        StoreFuture::ready(done)
    }

    fn revoke<'a>(&'a self, credential_id: &'a str) -> StoreFuture<'a, Result<(), StoreError>> {
        let done = self
            .records
            .write()
            .map(|mut map| map.retain(|_, p| p.credential_id != credential_id))
            .map_err(|_| poisoned());
        StoreFuture::ready(done)
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
    accounts: Option<Arc<dyn Accounts>>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").finish_non_exhaustive()
    }
}

impl Tokens {
    /// Bearer authentication over `store`.
    pub fn new(store: impl TokenStore) -> Self {
        Tokens { store: Arc::new(store), accounts: None }
    }

    /// Reads an agent's user from `accounts` on every request: the agent
    /// gets its user's roles now (not those stored with its token), and
    /// stops authenticating (401) once its user is disabled or gone.
    pub fn accounts(mut self, accounts: impl Accounts) -> Self {
        self.accounts = Some(Arc::new(accounts));
        self
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
pub(super) enum BearerHeader<'a> {
    Absent,
    Malformed,
    Token(&'a str),
}

/// `Bearer <token>`: the scheme in any case, one space, then 1 to 8 KiB of
/// visible ASCII characters (room for a JWT). Checked on the bytes: the
/// token is converted to `str` only once it passed.
pub(super) fn bearer(parts: &Parts) -> BearerHeader<'_> {
    let mut values = parts.headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else { return BearerHeader::Absent };
    if values.next().is_some() {
        return BearerHeader::Malformed; // two credentials: ambiguous, refuse
    }
    let Some((scheme, token)) = value.as_bytes().split_at_checked(b"bearer ".len()) else {
        return BearerHeader::Malformed;
    };
    let token_ok = (1..=super::MAX_BEARER).contains(&token.len()) && token.iter().all(u8::is_ascii_graphic);
    if !(token_ok && scheme.eq_ignore_ascii_case(b"bearer ")) {
        return BearerHeader::Malformed;
    }
    match std::str::from_utf8(token) {
        Ok(token) => BearerHeader::Token(token),
        Err(_) => BearerHeader::Malformed,
    }
}

impl Authenticator for Tokens {
    fn authenticate<'a>(&'a self, parts: &'a Parts) -> StoreFuture<'a, Result<Authentication, StoreError>> {
        let token = match bearer(parts) {
            BearerHeader::Absent => return StoreFuture::ready(Ok(Authentication::Missing)),
            BearerHeader::Malformed => return StoreFuture::ready(Ok(Authentication::Invalid)),
            // A JWT is the JWT authenticator's to judge: declined, not refused.
            BearerHeader::Token(token) if super::chain::looks_like_jwt(token) => {
                return StoreFuture::ready(Ok(Authentication::Unrecognized))
            }
            BearerHeader::Token(token) => token,
        };
        if let Some(accounts) = &self.accounts {
            return StoreFuture::new(async move {
                let mut hash = [0u8; 64];
                let found = self.store.find_principal(hash_secret_hex(token, &mut hash)).await?;
                let Some(principal) = found else { return Ok(Authentication::Invalid) };
                Ok(bearer_outcome(accounts::current(accounts.as_ref(), principal, Binding::Key).await?))
            });
        }
        // An in-process store answers at once: nothing is allocated.
        let mut hash = [0u8; 64];
        match self.store.find_principal(hash_secret_hex(token, &mut hash)).into_ready() {
            Ok(found) => return StoreFuture::ready(found.map(bearer_outcome)),
            // Its future borrows the hash on this stack: drop it unpolled and
            // ask again from a future that owns the hash.
            Err(waiting) => drop(waiting),
        }
        StoreFuture::new(async move {
            let mut hash = [0u8; 64];
            let found = self.store.find_principal(hash_secret_hex(token, &mut hash)).await;
            found.map(bearer_outcome)
        })
    }
}

/// A key's principal, if the store found one, as the authentication outcome.
fn bearer_outcome(found: Option<Arc<Principal>>) -> Authentication {
    match found {
        Some(principal) => Authentication::Authenticated(Authenticated { principal, via: Via::Bearer }),
        None => Authentication::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::{bearer, hash_secret, hash_secret_hex, BearerHeader};

    fn parse(values: &[&[u8]]) -> Result<Option<String>, ()> {
        let mut request = axum::http::Request::builder();
        for value in values {
            request = request.header("authorization", axum::http::HeaderValue::from_bytes(value).expect("value"));
        }
        match bearer(&request.body(()).expect("request").into_parts().0) {
            BearerHeader::Absent => Ok(None),
            BearerHeader::Token(token) => Ok(Some(token.to_owned())),
            BearerHeader::Malformed => Err(()),
        }
    }

    #[test]
    fn bearer_is_the_scheme_in_any_case_one_space_and_a_visible_ascii_token() {
        assert_eq!(parse(&[]), Ok(None));
        for (value, token) in [("Bearer abc", "abc"), ("bearer abc", "abc"), ("BEARER a.b-c_d~", "a.b-c_d~")] {
            assert_eq!(parse(&[value.as_bytes()]), Ok(Some(token.to_owned())), "{value:?}");
        }
        let longest = format!("Bearer {}", "k".repeat(8192));
        assert_eq!(parse(&[longest.as_bytes()]).map(|t| t.map(|t| t.len())), Ok(Some(8192)));
        let too_long = format!("Bearer {}", "k".repeat(8193));
        let malformed: [&[u8]; 12] = [
            b"Bearer",
            b"Bearer ",
            b"Bearer  abc",
            b"Bearer\tabc",
            b"Bearer abc def",
            b"Bearer abc\t",
            b"Basic YWxpY2U6eA==",
            b"Bearerabc",
            b"Bearer\xc3\xa9abc",
            b"Bearer abc\xff",
            b"Be\xffrer abc",
            too_long.as_bytes(),
        ];
        for value in malformed {
            assert_eq!(parse(&[value]), Err(()), "{:?}", String::from_utf8_lossy(value));
        }
        assert_eq!(parse(&[b"Bearer a", b"Bearer b"]), Err(()), "two credentials are ambiguous");
    }

    #[test]
    fn hashes_are_the_lowercase_hex_sha256() {
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(hash_secret("abc"), abc);
        assert_eq!(hash_secret_hex("abc", &mut [0u8; 64]), abc);
    }
}
