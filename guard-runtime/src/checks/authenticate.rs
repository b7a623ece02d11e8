//! Step 1: who is calling. The authenticator reads the request's credential
//! (the `Authorization: Bearer` header or the session cookie, nothing else);
//! no credential, or one that is not valid, is a 401, and a store failure a
//! 503, never "anonymous".

use axum::http::request::Parts;

use super::{Refusal, Verdict};
use crate::authn::{Authenticated, Authentication};
use crate::{Authenticator, Code};

/// The caller the request's credential proves.
pub(crate) async fn check(authenticator: &dyn Authenticator, parts: &Parts) -> Verdict<Authenticated> {
    match authenticator.authenticate(parts).await? {
        Authentication::Authenticated(found) => Ok(found),
        Authentication::Missing | Authentication::Unrecognized | Authentication::Invalid => {
            Err(Refusal::code(Code::Unauthenticated))
        }
    }
}
