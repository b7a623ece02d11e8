//! Authenticators in a chain: a tuple tries each in turn.
//!
//! An authenticator that does not know a credential declines it
//! ([`Authentication::Unrecognized`]) and the next one tries it. One that
//! knows it and finds it bad answers [`Authentication::Invalid`], which ends
//! the chain: a bad credential is never passed on. Once a credential was
//! declined, only a bearer authentication of that credential can follow: a
//! session found after it would be a fallback from a bad bearer to a cookie,
//! so it is refused. A credential every authenticator declined is invalid.

use axum::http::request::Parts;

use super::{Authentication, Authenticator, Via};
use crate::{StoreError, StoreFuture};

/// What the chain has seen so far.
#[derive(Clone, Copy)]
struct Seen {
    declined: bool,
}

enum Step {
    /// Ask the next authenticator.
    Next(Seen),
    /// The chain's answer.
    Done(Authentication),
}

impl Seen {
    fn step(self, answer: Authentication) -> Step {
        match answer {
            Authentication::Missing => Step::Next(self),
            Authentication::Unrecognized => Step::Next(Seen { declined: true }),
            Authentication::Authenticated(found) if self.declined && !matches!(found.via, Via::Bearer) => {
                // A declined bearer never falls back to a cookie session.
                Step::Done(Authentication::Invalid)
            }
            found => Step::Done(found),
        }
    }

    fn end(self) -> Authentication {
        if self.declined {
            Authentication::Invalid
        } else {
            Authentication::Missing
        }
    }
}

/// Tries `authenticators` in order, as described in the module docs. While
/// their answers are at hand (in-process stores) nothing is boxed; from the
/// first one that must wait, it and the rest run in one boxed future.
pub(super) fn first_found<'a, const N: usize>(
    authenticators: [&'a dyn Authenticator; N],
    parts: &'a Parts,
) -> StoreFuture<'a, Result<Authentication, StoreError>> {
    let mut seen = Seen { declined: false };
    for (i, authenticator) in authenticators.into_iter().enumerate() {
        match authenticator.authenticate(parts).into_ready() {
            Ok(Ok(answer)) => match seen.step(answer) {
                Step::Next(now) => seen = now,
                Step::Done(answer) => return StoreFuture::ready(Ok(answer)),
            },
            Ok(Err(e)) => return StoreFuture::ready(Err(e)),
            Err(waiting) => {
                return StoreFuture::new(async move {
                    match seen.step(waiting.await?) {
                        Step::Next(now) => seen = now,
                        Step::Done(answer) => return Ok(answer),
                    }
                    for authenticator in &authenticators[i + 1..] {
                        match seen.step(authenticator.authenticate(parts).await?) {
                            Step::Next(now) => seen = now,
                            Step::Done(answer) => return Ok(answer),
                        }
                    }
                    Ok(seen.end())
                });
            }
        }
    }
    StoreFuture::ready(Ok(seen.end()))
}

/// Whether `token` has a JWS compact serialization's shape: three base64url
/// segments separated by dots (the last, the signature, may be empty). An
/// opaque key of guard's own (hex) never has this shape.
pub(crate) fn looks_like_jwt(token: &str) -> bool {
    let base64url = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let mut segments = token.split('.');
    match (segments.next(), segments.next(), segments.next(), segments.next()) {
        (Some(header), Some(payload), Some(signature), None) => {
            !header.is_empty() && !payload.is_empty() && base64url(header) && base64url(payload) && base64url(signature)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::looks_like_jwt;

    #[test]
    fn only_three_base64url_segments_look_like_a_jwt() {
        for jwt in ["eyJh.eyJz.c2ln", "a.b.", "a-_.b_-.c-_"] {
            assert!(looks_like_jwt(jwt), "{jwt}");
        }
        for not in ["abc", "a.b", "a.b.c.d", ".b.c", "a..c", "a.b+.c", "a.b.c=", "0123abcd"] {
            assert!(!looks_like_jwt(not), "{not}");
        }
    }
}
