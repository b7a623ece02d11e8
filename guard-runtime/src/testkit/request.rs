//! Building one attack request and reading the answer.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use super::{ActionFixture, Credential, Got};
use crate::ActionInfo;

/// What the request does with the CSRF token of a cookie session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Csrf {
    Valid,
    Missing,
    Wrong,
}

/// The JSON body, valid or broken in one way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyMode {
    Valid,
    Oversized,
    PlainText,
    UnknownField,
}

/// The replay key header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ReplayKey {
    Fresh,
    Missing,
    Given(String),
}

/// One request of an attack: a valid request except where a field says otherwise.
#[derive(Clone, Debug)]
pub(crate) struct Probe<'a> {
    pub(crate) credential: Option<&'a Credential>,
    pub(crate) csrf: Csrf,
    pub(crate) key: Option<String>,
    pub(crate) body: BodyMode,
    pub(crate) replay: ReplayKey,
}

impl<'a> Probe<'a> {
    pub(crate) fn new(credential: Option<&'a Credential>, key: Option<String>) -> Self {
        Probe { credential, csrf: Csrf::Valid, key, body: BodyMode::Valid, replay: ReplayKey::Fresh }
    }
}

/// A field name no input type should know.
pub(crate) const UNKNOWN_FIELD: &str = "guard_sweep_unknown_field";

/// Whether the action reads its object key from a path parameter.
pub(crate) fn key_in_path(info: &ActionInfo) -> bool {
    info.object_key.is_some_and(|name| path_params(&info.path).any(|p| p == name))
}

fn path_params(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter_map(|segment| {
        segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')).map(|s| s.trim_start_matches('*'))
    })
}

/// The request path: the object's key in its parameter, the others from
/// the fixture (default `1`).
pub(crate) fn fill_path(info: &ActionInfo, fixture: &ActionFixture, key: Option<&str>) -> String {
    let filled: Vec<String> = info
        .path
        .split('/')
        .map(|segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => {
                let name = name.trim_start_matches('*');
                let value = match key {
                    Some(key) if info.object_key == Some(name) => key,
                    _ => fixture.params.get(name).map_or("1", String::as_str),
                };
                encode(value)
            }
            None => segment.to_owned(),
        })
        .collect();
    filled.join("/")
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The fixture's body with the object key in place, if the key is an input field.
pub(crate) fn valid_body(info: &ActionInfo, fixture: &ActionFixture, key: Option<&str>) -> Value {
    let mut body = fixture.body.clone().unwrap_or_else(|| Value::Object(Default::default()));
    if let (Some(field), Some(key), false) = (info.object_key, key, key_in_path(info)) {
        if let Value::Object(map) = &mut body {
            let value = match (map.get(field), key.parse::<i64>()) {
                (Some(Value::Number(_)), Ok(n)) => Value::from(n),
                _ => Value::from(key),
            };
            map.insert(field.to_owned(), value);
        }
    }
    body
}

fn is_safe(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "OPTIONS" | "TRACE")
}

pub(crate) fn is_unsafe(info: &ActionInfo) -> bool {
    !is_safe(&info.method)
}

/// Builds the request; `None` body mode problems are the caller's to rule out.
pub(crate) fn build(
    info: &ActionInfo,
    fixture: &ActionFixture,
    probe: &Probe<'_>,
    request_id: &str,
    replay_key: &str,
) -> Result<Request<Body>, String> {
    let method = Method::from_bytes(info.method.as_bytes()).map_err(|e| format!("method {}: {e}", info.method))?;
    let uri = fill_path(info, fixture, probe.key.as_deref());
    // A documentation address: a real server attaches the peer's address,
    // and guard counts unauthenticated denials by it.
    let peer: SocketAddr = SocketAddr::from(([192, 0, 2, 1], 40000));
    let mut builder =
        Request::builder().method(method).uri(&uri).header("x-request-id", request_id).extension(ConnectInfo(peer));
    match probe.credential {
        None => {}
        Some(Credential::Bearer(token)) => builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}")),
        Some(Credential::Session { cookie, csrf }) => {
            builder = builder.header(header::COOKIE, cookie.as_str());
            if is_unsafe(info) {
                match probe.csrf {
                    Csrf::Valid => builder = builder.header("x-csrf-token", csrf.as_str()),
                    Csrf::Missing => {}
                    Csrf::Wrong => {
                        builder = builder.header("x-csrf-token", format!("guard-sweep-wrong-{}", csrf.len()))
                    }
                }
            }
        }
    }
    if let Some(name) = info.replay {
        match &probe.replay {
            ReplayKey::Fresh => builder = builder.header(name, replay_key),
            ReplayKey::Missing => {}
            ReplayKey::Given(key) => builder = builder.header(name, key.as_str()),
        }
    }
    let body = match info.body_limit {
        None => Body::empty(),
        Some(limit) => {
            let valid = valid_body(info, fixture, probe.key.as_deref());
            let form = info.input == Some("form");
            let media = if form { "application/x-www-form-urlencoded" } else { "application/json" };
            let (content_type, bytes) = match probe.body {
                BodyMode::Valid => (media, encode_body(form, &valid)?),
                BodyMode::PlainText => ("text/plain", encode_body(form, &valid)?),
                BodyMode::UnknownField => {
                    let mut value = valid;
                    let Value::Object(map) = &mut value else {
                        return Err("the body fixture is not a JSON object".to_owned());
                    };
                    map.insert(UNKNOWN_FIELD.to_owned(), Value::Bool(true));
                    (media, encode_body(form, &value)?)
                }
                BodyMode::Oversized => {
                    // A valid body padded to one byte over the limit: with
                    // whitespace (JSON) or empty pairs (a form).
                    let mut text = encode_body(form, &valid)?;
                    let target = limit.saturating_add(1);
                    if text.len() < target {
                        text.extend(std::iter::repeat_n(if form { '&' } else { ' ' }, target - text.len()));
                    }
                    (media, text)
                }
            };
            builder = builder.header(header::CONTENT_TYPE, content_type).header(header::CONTENT_LENGTH, bytes.len());
            Body::from(bytes)
        }
    };
    builder.body(body).map_err(|e| format!("cannot build the request for {uri}: {e}"))
}

/// The body fixture as JSON, or as a form: its top-level fields as pairs.
fn encode_body(form: bool, body: &Value) -> Result<String, String> {
    if !form {
        return Ok(body.to_string());
    }
    let Value::Object(fields) = body else { return Err("a form's body fixture is a JSON object".to_owned()) };
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        match value {
            Value::Null => {}
            Value::String(text) => {
                out.append_pair(name, text);
            }
            Value::Bool(_) | Value::Number(_) => {
                out.append_pair(name, &value.to_string());
            }
            Value::Array(_) | Value::Object(_) => {
                return Err(format!("a form field holds text, and the body fixture's `{name}` is {value}"))
            }
        }
    }
    Ok(out.finish())
}

/// Sends `request` through the router in-process.
pub(crate) async fn send(router: &Router, request: Request<Body>) -> Got {
    let response = match router.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let status = response.status().as_u16();
    let bytes = match response.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Default::default(),
    };
    let code = serde_json::from_slice::<Value>(&bytes).ok().and_then(|v| v["code"].as_str().map(str::to_owned));
    Got { status, code }
}
