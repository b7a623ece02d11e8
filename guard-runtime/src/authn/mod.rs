//! Authentication: turning a credential into a [`Principal`].
//!
//! Credentials are read from exactly two places: the `Authorization: Bearer`
//! header ([`Tokens`]: API keys and agent tokens) and the session cookie
//! ([`Sessions`]). Headers that merely claim an identity (`X-User`,
//! `X-Forwarded-User`, …) and the query string are never read.

mod session;
mod token;

use axum::http::request::Parts;

pub use session::{LiveSession, MemorySessionStore, NewSession, SessionRecord, SessionStore, Sessions};
pub use token::{hash_secret, MemoryTokenStore, TokenRecord, TokenStore, Tokens};

use crate::{BoxFuture, Principal, StoreError};

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
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a guard authenticator",
    label = "expected a `guard_runtime::Authenticator`, such as `Sessions`, `Tokens` or a tuple of them",
    note = "see https://docs.rs/guard-runtime/latest/guard_runtime/trait.Authenticator.html"
)]
pub trait Authenticator: Send + Sync + 'static {
    /// Reads the request's credential. A store failure is an `Err` and
    /// answers 503; it is never treated as "no credential".
    fn authenticate<'a>(&'a self, parts: &'a Parts) -> BoxFuture<'a, Result<Authentication, StoreError>>;
}

macro_rules! impl_authenticator_for_tuple {
    ($($name:ident),+) => {
        impl<$($name: Authenticator),+> Authenticator for ($($name,)+) {
            #[allow(non_snake_case)]
            fn authenticate<'a>(&'a self, parts: &'a Parts) -> BoxFuture<'a, Result<Authentication, StoreError>> {
                let ($($name,)+) = self;
                Box::pin(async move {
                    $(
                        match $name.authenticate(parts).await? {
                            Authentication::Missing => {}
                            found => return Ok(found),
                        }
                    )+
                    Ok(Authentication::Missing)
                })
            }
        }
    };
}

impl_authenticator_for_tuple!(A);
impl_authenticator_for_tuple!(A, B);
impl_authenticator_for_tuple!(A, B, C);
impl_authenticator_for_tuple!(A, B, C, D);

impl<T: Authenticator + ?Sized> Authenticator for std::sync::Arc<T> {
    fn authenticate<'a>(&'a self, parts: &'a Parts) -> BoxFuture<'a, Result<Authentication, StoreError>> {
        (**self).authenticate(parts)
    }
}

/// A fresh random secret: 32 bytes from the OS, hex-encoded.
///
/// Fails (and so denies) if the OS has no randomness to give.
pub fn random_secret() -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::new("random source", e.to_string()))?;
    Ok(hex(&bytes))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    out
}

/// Appends `bytes` as lowercase hex (leading zero bytes of a counter
/// included: fixed width keeps ids sortable).
pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    // Through a stack buffer: pushing chars one by one costs several times more.
    let mut buf = [0u8; 64];
    for chunk in bytes.chunks(32) {
        for (i, &b) in chunk.iter().enumerate() {
            buf[2 * i] = DIGITS[(b >> 4) as usize];
            buf[2 * i + 1] = DIGITS[(b & 15) as usize];
        }
        out.push_str(std::str::from_utf8(&buf[..2 * chunk.len()]).unwrap_or_default());
    }
}
