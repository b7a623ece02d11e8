//! Data minimised per permission: a response type marks the fields that
//! need a permission beyond the action's (an order's delivery `address`
//! needs `orders:read_address`), and a caller without it gets the answer
//! without them.
//!
//! The app implements [`Minimize`] for the response type and registers it
//! per action with [`Actions::minimize`](crate::Actions::minimize). Then,
//! after the body, every successful JSON answer of that action loses the
//! fields the caller's permissions do not cover (the policy decides, so an
//! agent needs the permission in its scopes and its user's roles): in an
//! object, in each object of an array, and in each object of a page's
//! `items`. MCP tool results are these answers, so they agree. The
//! manifest lists the marked fields.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde::Serialize;
use serde_json::Value;

use crate::runtime::Mounted;
use crate::{ActionError, BoxFuture, Code, Principal};

/// A response type some of whose fields need a further permission.
///
/// # Example
///
/// ```
/// use guard_runtime::Minimize;
///
/// #[derive(serde::Serialize)]
/// struct Order { id: i64, item: String, address: String }
///
/// impl Minimize for Order {
///     const GUARDED_FIELDS: &'static [(&'static str, &'static str)] = &[("address", "orders:read_address")];
/// }
/// ```
pub trait Minimize {
    /// `(field, permission)`: the JSON field left out for callers without
    /// the permission.
    const GUARDED_FIELDS: &'static [(&'static str, &'static str)];
}

/// A marked field as the manifest lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GuardedField {
    /// The JSON field.
    pub field: &'static str,
    /// The permission a caller needs to see it.
    pub requires: &'static str,
}

/// Runs the action's `answer`, then leaves out what its caller may not see.
pub(crate) async fn after(action: Arc<Mounted>, answer: BoxFuture<'static, Response>) -> Response {
    let response = answer.await;
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !response.status().is_success() || !json {
        return response;
    }
    // The gate hands the caller along with the answer; none (a public
    // action) holds no permission at all.
    let caller = response.extensions().get::<Arc<Principal>>().cloned();
    let policy = &*action.rt.policy;
    let hidden: Vec<&str> = action
        .minimized
        .iter()
        .filter(|(_, permission)| caller.as_deref().is_none_or(|caller| policy.reach(caller, permission).is_none()))
        .map(|(field, _)| *field)
        .collect();
    if hidden.is_empty() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let value = match body.collect().await {
        Ok(collected) => serde_json::from_slice::<Value>(&collected.to_bytes()).ok(),
        Err(_) => None,
    };
    let Some(mut value) = value else {
        // The answer cannot be read back: withhold it rather than send
        // fields the caller may not see.
        tracing::error!(target: "guard::minimize", action = action.spec.name, "a JSON answer could not be read back; withheld");
        let mut withheld = ActionError::new(Code::Unavailable).into_response();
        for name in [header::CACHE_CONTROL, header::HeaderName::from_static("x-request-id")] {
            if let Some(value) = parts.headers.get(&name) {
                withheld.headers_mut().insert(name, value.clone());
            }
        }
        return withheld;
    };
    strip(&mut value, &hidden);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, Body::from(value.to_string()))
}

/// Removes `hidden` fields from an object, from each object of an array,
/// and from each object of an object's `items` (a page).
fn strip(value: &mut Value, hidden: &[&str]) {
    match value {
        Value::Object(object) => {
            for field in hidden {
                object.remove(*field);
            }
            if let Some(items @ Value::Array(_)) = object.get_mut("items") {
                strip(items, hidden);
            }
        }
        Value::Array(items) => {
            for item in items {
                if let Value::Object(object) = item {
                    for field in hidden {
                        object.remove(*field);
                    }
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hidden_fields_leave_objects_arrays_and_pages() {
        let order = json!({ "id": 1, "address": "1 Main St", "item": "lamp" });
        let without = json!({ "id": 1, "item": "lamp" });
        let mut one = order.clone();
        strip(&mut one, &["address"]);
        assert_eq!(one, without);
        let mut list = json!([order.clone(), order.clone()]);
        strip(&mut list, &["address"]);
        assert_eq!(list, json!([without.clone(), without.clone()]));
        let mut page = json!({ "items": [order.clone()], "next": "abc" });
        strip(&mut page, &["address"]);
        assert_eq!(page, json!({ "items": [without.clone()], "next": "abc" }));
        // Only the top level of each object: a nested field of that name
        // belongs to another type.
        let mut nested = json!({ "id": 1, "shipment": { "address": "x" } });
        strip(&mut nested, &["address"]);
        assert_eq!(nested, json!({ "id": 1, "shipment": { "address": "x" } }));
        let mut scalar = json!("address");
        strip(&mut scalar, &["address"]);
        assert_eq!(scalar, json!("address"));
    }
}
