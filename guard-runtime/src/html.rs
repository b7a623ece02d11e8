//! Answers for browsers: a refusal as an HTML page when the request prefers
//! `text/html`, and the signed-out page's way to the login page.
//!
//! The status and the `code` are the same whichever way a refusal is
//! written: a browser and an API client see one decision. Only a request
//! whose `Accept` ranks `text/html` above JSON gets HTML, so `fetch()`
//! (`*/*`), curl and API clients keep problem+json.

use std::fmt::Write as _;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::Problem;
use crate::runtime::Runtime;

/// What an HTML error page shows: the refusal as the problem document has
/// it, and where to sign in when signing in would help.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct ErrorPage<'a> {
    /// The answer's status.
    pub status: StatusCode,
    /// The stable `code`, as in the problem document.
    pub code: &'a str,
    /// The status's reason phrase ("Forbidden").
    pub title: &'a str,
    /// The client-safe detail.
    pub detail: &'a str,
    /// For a 401: the login page, with `next` back to the page the browser
    /// was on when it asked for a page.
    pub login: Option<&'a str>,
}

/// Renders an [`ErrorPage`]: the default is [`default_error_page`]; an app
/// sets its own with `Actions::error_page`.
pub type RenderErrorPage = fn(&ErrorPage<'_>) -> String;

/// A plain page, no script, no external resource: the code in
/// `<code id="error-code">`, the login link (if any) in `<a id="login-link">`.
pub fn default_error_page(page: &ErrorPage<'_>) -> String {
    let mut out = String::with_capacity(512);
    let status = page.status.as_u16();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{status} {title}</title></head>\n\
         <body><main><h1>{status} {title}</h1>\n<p>{detail}</p>\n<p>Code: <code id=\"error-code\">{code}</code></p>\n",
        title = Escaped(page.title),
        detail = Escaped(page.detail),
        code = Escaped(page.code),
    );
    if let Some(login) = page.login {
        let _ = writeln!(out, "<p><a id=\"login-link\" href=\"{}\">Sign in</a></p>", Escaped(login));
    }
    out.push_str("</main></body></html>\n");
    out
}

/// Text for HTML: `&`, `<`, `>`, `"` and `'` escaped, so a detail or a
/// `next` path cannot open a tag or leave an attribute.
pub struct Escaped<'a>(pub &'a str);

impl std::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..i])?;
            f.write_str(match rest.as_bytes()[i] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[i + 1..];
        }
        f.write_str(rest)
    }
}

/// Whether `Accept` ranks `text/html` above every JSON type it names (and
/// names it at all): a browser navigating or posting a form. Absent or
/// unreadable `Accept`, `*/*` and JSON clients get JSON.
pub fn prefers_html(headers: &HeaderMap) -> bool {
    let (mut html, mut json) = (0u16, 0u16);
    for value in headers.get_all(header::ACCEPT) {
        let Ok(value) = value.to_str() else { return false };
        for item in value.split(',') {
            let mut params = item.split(';');
            let media = params.next().unwrap_or_default().trim();
            let q = params.find_map(|p| p.trim().strip_prefix("q=")).map_or(1000, quality);
            if media.eq_ignore_ascii_case("text/html") || media.eq_ignore_ascii_case("application/xhtml+xml") {
                html = html.max(q);
            } else if media.eq_ignore_ascii_case("application/json")
                || media.eq_ignore_ascii_case("application/problem+json")
            {
                json = json.max(q);
            }
        }
    }
    html > 0 && html > json
}

