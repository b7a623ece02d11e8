//! Step 4: the CSRF check, for cookie sessions on unsafe methods. A browser
//! attaches the session cookie to any site's request (another port of the
//! same host is the same site, so even a `SameSite=Lax` cookie goes along),
//! so such a request must also carry the token bound to the session, which
//! only the app's own pages know: in the `x-csrf-token` header, or for an
//! HTML form in its hidden field [`CSRF_FIELD`]. A browser's
//! `Sec-Fetch-Site: cross-site` or an `Origin` other than the app's refuses
//! it even with the token. A request without `Origin` (a non-browser
//! client) is judged by the token alone.

use axum::body::Body;
use axum::http::{header, request::Parts, HeaderName, Method};
use subtle::ConstantTimeEq;

use super::form::FORM;
use super::{body, Refusal, Verdict};
use crate::authn::Via;
use crate::Code;

/// The hidden field of an HTML form that carries the session's CSRF token
/// (`<input type="hidden" name="csrf_token" value="…">`): accepted in
/// place of the `x-csrf-token` header on a form post, and left out of the
/// action's `Form<T>` input.
pub const CSRF_FIELD: &str = "csrf_token";

const CSRF_HEADER: HeaderName = HeaderName::from_static("x-csrf-token");
const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// What step 4 found.
pub(crate) enum Csrf<'a> {
    /// Nothing left to check: a bearer request, a safe method, or a header
    /// token that matched.
    Passed,
    /// A form post without the header: the token must be the form's
    /// [`CSRF_FIELD`], which [`form_field`] reads.
    InForm(&'a str),
}

/// Refuses a cookie-authenticated request on an unsafe method that fails
/// the checks. Bearer requests are sent deliberately: no CSRF risk.
pub(crate) fn check<'a>(parts: &Parts, via: &'a Via, allowed_origins: &[String]) -> Verdict<Csrf<'a>> {
    let Via::Session { csrf_token, .. } = via else { return Ok(Csrf::Passed) };
    if is_safe(&parts.method) {
        return Ok(Csrf::Passed);
    }
    if !site_ok(parts, allowed_origins) {
        return Err(Refusal::code(Code::CsrfFailed));
    }
    let mut tokens = parts.headers.get_all(CSRF_HEADER).iter();
    match (tokens.next(), tokens.next()) {
        (Some(sent), None) if same(sent.as_bytes(), csrf_token) => Ok(Csrf::Passed),
        (None, _) if body::has_media_type(parts, FORM) => Ok(Csrf::InForm(csrf_token)),
        _ => Err(Refusal::code(Code::CsrfFailed)),
    }
}

/// The form post's token: exactly one [`CSRF_FIELD`], equal to the
/// session's. Reads the body (within the action's limit) and hands it back
/// whole for the input step.
pub(crate) async fn form_field(parts: &Parts, sent: Body, limit: usize, expected: &str) -> Verdict<Body> {
    let bytes = body::read(parts, sent, limit).await.map_err(|(code, detail)| Refusal::detailed(code, detail))?;
    let mut fields = form_urlencoded::parse(&bytes).filter(|(key, _)| key == CSRF_FIELD);
    match (fields.next(), fields.next()) {
        (Some((_, token)), None) if same(token.as_bytes(), expected) => Ok(Body::from(bytes)),
        _ => Err(Refusal::code(Code::CsrfFailed)),
    }
}

/// Compared in constant time: the comparison says nothing about how much
/// of a guessed token was right.
fn same(sent: &[u8], expected: &str) -> bool {
    bool::from(sent.ct_eq(expected.as_bytes()))
}

/// Methods that must not change state, so need no CSRF proof.
fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

/// Fetch metadata and `Origin`: not sent from another site or origin.
fn site_ok(parts: &Parts, allowed_origins: &[String]) -> bool {
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
    true
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
