//! Server-side sessions behind an opaque cookie.

use std::borrow::Cow;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use axum::http::{header, request::Parts, HeaderValue};
use cookie::{Cookie, SameSite};

use super::accounts::{self, Accounts, Binding};
use super::token::hash_secret_hex;
use super::{hash_secret, random_secret, Authenticated, Authentication, Authenticator, SessionId, Via};
use crate::fast_map::FastMap;
use crate::store::Sweeper;
use crate::{Principal, StoreError, StoreFuture};

/// What a session store keeps for one session. The store is keyed by the
/// SHA-256 of the cookie value, so a dump of the store holds no live cookie.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct SessionRecord {
    /// The logged-in principal, with the time it last proved its password.
    pub principal: Principal,
    /// The session-bound CSRF token.
    pub csrf_token: String,
    /// After this the session is gone.
    pub expires_at: SystemTime,
}

/// A live session, as authentication reads it.
#[derive(Clone, Debug)]
pub struct LiveSession {
    /// The logged-in principal.
    pub principal: Arc<Principal>,
    /// The session-bound CSRF token.
    pub csrf_token: String,
}

/// Where sessions live. Async and fallible so that a network store fits;
/// every error denies with 503.
///
/// Every method returns a [`StoreFuture`]: an in-process store answers with
/// [`StoreFuture::ready`] (no allocation), a network store with
/// [`StoreFuture::new`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a guard session store",
    label = "expected a `guard_runtime::authn::SessionStore`, such as `MemorySessionStore`",
    note = "implement `guard_runtime::authn::SessionStore`; its documentation (`cargo doc -p guard-runtime --open`) says what to implement"
)]
pub trait SessionStore: Send + Sync + 'static {
    /// The live session stored under `id_hash`. Expired sessions are `None`.
    fn load<'a>(&'a self, id_hash: &'a str) -> StoreFuture<'a, Result<Option<SessionRecord>, StoreError>>;

    /// What authenticating a request needs of the live session under
    /// `id_hash`: its principal and CSRF token. The default decodes
    /// [`load`](SessionStore::load)'s record; an in-process store hands out
    /// the principal it shares instead of copying it per request. The
    /// default boxes a future only if `load`'s answer is not at hand.
    ///
    /// [`Sessions`] looks the hash up in a stack buffer first: if the answer
    /// is not ready at once, it drops that future unpolled and calls again
    /// from a future that owns the hash. So do the lookup when polled (as
    /// `async` blocks do), or make calling it twice harmless.
    fn load_live<'a>(&'a self, id_hash: &'a str) -> StoreFuture<'a, Result<Option<LiveSession>, StoreError>> {
        let now = SystemTime::now();
        let live = move |found: Result<Option<SessionRecord>, StoreError>| {
            Ok(found?
                .filter(|r| r.expires_at > now)
                .map(|r| LiveSession { principal: Arc::new(r.principal), csrf_token: r.csrf_token }))
        };
        match self.load(id_hash).into_ready() {
            Ok(found) => StoreFuture::ready(live(found)),
            Err(waiting) => StoreFuture::new(async move { live(waiting.await) }),
        }
    }
    /// Creates or replaces the session under `id_hash`.
    fn save<'a>(&'a self, id_hash: &'a str, record: SessionRecord) -> StoreFuture<'a, Result<(), StoreError>>;
    /// Deletes one session.
    fn revoke<'a>(&'a self, id_hash: &'a str) -> StoreFuture<'a, Result<(), StoreError>>;
    /// Deletes every session of `principal_id` except `keep` (an id hash).
    fn revoke_principal<'a>(
        &'a self,
        principal_id: &'a str,
        keep: Option<&'a str>,
    ) -> StoreFuture<'a, Result<(), StoreError>>;
}

/// In-process [`SessionStore`]: zero setup, one instance only.
#[derive(Clone, Debug, Default)]
pub struct MemorySessionStore {
    sessions: Arc<RwLock<(FastMap<String, Stored>, Sweeper)>>,
}

/// A session as the in-process store keeps it: the principal shared with
/// the requests it authenticates.
#[derive(Debug)]
struct Stored {
    principal: Arc<Principal>,
    csrf_token: String,
    expires_at: SystemTime,
}

impl MemorySessionStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

fn poisoned() -> StoreError {
    StoreError::new("session store", "lock poisoned")
}

impl SessionStore for MemorySessionStore {
    fn load_live<'a>(&'a self, id_hash: &'a str) -> StoreFuture<'a, Result<Option<LiveSession>, StoreError>> {
        let now = SystemTime::now();
        let found = self
            .sessions
            .read()
            .map(|guard| {
                guard
                    .0
                    .get(id_hash)
                    .filter(|s| s.expires_at > now)
                    .map(|s| LiveSession { principal: s.principal.clone(), csrf_token: s.csrf_token.clone() })
            })
            .map_err(|_| poisoned());
        StoreFuture::ready(found)
    }

