//! Authentication: turning a credential into a [`Principal`].
//!
//! Credentials are read from exactly two places: the `Authorization: Bearer`
//! header ([`Tokens`]: API keys and agent tokens) and the session cookie
//! ([`Sessions`]). Headers that merely claim an identity (`X-User`,
//! `X-Forwarded-User`, …) and the query string are never read.

mod accounts;
mod chain;
#[cfg(feature = "jwt")]
pub mod jwt;
mod session;
mod token;

use axum::http::request::Parts;

pub use accounts::{Account, Accounts, MemoryAccounts};
pub use session::{LiveSession, MemorySessionStore, NewSession, SessionRecord, SessionStore, Sessions};
pub use token::{hash_secret, MemoryTokenStore, TokenRecord, TokenStore, Tokens};

use crate::{Principal, StoreError, StoreFuture};

/// What an authenticator made of a request.
#[derive(Debug)]
pub enum Authentication {
    /// The request carries no credential this authenticator reads.
    Missing,
    /// It carries one this authenticator does not recognise (a JWT, to an
    /// API-key authenticator; an opaque key or another issuer's token, to a
    /// JWT authenticator): the next authenticator of a chain tries it. At
    /// the end of the chain it is [`Invalid`](Authentication::Invalid), and
    /// never a reason to try a session cookie instead.
    Unrecognized,
    /// It carries one this authenticator recognises, and it is not valid
    /// (unknown, expired, revoked, malformed, or ambiguous). Always 401:
    /// guard never passes a bad credential on, nor falls back to another.
    Invalid,
    /// A valid credential.
    Authenticated(Authenticated),
}

/// A principal and the mechanism that proved it.
#[derive(Clone, Debug)]
pub struct Authenticated {
    /// Who is calling. Shared: in-process stores hand out the principal they
    /// keep rather than a copy per request.
    pub principal: std::sync::Arc<Principal>,
    /// How: decides whether CSRF checks apply.
    pub via: Via,
}

/// The mechanism that authenticated a request.
#[derive(Clone, Debug)]
pub enum Via {
    /// A session cookie: the browser sends it by itself, so unsafe methods
    /// need the session's CSRF token.
    Session {
        /// The session's id (the cookie value), for logout and re-authentication.
        id: SessionId,
        /// The token the client must echo in `x-csrf-token` (or a form's
        /// hidden `csrf_token` field).
        csrf_token: String,
    },
    /// An `Authorization: Bearer` credential, sent deliberately: no CSRF risk.
    Bearer,
}

/// A session id. Its `Debug` is redacted: it is a credential.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionId(pub(crate) String);

impl SessionId {
    /// The id of an app's own cookie session (the cookie's value, or the
    /// app store's key for it), for an [`Authenticator`] of its own that
    /// answers with [`Via::Session`].
    pub fn new(id: impl Into<String>) -> Self {
        SessionId(id.into())
    }

    /// The id, for the app's own session store.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionId(<redacted>)")
    }
}

/// Turns a request's credential into a principal.
///
/// Implemented by [`Sessions`] and [`Tokens`] (and, with the `jwt` feature,
/// [`jwt::Jwt`]), and by tuples of authenticators, which form a chain: each
/// is tried in order, and the first that recognises the credential decides.
/// An authenticator answers [`Authentication::Missing`] when the request
/// has no credential it reads, [`Authentication::Unrecognized`] to decline
/// one it does not know (the next one tries it), [`Authentication::Invalid`]
/// for one it knows to be bad (401: never passed on), or
/// [`Authentication::Authenticated`]. A credential every authenticator
/// declined is invalid, and a declined bearer never falls back to a session
/// cookie: `(Tokens, Jwt, Sessions)` reads the bearer header as an API key,
/// then as a JWT, and the cookie only when there is no bearer at all.
///
/// An app's own cookie sessions (tower-sessions, say) implement this trait
/// and answer with [`Via::Session`] (its id from [`SessionId::new`]): they
/// get CSRF and freshness checks like [`Sessions`].
///
/// The answer is a [`StoreFuture`]: [`StoreFuture::ready`] when it is at hand
/// (no allocation), [`StoreFuture::new`] when it must wait on a store.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a guard authenticator",
    label = "expected a `guard_runtime::Authenticator`, such as `Sessions`, `Tokens` or a tuple of them",
    note = "implement `guard_runtime::Authenticator`; its documentation (`cargo doc -p guard-runtime --open`) says what to implement"
)]
pub trait Authenticator: Send + Sync + 'static {
    /// Reads the request's credential. A store failure is an `Err` and
    /// answers 503; it is never treated as "no credential".
    fn authenticate<'a>(&'a self, parts: &'a Parts) -> StoreFuture<'a, Result<Authentication, StoreError>>;
}

macro_rules! impl_authenticator_for_tuple {
    ($($name:ident),+) => {
        impl<$($name: Authenticator),+> Authenticator for ($($name,)+) {
            #[allow(non_snake_case)]
            fn authenticate<'a>(&'a self, parts: &'a Parts) -> StoreFuture<'a, Result<Authentication, StoreError>> {
                let ($($name,)+) = self;
                chain::first_found([$($name as &dyn Authenticator),+], parts)
            }
        }
    };
}

impl_authenticator_for_tuple!(A);
impl_authenticator_for_tuple!(A, B);
impl_authenticator_for_tuple!(A, B, C);
impl_authenticator_for_tuple!(A, B, C, D);

impl<T: Authenticator + ?Sized> Authenticator for std::sync::Arc<T> {
    fn authenticate<'a>(&'a self, parts: &'a Parts) -> StoreFuture<'a, Result<Authentication, StoreError>> {
        (**self).authenticate(parts)
    }
}

/// A fresh random secret: 32 bytes from the OS, hex-encoded.
///
/// Fails (and so denies) if the OS has no randomness to give.
pub fn random_secret() -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::new("random source", e.to_string()))?;
    Ok(crate::hex::hex(&bytes))
}

/// The longest bearer credential read, in bytes: room for a JWT with a
/// delegation chain. A longer one is invalid (401).
pub const MAX_BEARER: usize = 8 * 1024;
