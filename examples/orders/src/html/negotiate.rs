//! Which answer a request asked for: a page or JSON.
//!
//! guard's own rule (`guard_runtime::html::prefers_html`), the one its
//! refusals follow: a request whose `Accept` ranks `text/html` above JSON
//! (a browser's navigation or form post) gets the page; API clients
//! (`application/json`, `*/*`, no `Accept`) keep JSON. So `GET /orders` is
//! the "my orders" page in a browser and the JSON list for `curl`, from
//! one guarded action, and a refusal of either comes the same way.

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use guard_runtime::html::prefers_html;
use guard_runtime::Json;
use maud::Markup;
use serde::Serialize;

/// The page for a browser, `data` as JSON for everyone else. Both carry
/// `Vary: Accept` (one URL, two representations: a cache must not hand
/// one to the other) and `Cache-Control: no-store` (a caller's own data).
pub fn negotiated<T: Serialize>(headers: &HeaderMap, page: impl FnOnce() -> Markup, data: &T) -> Response {
    let mut response = if prefers_html(headers) { page().into_response() } else { Json(data).into_response() };
    let answer = response.headers_mut();
    answer.insert(header::VARY, HeaderValue::from_static("accept"));
    answer.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
