//! Authentication: turning a credential into a [`Principal`].
//!
//! Credentials are read from exactly two places: the `Authorization: Bearer`
//! header ([`Tokens`]: API keys and agent tokens) and the session cookie
//! ([`Sessions`]). Headers that merely claim an identity (`X-User`,
//! `X-Forwarded-User`, …) and the query string are never read.

mod accounts;
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
    /// It carries one, and it is not valid (unknown, expired, revoked,
    /// malformed, or ambiguous). Always 401: guard never falls back to
    /// another credential.
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
        /// The token the client must echo in `x-csrf-token`.
        csrf_token: String,
    },
    /// An `Authorization: Bearer` credential, sent deliberately: no CSRF risk.
    Bearer,
}

impl Via {
    /// The session's id, for a cookie session.
    pub(crate) fn into_session_id(self) -> Option<SessionId> {
        match self {
            Via::Session { id, .. } => Some(id),
            Via::Bearer => None,
        }
    }
}

/// A session id. Its `Debug` is redacted: it is a credential.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionId(pub(crate) String);

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionId(<redacted>)")
    }
}

/// Turns a request's credential into a principal.
///
/// Implemented by [`Sessions`] and [`Tokens`], and by tuples of
/// authenticators, which try each in order and stop at the first that finds a
/// credential (valid or not): `(Tokens, Sessions)` reads the bearer header
/// first, then the cookie.
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
                first_found([$($name as &dyn Authenticator),+], parts)
            }
        }
    };
}

/// Tries `authenticators` in order and answers with the first that finds a
/// credential (valid or not), or `Missing`. While their answers are at hand
/// (in-process stores) nothing is boxed; from the first one that must wait,
/// it and the rest run in one boxed future.
fn first_found<'a, const N: usize>(
    authenticators: [&'a dyn Authenticator; N],
    parts: &'a Parts,
) -> StoreFuture<'a, Result<Authentication, StoreError>> {
    for (i, authenticator) in authenticators.into_iter().enumerate() {
        match authenticator.authenticate(parts).into_ready() {
            Ok(Ok(Authentication::Missing)) => {}
            Ok(answer) => return StoreFuture::ready(answer),
            Err(waiting) => {
                return StoreFuture::new(async move {
                    match waiting.await? {
                        Authentication::Missing => {}
                        found => return Ok(found),
                    }
                    for authenticator in &authenticators[i + 1..] {
                        match authenticator.authenticate(parts).await? {
                            Authentication::Missing => {}
                            found => return Ok(found),
                        }
                    }
                    Ok(Authentication::Missing)
                });
            }
        }
    }
    StoreFuture::ready(Ok(Authentication::Missing))
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
