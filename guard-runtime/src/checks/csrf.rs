//! Step 4: the CSRF check, for cookie sessions on unsafe methods. A browser attaches the session cookie to any site's request, so such
//! a request must also carry the token bound to the session, which only the
//! app's own pages know; a browser's `Sec-Fetch-Site: cross-site` or an
//! `Origin` other than the app's refuses it even with the token. A request
//! without `Origin` (a non-browser client) is judged by the token alone.

use axum::http::{header, request::Parts, HeaderName, Method};
use subtle::ConstantTimeEq;

use super::{Refusal, Verdict};
use crate::authn::Via;
use crate::Code;

const CSRF_HEADER: HeaderName = HeaderName::from_static("x-csrf-token");
const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// Refuses a cookie-authenticated request on an unsafe method that fails
/// the checks. Bearer requests are sent deliberately: no CSRF risk.
pub(crate) fn check(parts: &Parts, via: &Via, allowed_origins: &[String]) -> Verdict {
    match via {
        Via::Session { csrf_token, .. } if !is_safe(&parts.method) && !csrf_ok(parts, csrf_token, allowed_origins) => {
            Err(Refusal::code(Code::CsrfFailed))
        }
        _ => Ok(()),
    }
}

/// Methods that must not change state, so need no CSRF proof.
fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

/// Fetch metadata, `Origin`, and the session-bound token.
fn csrf_ok(parts: &Parts, expected: &str, allowed_origins: &[String]) -> bool {
    let headers = &parts.headers;
    if headers.get_all(SEC_FETCH_SITE).iter().any(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site")) {
        return false;
    }
    let mut origins = headers.get_all(header::ORIGIN).iter();
    match (origins.next(), origins.next()) {
        (None, _) => {}
        (Some(origin), None) => {
            let Ok(origin) = origin.to_str() else { return false };
            if !origin_allowed(origin, parts, allowed_origins) {
                return false;
            }
        }
        (Some(_), Some(_)) => return false,
    }
    let mut tokens = headers.get_all(CSRF_HEADER).iter();
    match (tokens.next(), tokens.next()) {
        (Some(sent), None) => bool::from(sent.as_bytes().ct_eq(expected.as_bytes())),
        _ => false,
    }
}

/// The app's own origin: one of the configured origins, or else the scheme
/// and exactly the host the request was sent to (`Host`, or the URI's
/// authority where HTTP/2 carries it). `null` never matches.
fn origin_allowed(origin: &str, parts: &Parts, allowed: &[String]) -> bool {
    if !allowed.is_empty() {
        return allowed.iter().any(|a| a.eq_ignore_ascii_case(origin));
    }
    let host = match parts.headers.get(header::HOST) {
        Some(host) => host.to_str().ok(),
        None => parts.uri.authority().map(|a| a.as_str()),
    };
    let Some(host) = host else { return false };
    let authority = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"));
    authority.is_some_and(|a| a.eq_ignore_ascii_case(host))
}
