//! The manifest as an app serves it: for sweeping an app whose builder
//! returns only the router, when one of its actions lists
//! `Actions::manifest()` as JSON.

use axum::body::Body;
use axum::http::{header, Request};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use super::Credential;
use crate::{ActionInfo, CallerKind};

/// Parses the JSON a serialized `Vec<ActionInfo>` makes.
///
/// `ActionInfo` names actions with `&'static str`s, so the strings read
/// here are leaked: a few hundred bytes per sweep, in a test process.
pub fn manifest_from_json(json: &Value) -> Result<Vec<ActionInfo>, String> {
    let entries = json.as_array().ok_or("the manifest is not a JSON array")?;
    entries.iter().map(entry).collect()
}

fn leak(value: &str) -> &'static str {
    Box::leak(value.to_owned().into_boxed_str())
}

fn entry(json: &Value) -> Result<ActionInfo, String> {
    let text = |field: &str| -> Result<&str, String> {
        json[field].as_str().ok_or_else(|| format!("manifest entry without a `{field}` string: {json}"))
    };
    let optional = |field: &str| json[field].as_str().map(leak);
    let list = |field: &str| -> Vec<&'static str> {
        json[field].as_array().map(|a| a.iter().filter_map(Value::as_str).map(leak).collect()).unwrap_or_default()
    };
    let callers = list("callers")
        .into_iter()
        .map(|kind| CallerKind::from_name(kind).ok_or_else(|| format!("unknown caller kind `{kind}` in the manifest")))
        .collect::<Result<_, _>>()?;
    Ok(ActionInfo {
        name: leak(text("name")?),
        method: text("method")?.to_owned(),
        path: text("path")?.to_owned(),
        policy: leak(text("policy")?),
        requires: list("requires"),
        public_reason: optional("public_reason"),
        callers,
        fresh_secs: json["fresh_secs"].as_u64(),
        replay: optional("replay"),
        object_check: optional("object_check"),
        resource: optional("resource"),
        object_key: optional("object_key"),
        check: optional("check"),
        binding: list("binding").into_iter().map(str::to_owned).collect(),
        acr: list("acr"),
        approval: optional("approval"),
        input: match json["input"].as_str() {
            None => None,
            Some("json") => Some("json"),
            Some("form") => Some("form"),
            Some(other) => return Err(format!("unknown input `{other}` in the manifest")),
        },
        body_limit: json["body_limit"].as_u64().map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        page: json["page"].as_bool().unwrap_or(false),
    })
}

/// Fetches the manifest an action of the app serves (`GET path`, as
/// `credential`) and parses it.
pub async fn served_manifest(router: &Router, path: &str, credential: &Credential) -> Result<Vec<ActionInfo>, String> {
    let mut request = Request::get(path);
    request = match credential {
        Credential::Bearer(token) => request.header(header::AUTHORIZATION, format!("Bearer {token}")),
        Credential::Session { cookie, .. } => request.header(header::COOKIE, cookie.as_str()),
    };
    let request = request.body(Body::empty()).map_err(|e| e.to_string())?;
    let response = match router.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let status = response.status();
    let bytes = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    if !status.is_success() {
        return Err(format!("GET {path} answered {status}: {}", String::from_utf8_lossy(&bytes)));
    }
    let json: Value = serde_json::from_slice(&bytes).map_err(|e| format!("GET {path}: not JSON: {e}"))?;
    manifest_from_json(&json)
}