    fn load<'a>(&'a self, id_hash: &'a str) -> StoreFuture<'a, Result<Option<SessionRecord>, StoreError>> {
        let now = SystemTime::now();
        let found = self
            .sessions
            .read()
            .map(|guard| {
                guard.0.get(id_hash).filter(|s| s.expires_at > now).map(|s| SessionRecord {
                    principal: Principal::clone(&s.principal),
                    csrf_token: s.csrf_token.clone(),
                    expires_at: s.expires_at,
                })
            })
            .map_err(|_| poisoned());
        StoreFuture::ready(found)
    }

    fn save<'a>(&'a self, id_hash: &'a str, record: SessionRecord) -> StoreFuture<'a, Result<(), StoreError>> {
        let now = SystemTime::now();
        let done = self
            .sessions
            .write()
            .map(|mut guard| {
                let (map, sweeper) = &mut *guard;
                sweeper.maybe(map.len(), || {
                    map.retain(|_, r| r.expires_at > now);
                    map.len()
                });
                let SessionRecord { principal, csrf_token, expires_at } = record;
                map.insert(id_hash.to_owned(), Stored { principal: Arc::new(principal), csrf_token, expires_at });
            })
            .map_err(|_| poisoned());
        StoreFuture::ready(done)
    }

    fn revoke<'a>(&'a self, id_hash: &'a str) -> StoreFuture<'a, Result<(), StoreError>> {
        let done = self.sessions.write().map(|mut guard| drop(guard.0.remove(id_hash))).map_err(|_| poisoned());
        StoreFuture::ready(done)
    }

    fn revoke_principal<'a>(
        &'a self,
        principal_id: &'a str,
        keep: Option<&'a str>,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        let done = self
            .sessions
            .write()
            // A scan: revoking every session of a user is rare (password change).
            .map(|mut guard| guard.0.retain(|hash, s| s.principal.id != principal_id || Some(hash.as_str()) == keep))
            .map_err(|_| poisoned());
        StoreFuture::ready(done)
    }
}

/// A session just created by [`Sessions::login`].
#[derive(Debug)]
pub struct NewSession {
    /// The `Set-Cookie` header value to send back.
    pub set_cookie: HeaderValue,
    /// The CSRF token the client must echo in `x-csrf-token` on unsafe requests.
    pub csrf_token: String,
}

/// Cookie sessions: creates them at login and authenticates requests by them.
///
/// The cookie is `HttpOnly`, `SameSite=Lax`, `Path=/`, never has a `Domain`,
/// and is `Secure` unless [`Sessions::secure`] turned that off (for
/// plain-HTTP development); [`Sessions::host_prefixed`] adds the `__Host-`
/// prefix. Every login mints a new random id, so an id chosen by a client
/// is never kept.
///
/// With [`Sessions::accounts`], every request reads the user's account: its
/// roles now, and whether the session's password is still the user's.
#[derive(Clone)]
pub struct Sessions {
    store: Arc<dyn SessionStore>,
    cookie_name: Cow<'static, str>,
    ttl: Duration,
    secure: bool,
    accounts: Option<Arc<dyn Accounts>>,
}

/// The prefixes with which browsers accept a cookie only if it is `Secure`
/// (RFC 6265bis 4.1.3, matched case-insensitively).
const SECURE_PREFIXES: [&str; 2] = ["__Host-", "__Secure-"];

fn has_secure_prefix(name: &str) -> bool {
    SECURE_PREFIXES.iter().any(|p| name.get(..p.len()).is_some_and(|head| head.eq_ignore_ascii_case(p)))
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("cookie_name", &self.cookie_name)
            .field("ttl", &self.ttl)
            .field("secure", &self.is_secure())
            .field("accounts", &self.accounts.is_some())
            .finish_non_exhaustive()
    }
}

impl Sessions {
    /// Sessions in `store`, cookie `guard_session`, lasting 12 hours.
    pub fn new(store: impl SessionStore) -> Self {
        Sessions {
            store: Arc::new(store),
            cookie_name: Cow::Borrowed("guard_session"),
            ttl: Duration::from_secs(12 * 3600),
            secure: true,
            accounts: None,
        }
    }

    /// Sets the cookie's name. A name with the `__Host-` or `__Secure-`
    /// prefix makes the cookie `Secure` whatever [`Sessions::secure`] says:
    /// browsers refuse such a cookie without it.
    pub fn cookie_name(mut self, name: &'static str) -> Self {
        self.cookie_name = Cow::Borrowed(name);
        self
    }

