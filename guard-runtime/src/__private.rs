//! Paths generated code uses. Not public API: no stability promise.

pub use crate::gate::Gate;
pub use crate::mount::{GuardedAction, Routed, Sealed};
pub use crate::permission::is_required;
pub use crate::spec::{ActionSpec, Fresh, KeySource, ObjectSpec, PolicyKind};
pub use crate::BoxFuture;
pub use axum::body::Body;
pub use axum::extract::FromRequestParts;
pub use axum::http::request::Parts;
pub use axum::response::{IntoResponse, Response};
pub use axum::Json;
pub use core::{clone::Clone, marker::Send, marker::Sync, option::Option, result::Result};
pub use std::boxed::Box;

/// A JSON input type: decoded strictly, then serialized back to find
/// fields the client sent and the type does not know.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an action's JSON input",
    label = "an input type needs both `Deserialize` and `Serialize`",
    note = "add `#[derive(serde::Deserialize, serde::Serialize)]`: guard serializes the input back to refuse unknown fields, even through `#[serde(flatten)]`"
)]
pub trait JsonInput: serde::de::DeserializeOwned + serde::Serialize + Send + 'static {}
impl<T: serde::de::DeserializeOwned + serde::Serialize + Send + 'static> JsonInput for T {}

/// Asserts at compile time that a `Grant<P>` parameter's permission is
/// among the action's `requires`.
pub const fn assert_granted(name: &str, required: &[&str]) {
    assert!(
        is_required(name, required),
        "this action takes a `Grant` of a permission it does not require: add that permission to `requires = ...`, or drop the `Grant` parameter"
    );
}

/// An object key taken from an input field.
pub fn object_key<T: core::fmt::Display + ?Sized>(value: &T) -> Option<std::string::String> {
    Some(value.to_string())
}

/// Lets the macro name the `Authorized` type through this module.
pub use crate::Authorized;

/// The spec of an action whose attribute did not compile (never used: the
/// build fails on the attribute's errors).
pub fn fallback_spec() -> &'static ActionSpec {
    static SPEC: ActionSpec = ActionSpec {
        name: "invalid_action",
        route: None,
        policy: PolicyKind::Requires(&[]),
        callers: 0,
        fresh: Fresh::Any,
        replay: None,
        object: None,
        check: None,
        body_limit: None,
        input: false,
    };
    &SPEC
}

/// Refuses, for an action whose attribute did not compile.
pub fn fallback_call(mut gate: Gate) -> BoxFuture<'static, Response> {
    Box::pin(async move { gate.fail_closed().await })
}