/// An RFC 9110 quality value in thousandths; anything unreadable is 0.
fn quality(q: &str) -> u16 {
    let q = q.trim();
    let (whole, fraction) = q.split_once('.').unwrap_or((q, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    let thousandths =
        fraction.bytes().chain(std::iter::repeat(b'0')).take(3).fold(0u16, |n, b| n * 10 + u16::from(b - b'0'));
    match whole {
        "1" if thousandths == 0 => 1000,
        "0" => thousandths,
        _ => 0,
    }
}

/// `next` if it is a path on this site, else `None`: one leading `/`, not
/// `//` or `/\` (which browsers read as another host), no scheme, no
/// control character or whitespace. A login form redirects only to this,
/// so it cannot be made an open redirect.
pub fn safe_next(next: &str) -> Option<&str> {
    let rest = next.strip_prefix('/')?;
    if rest.starts_with('/') || rest.starts_with('\\') {
        return None;
    }
    if next.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\') {
        return None;
    }
    Some(next)
}

/// A refusal's problem+json answer, written for a browser: a 401 on a GET
/// `page` becomes a 303 to the login page; any other refusal an HTML page
/// with the same status and headers, and the same `code`. An answer that
/// is not a refusal (no [`Problem`]) passes unchanged.
pub(crate) fn for_browser(response: Response, rt: &Runtime, page: bool, get: bool, here: &str) -> Response {
    let Some(problem) = response.extensions().get::<Problem>() else { return response };
    let status = response.status();
    let signed_out = status == StatusCode::UNAUTHORIZED;
    if signed_out && page && get {
        return see_other(&login_with_next(&rt.login_page, here));
    }
    // A GET comes back to where it was; a form post has no page of its own
    // to come back to.
    let login = signed_out.then(|| if get { login_with_next(&rt.login_page, here) } else { rt.login_page.to_string() });
    let html = (rt.error_page)(&ErrorPage {
        status,
        code: problem.code.as_str(),
        title: status.canonical_reason().unwrap_or("Error"),
        detail: &problem.detail,
        login: login.as_deref(),
    });
    let (mut parts, _) = response.into_parts();
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(html))
}

/// `login?next=<path and query>`, with `next` percent-encoded.
pub(crate) fn login_with_next(login: &str, next: &str) -> String {
    let mut out = String::with_capacity(login.len() + next.len() + 8);
    out.push_str(login);
    out.push_str(if login.contains('?') { "&next=" } else { "?next=" });
    for byte in next.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// 303 See Other to `location`: the browser follows with a GET.
pub(crate) fn see_other(location: &str) -> Response {
    match HeaderValue::try_from(location) {
        Ok(location) => (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response(),
        // Cannot happen: the location is built from a valid URI and a
        // configured path. Fail closed with a plain 401.
        Err(_) => StatusCode::UNAUTHORIZED.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn browsers_get_html_and_api_clients_json() {
        let chromium = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";
        assert!(prefers_html(&accept(chromium)));
        assert!(prefers_html(&accept("text/html")));
        assert!(!prefers_html(&accept("*/*")), "fetch() and curl");
        assert!(!prefers_html(&accept("application/json")));
        assert!(!prefers_html(&accept("application/json, text/html;q=0.5")));
        assert!(!prefers_html(&accept("text/html;q=0.5, application/problem+json")));
        assert!(!prefers_html(&accept("text/html;q=0")));
        assert!(!prefers_html(&accept("text/html;q=banana")));
        assert!(!prefers_html(&HeaderMap::new()));
    }

    #[test]
    fn only_local_paths_are_safe_next_targets() {
        assert_eq!(safe_next("/orders"), Some("/orders"));
        assert_eq!(safe_next("/orders/o-1?tab=2"), Some("/orders/o-1?tab=2"));
        for evil in ["//evil.example", "/\\evil.example", "https://evil.example", "evil", "", "/a\nb", "/ x", "/a\\b"] {
            assert_eq!(safe_next(evil), None, "{evil:?}");
        }
    }

    #[test]
    fn the_login_link_carries_the_page_encoded() {
        assert_eq!(
            login_with_next("/login", "/orders/o%201?tab=a&b=c"),
            "/login?next=/orders/o%25201%3Ftab%3Da%26b%3Dc"
        );
    }

    #[test]
    fn the_page_escapes_what_it_shows() {
        let page = ErrorPage {
            status: StatusCode::FORBIDDEN,
            code: "csrf_failed",
            title: "Forbidden",
            detail: "<script>alert(1)</script>",
            login: Some("/login?next=/a\"b"),
        };
        let html = default_error_page(&page);
        assert!(html.contains("<code id=\"error-code\">csrf_failed</code>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("href=\"/login?next=/a&quot;b\""));
        assert!(!html.contains("<script>"));
    }
}