    /// Prefixes the cookie's name with `__Host-` (unless it has it already)
    /// and makes it `Secure`. Browsers then keep it only if it came over
    /// HTTPS from this very host with `Path=/` and no `Domain` (which these
    /// cookies never have), so neither a sibling subdomain nor a plain-HTTP
    /// attacker can plant or overwrite the session cookie.
    pub fn host_prefixed(mut self) -> Self {
        if !self.cookie_name.starts_with("__Host-") {
            self.cookie_name = Cow::Owned(format!("__Host-{}", self.cookie_name));
        }
        self.secure = true;
        self
    }

    /// The cookie's name, as set by [`Sessions::cookie_name`] and
    /// [`Sessions::host_prefixed`].
    pub fn name(&self) -> &str {
        &self.cookie_name
    }

    /// Whether the cookie carries `Secure`.
    pub fn is_secure(&self) -> bool {
        self.secure || has_secure_prefix(&self.cookie_name)
    }

    /// Reads each session's user from `accounts` on every request: the
    /// session gets the user's roles now, and stops authenticating (401)
    /// once the user is disabled or gone, or changed its password since the
    /// login (the principal's `credential_version` is no longer the
    /// account's). Without it, a session keeps its login's principal.
    pub fn accounts(mut self, accounts: impl Accounts) -> Self {
        self.accounts = Some(Arc::new(accounts));
        self
    }

    /// Sets how long a session lasts.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Whether the cookie carries `Secure` (default `true`). Turn it off
    /// only for plain-HTTP development servers.
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// Starts a session for `principal` (authenticated now) with a new id and
    /// CSRF token.
    pub async fn login(&self, mut principal: Principal) -> Result<NewSession, StoreError> {
        let id = random_secret()?;
        let csrf_token = random_secret()?;
        let id_hash = hash_secret(&id);
        principal.authenticated_at = SystemTime::now();
        principal.credential_id = format!("session:{}", &id_hash[..16]);
        let record =
            SessionRecord { principal, csrf_token: csrf_token.clone(), expires_at: SystemTime::now() + self.ttl };
        self.store.save(&id_hash, record).await?;
        let cookie = Cookie::build((self.cookie_name.clone(), id))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.is_secure())
            .path("/")
            .max_age(cookie::time::Duration::seconds(self.ttl.as_secs() as i64))
            .build();
        let set_cookie = HeaderValue::try_from(cookie.to_string()).map_err(|e| StoreError::new("session cookie", e))?;
        Ok(NewSession { set_cookie, csrf_token })
    }

    /// Ends the session `id` server-side; returns a `Set-Cookie` that
    /// clears the cookie in the browser.
    pub async fn logout(&self, id: &SessionId) -> Result<HeaderValue, StoreError> {
        self.store.revoke(&hash_secret(&id.0)).await?;
        let cookie = Cookie::build((self.cookie_name.clone(), ""))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.is_secure())
            .path("/")
            .max_age(cookie::time::Duration::ZERO)
            .build();
        HeaderValue::try_from(cookie.to_string()).map_err(|e| StoreError::new("session cookie", e))
    }

    /// The session id the request presents in its cookie, if exactly one
    /// well-formed one (whether or not it is live). For revoking a session
    /// presented to a public action, such as a login replacing it.
    pub fn presented(&self, parts: &Parts) -> Option<SessionId> {
        self.cookie_value(parts).ok().flatten().map(|id| SessionId(id.to_owned()))
    }

    /// Ends the session `id` server-side.
    pub async fn revoke(&self, id: &SessionId) -> Result<(), StoreError> {
        self.store.revoke(&hash_secret(&id.0)).await
    }

    /// Records that the session's user proved its credential again just now.
    pub async fn reauthenticate(&self, id: &SessionId) -> Result<(), StoreError> {
        let id_hash = hash_secret(&id.0);
        // A session revoked meanwhile stays revoked: nothing to renew.
        let Some(mut record) = self.store.load(&id_hash).await? else { return Ok(()) };
        record.principal.authenticated_at = SystemTime::now();
        self.store.save(&id_hash, record).await
    }

    /// Binds the session `id` to version `credential_version` of its user's
    /// password: the one its user has just set through it. Every other
    /// session, made with the old password, stops authenticating once the
    /// account says the new version (see [`Sessions::accounts`]).
    pub async fn rebind(&self, id: &SessionId, credential_version: u64) -> Result<(), StoreError> {
        let id_hash = hash_secret(&id.0);
        // A session revoked meanwhile stays revoked: nothing to rebind.
        let Some(mut record) = self.store.load(&id_hash).await? else { return Ok(()) };
        record.principal.credential_version = credential_version;
        self.store.save(&id_hash, record).await
    }

    /// Revokes every session of `principal_id` except `keep`.
    pub async fn revoke_all(&self, principal_id: &str, keep: Option<&SessionId>) -> Result<(), StoreError> {
        let keep = keep.map(|id| hash_secret(&id.0));
        self.store.revoke_principal(principal_id, keep.as_deref()).await
    }

    /// The session cookie's value, if exactly one well-formed one was sent.
    fn cookie_value<'a>(&self, parts: &'a Parts) -> Result<Option<&'a str>, ()> {
        let mut found = None;
        for header in parts.headers.get_all(header::COOKIE) {
            let header = header.to_str().map_err(|_| ())?;
            for cookie in Cookie::split_parse(header) {
                let Ok(cookie) = cookie else { continue };
                if cookie.name() != self.cookie_name.as_ref() {
                    continue;
                }
                if found.is_some() {
                    return Err(()); // two session cookies: ambiguous, refuse
                }
                found = Some(cookie.value_raw().ok_or(())?);
            }
        }
        match found {
            Some(v) if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(Some(v)),
            Some(_) => Err(()),
            None => Ok(None),
        }
    }
}

