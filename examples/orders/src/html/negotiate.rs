//! Which answer a request asked for: a page or JSON.
//!
//! The same rule as guard's refusals: a request whose `Accept` prefers
//! `text/html` (what a browser sends on a navigation) gets the page; API
//! clients (`application/json`, `*/*`, no `Accept` at all) keep JSON. So
//! `GET /orders` is the "my orders" page in a browser and the JSON list
//! for `curl`, from one guarded action.

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use guard_runtime::Json;
use maud::Markup;
use serde::Serialize;

/// The page for a browser, `data` as JSON for everyone else. Both carry
/// `Vary: Accept` (one URL, two representations: a cache must not hand
/// one to the other) and `Cache-Control: no-store` (a caller's own data).
pub fn negotiated<T: Serialize>(headers: &HeaderMap, page: impl FnOnce() -> Markup, data: &T) -> Response {
    let mut response = if wants_html(headers) { page().into_response() } else { Json(data).into_response() };
    let answer = response.headers_mut();
    answer.insert(header::VARY, HeaderValue::from_static("accept"));
    answer.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Whether `Accept` names `text/html` with a quality above 0 and at least
/// that of `application/json`; wildcards alone never ask for a page.
pub fn wants_html(headers: &HeaderMap) -> bool {
    let (mut html, mut json) = (None::<f32>, None::<f32>);
    let values = headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok());
    for range in values.flat_map(|v| v.split(',')) {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let quality =
            parts.filter_map(|p| p.trim().strip_prefix("q=")).find_map(|q| q.trim().parse::<f32>().ok()).unwrap_or(1.0);
        let slot = match media.as_str() {
            "text/html" => &mut html,
            "application/json" => &mut json,
            _ => continue,
        };
        *slot = Some(slot.map_or(quality, |q| q.max(quality)));
    }
    match html {
        Some(h) if h > 0.0 => json.is_none_or(|j| h >= j),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{header, HeaderMap, HeaderValue};

    use super::wants_html;

    fn accept(value: Option<&'static str>) -> bool {
        let mut headers = HeaderMap::new();
        if let Some(value) = value {
            headers.insert(header::ACCEPT, HeaderValue::from_static(value));
        }
        wants_html(&headers)
    }

    #[test]
    fn browsers_get_pages_and_api_clients_json() {
        let chromium = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8";
        assert!(accept(Some(chromium)));
        assert!(accept(Some("text/html")));
        assert!(accept(Some("application/json;q=0.5, text/html")));
        assert!(!accept(None));
        assert!(!accept(Some("*/*")));
        assert!(!accept(Some("text/*")));
        assert!(!accept(Some("application/json")));
        assert!(!accept(Some("text/html;q=0.5, application/json")));
        assert!(!accept(Some("text/html;q=0")));
    }
}
