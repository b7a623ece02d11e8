//! Paths generated code uses, and the macro's output format (the
//! [`ActionSpec`] it writes). Not public API: no stability promise.

pub use crate::checks::{Denial, Refusal, Verdict};
pub use crate::form::Form;
pub use crate::gate::Gate;
pub use crate::input_schema::{SchemaFn, SchemaProbe};

/// The probe's three traits, imported together by generated code.
pub mod schema_probe {
    pub use crate::input_schema::{HasJsonSchema, HasNoInput, LacksJsonSchema};
}
pub use crate::mount::{GuardedAction, Routed, Sealed};
pub use crate::permission::is_required;
pub use crate::pipeline::{
    form_digest, form_input, json_digest, json_input, no_input, no_input_digest, run, run_public, DigestFn, KeyFn,
    NoInput, Plan, ReadFn,
};
pub use crate::principal::CallerSet;
pub use crate::resolve::{
    owner_names_a_route_parameter_or_an_input_field_of, tenant_names_a_route_parameter_or_an_input_field_of, OwnerKey,
    TenantKey,
};
pub use crate::runtime::Mounted;
pub use crate::spec::{ActionSpec, Fresh, InputMedia, KeySource, ObjectSpec, PolicyKind};
pub use crate::BoxFuture;
use crate::{CheckContext, CheckError};
pub use axum::body::Body;
pub use axum::extract::FromRequestParts;
pub use axum::http::request::Parts;
pub use axum::response::{IntoResponse, Response};
pub use axum::Json;
pub use core::{clone::Clone, marker::Send, marker::Sync, option::Option, result::Result};
pub use std::boxed::Box;
pub use std::sync::Arc;

/// A `Loaded<T>` parameter: the object the resolver attached, moved out of
/// the proof; `None` (the action answers 503) if it attached no `T`.
pub fn take_loaded<T: LoadableObject>(auth: &mut crate::Authorized) -> Option<crate::Loaded<T>> {
    auth.take_loaded()
}

/// The type of a `Loaded<T>` parameter: one object, made by the resolver
/// on one thread and used by the body on another.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a `Loaded` object: the resolver makes it and the body uses it, maybe on another thread",
    label = "a loaded object must be `Send + Sync + 'static`",
    note = "share its parts with `Arc` (not `Rc`), guard them with `Mutex` (not `RefCell`), and own its data (no borrowed fields)"
)]
pub trait LoadableObject: Send + Sync + 'static {}
#[diagnostic::do_not_recommend]
impl<T: Send + Sync + 'static> LoadableObject for T {}

/// A JSON or form input type: decoded strictly, then serialized back to
/// find fields the client sent and the type does not know.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an action's input",
    label = "an input type needs both `Deserialize` and `Serialize`",
    note = "add `#[derive(serde::Deserialize, serde::Serialize)]`: guard serializes the input back to refuse unknown fields, even through `#[serde(flatten)]`"
)]
pub trait JsonInput: serde::de::DeserializeOwned + serde::Serialize + Send + 'static {}
#[diagnostic::do_not_recommend]
impl<T: serde::de::DeserializeOwned + serde::Serialize + Send + 'static> JsonInput for T {}

/// A custom check (`check = path`): an
/// `async fn(&CheckContext<'_>) -> Result<(), CheckError>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an action's `check`",
    label = "expected an `async fn(&CheckContext<'_>) -> Result<(), CheckError>`",
    note = "write the check as `async fn name(context: &guard_runtime::CheckContext<'_>) -> Result<(), guard_runtime::CheckError>`"
)]
pub trait CheckFn<'a> {
    /// Runs the check. Boxed, so a wrong check is one error, not two.
    fn call(self, context: &'a CheckContext<'a>) -> BoxFuture<'a, Result<(), CheckError>>;
}

#[diagnostic::do_not_recommend]
impl<'a, F, Fut> CheckFn<'a> for F
where
    F: FnOnce(&'a CheckContext<'a>) -> Fut,
    Fut: core::future::Future<Output = Result<(), CheckError>> + Send + 'a,
{
    fn call(self, context: &'a CheckContext<'a>) -> BoxFuture<'a, Result<(), CheckError>> {
        Box::pin(self(context))
    }
}

/// An action's return type: anything axum can turn into a response.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an action's response",
    label = "this return type does not implement `axum::response::IntoResponse`",
    note = "return a type that does, such as `Json<T>`, `String` or `Result<Json<T>, guard_runtime::ActionError>`, or implement `IntoResponse` for `{Self}`"
)]
pub trait Respond {
    /// Turns the body's output into the response.
    fn respond(self) -> Response;
}

#[diagnostic::do_not_recommend]
impl<T: IntoResponse> Respond for T {
    fn respond(self) -> Response {
        self.into_response()
    }
}

/// Lets the macro name the `Authorized` type through this module.
pub use crate::Authorized;

/// The spec of an action whose attribute did not compile (never used: the
/// build fails on the attribute's errors).
pub fn fallback_spec() -> &'static ActionSpec {
    static SPEC: ActionSpec = ActionSpec { name: "invalid_action", ..ActionSpec::NONE };
    &SPEC
}

/// Refuses, for an action whose attribute did not compile.
pub fn fallback_call(action: Arc<Mounted>, parts: Parts) -> BoxFuture<'static, Response> {
    Box::pin(async move {
        let mut gate = Gate::new(action, &parts);
        gate.fail_closed().await
    })
}