impl Authenticator for Sessions {
    fn authenticate<'a>(&'a self, parts: &'a Parts) -> StoreFuture<'a, Result<Authentication, StoreError>> {
        let id = match self.cookie_value(parts) {
            Ok(None) => return StoreFuture::ready(Ok(Authentication::Missing)),
            Err(()) => return StoreFuture::ready(Ok(Authentication::Invalid)),
            Ok(Some(id)) => id,
        };
        if let Some(accounts) = &self.accounts {
            return StoreFuture::new(async move {
                let mut id_hash = [0u8; 64];
                let found = self.store.load_live(hash_secret_hex(id, &mut id_hash)).await?;
                let Some(live) = found else { return Ok(Authentication::Invalid) };
                let now = accounts::current(accounts.as_ref(), live.principal, Binding::Password).await?;
                Ok(session_outcome(id, now.map(|principal| LiveSession { principal, csrf_token: live.csrf_token })))
            });
        }
        // An in-process store answers at once: no future is boxed.
        let mut id_hash = [0u8; 64];
        match self.store.load_live(hash_secret_hex(id, &mut id_hash)).into_ready() {
            Ok(found) => return StoreFuture::ready(found.map(|live| session_outcome(id, live))),
            // Its future borrows the hash on this stack: drop it unpolled and
            // ask again from a future that owns the hash.
            Err(waiting) => drop(waiting),
        }
        StoreFuture::new(async move {
            let mut id_hash = [0u8; 64];
            let found = self.store.load_live(hash_secret_hex(id, &mut id_hash)).await;
            found.map(|live| session_outcome(id, live))
        })
    }
}

/// The live session under cookie value `id`, if the store found one, as the
/// authentication outcome.
fn session_outcome(id: &str, live: Option<LiveSession>) -> Authentication {
    match live {
        Some(live) => Authentication::Authenticated(Authenticated {
            principal: live.principal,
            via: Via::Session { id: SessionId(id.to_owned()), csrf_token: live.csrf_token },
        }),
        None => Authentication::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::{MemorySessionStore, Sessions};
    use crate::Principal;

    async fn set_cookie(sessions: &Sessions) -> String {
        let new = sessions.login(Principal::user("alice", "acme", ["customer"])).await.expect("login");
        new.set_cookie.to_str().expect("ascii").to_owned()
    }

    fn attributes(set_cookie: &str) -> Vec<String> {
        set_cookie.split(';').skip(1).map(|a| a.trim().to_ascii_lowercase()).collect()
    }

    #[tokio::test]
    async fn a_host_prefixed_cookie_is_secure_with_path_root_and_no_domain() {
        let store = MemorySessionStore::new();
        // Asked for, even after `secure(false)`; or by naming it so.
        for sessions in [
            Sessions::new(store.clone()).secure(false).host_prefixed(),
            Sessions::new(store.clone()).cookie_name("__Host-sid").secure(false),
            Sessions::new(store.clone()).cookie_name("__Secure-sid").secure(false),
        ] {
            let cookie = set_cookie(&sessions).await;
            assert!(cookie.starts_with(&format!("{}=", sessions.name())), "{cookie}");
            let attrs = attributes(&cookie);
            assert!(attrs.iter().any(|a| a == "secure"), "{cookie}");
            assert!(attrs.iter().any(|a| a == "path=/"), "{cookie}");
            assert!(!attrs.iter().any(|a| a.starts_with("domain")), "{cookie}");
            assert!(sessions.is_secure());
        }
        let prefixed = Sessions::new(store.clone()).host_prefixed();
        assert_eq!(prefixed.name(), "__Host-guard_session");
        assert_eq!(prefixed.clone().host_prefixed().name(), "__Host-guard_session", "prefixed once");
        // Plain development cookies stay possible, under a plain name.
        let plain = set_cookie(&Sessions::new(store).secure(false)).await;
        assert!(plain.starts_with("guard_session="), "{plain}");
        assert!(!attributes(&plain).iter().any(|a| a == "secure"), "{plain}");
    }
}
