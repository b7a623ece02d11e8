//! A tool call as an HTTP request to the action's own route, and the
//! action's answer as a tool result.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{header, request::Parts, HeaderValue};
use axum::response::Response;
use http_body_util::BodyExt;
use rmcp::model::{CallToolResult, ContentBlock, MetaObject};
use serde_json::{json, Map, Value};

use super::schema::{INPUT, REPLAY_KEY};
use super::server::Tool;
use super::ViaTool;
use crate::ActionError;

/// The request a call of `tool` with `arguments` makes, from the caller's
/// MCP request `outer`: the route with its parameters filled in, the
/// caller's own `Authorization`, the input as the JSON body and the replay
/// key in the action's header. What the guard can judge (a missing input or
/// replay key) is left for it to refuse, and audit; only arguments that
/// make no request at all are refused here.
pub(crate) fn request(
    tool: &Tool,
    arguments: Option<Map<String, Value>>,
    outer: &Parts,
) -> Result<Request, ActionError> {
    let mut arguments = arguments.unwrap_or_default();
    let schema = &tool.schema;
    if let Some(unknown) = arguments.keys().find(|name| {
        !(schema.params.iter().any(|param| param == *name)
            || (schema.input && name.as_str() == INPUT)
            || (schema.replay.is_some() && name.as_str() == REPLAY_KEY))
    }) {
        return Err(ActionError::invalid_input(format!("unknown argument `{unknown}`")));
    }
    let path = fill_path(&tool.path, &arguments)?;
    let mut request = Request::builder().method(tool.method.clone()).uri(path);
    if let Some(authorization) = outer.headers.get(header::AUTHORIZATION) {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    if let (Some(header), Some(key)) = (schema.replay, arguments.get(REPLAY_KEY)) {
        let key = key.as_str().and_then(|key| HeaderValue::from_str(key).ok());
        let key =
            key.ok_or_else(|| ActionError::invalid_input("`replay_key` must be a string of visible characters"))?;
        request = request.header(header, key);
    }
    let body = match arguments.remove(INPUT) {
        Some(input) if schema.input => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(input.to_string())
        }
        _ => Body::empty(),
    };
    // The client's address, for the probing limit of an unauthenticated
    // call; the mark, for the audit records.
    if let Some(address) = outer.extensions.get::<ConnectInfo<SocketAddr>>() {
        request = request.extension(*address);
    }
    request = request.extension(ViaTool);
    request.body(body).map_err(|_| ActionError::invalid_input("the arguments do not make a request"))
}

/// The route with each `{param}` replaced by its argument, percent-encoded:
/// a value is one segment (or, for `{*rest}`, segments), never a way to
/// reach another route.
fn fill_path(path: &str, arguments: &Map<String, Value>) -> Result<String, ActionError> {
    let mut filled = String::with_capacity(path.len());
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            filled.push('/');
        }
        let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
            filled.push_str(segment);
            continue;
        };
        let (name, wildcard) = match name.strip_prefix('*') {
            Some(name) => (name, true),
            None => (name, false),
        };
        let value = match arguments.get(name) {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Number(number)) => number.to_string(),
            Some(_) => return Err(ActionError::invalid_input(format!("`{name}` must be a string"))),
            None => return Err(ActionError::invalid_input(format!("`{name}` is required"))),
        };
        if value.is_empty() {
            return Err(ActionError::invalid_input(format!("`{name}` must not be empty")));
        }
        if wildcard {
            let pieces: Vec<String> = value.split('/').map(encode).collect();
            filled.push_str(&pieces.join("/"));
        } else {
            filled.push_str(&encode(&value));
        }
    }
    Ok(filled)
}

/// Percent-encodes all but RFC 3986's unreserved characters, and dots too:
/// a value `..` stays a value, never a dot segment.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The action's answer as a tool result: a success carries the JSON body
/// (as structured content when it is an object); a refusal is a tool error
/// whose structured content is the problem document, with its `code`.
/// Either carries the request id of its audit records in `_meta`.
pub(crate) async fn result(response: Response) -> CallToolResult {
    let request_id = response.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let meta = request_id.clone().map(|id| MetaObject(Map::from_iter([("request_id".to_owned(), Value::from(id))])));
    answer(response, request_id).await.with_meta(meta)
}

async fn answer(response: Response, request_id: Option<String>) -> CallToolResult {
    let status = response.status();
    // The action's own answer, already in memory or made by it: read whole.
    let bytes = match response.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return CallToolResult::structured_error(problem(503, "unavailable", request_id)),
    };
    let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
    if status.is_success() {
        return match parsed {
            Some(Value::Object(object)) => CallToolResult::structured(Value::Object(object)),
            Some(other) => CallToolResult::success(vec![ContentBlock::text(other.to_string())]),
            None if bytes.is_empty() => CallToolResult::success(vec![ContentBlock::text(format!("{status}"))]),
            None => CallToolResult::success(vec![ContentBlock::text(String::from_utf8_lossy(&bytes))]),
        };
    }
    match parsed {
        Some(mut document @ Value::Object(_)) => {
            if let Some(id) = request_id {
                document["request_id"] = id.into();
            }
            CallToolResult::structured_error(document)
        }
        _ => CallToolResult::structured_error(problem(status.as_u16(), "unavailable", request_id)),
    }
}

/// A problem document for an answer that had none of its own.
fn problem(status: u16, code: &str, request_id: Option<String>) -> Value {
    json!({ "status": status, "code": code, "request_id": request_id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_values_are_one_segment_each() {
        let arguments = |value: Value| Map::from_iter([("id".to_owned(), value)]);
        assert_eq!(fill_path("/orders/{id}", &arguments("42".into())).unwrap(), "/orders/42");
        assert_eq!(fill_path("/orders/{id}", &arguments(42.into())).unwrap(), "/orders/42");
        assert_eq!(
            fill_path("/orders/{id}/cancel", &arguments("../admin".into())).unwrap(),
            "/orders/%2E%2E%2Fadmin/cancel"
        );
        assert_eq!(fill_path("/orders/{id}", &arguments("a b?c#d".into())).unwrap(), "/orders/a%20b%3Fc%23d");
        assert_eq!(fill_path("/files/{*id}", &arguments("a/b c".into())).unwrap(), "/files/a/b%20c");
        for bad in [Value::Null, json!([1]), json!(""), json!({})] {
            assert!(fill_path("/orders/{id}", &arguments(bad)).is_err());
        }
        assert!(fill_path("/orders/{id}", &Map::new()).is_err());
    }
}
