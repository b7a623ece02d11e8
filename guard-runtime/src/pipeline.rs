//! The order of the guard's steps for one request.
//!
//! Generated code makes one call, [`run`], with the action's extractors as a
//! tuple and its input type: the steps live here, compiled once per
//! signature, not once per action, and an action's own future has three
//! suspension points (guard, body, finish) instead of one per step.

use axum::body::Body;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::response::Response;
use axum::Json;

use crate::__private::JsonInput;
use crate::gate::Gate;
use crate::{Authorized, BoxFuture, CheckContext, CheckError, StoreFuture};

/// Reads the object key from an action's decoded input (`owner = "field"`
/// naming an input field).
pub(crate) type KeyFn<I> = fn(&I) -> Option<String>;

/// An action's custom check (`check = path`).
pub(crate) type CheckPtr = for<'a> fn(&'a CheckContext<'a>) -> BoxFuture<'a, Result<(), CheckError>>;

/// What an action adds to its spec for [`run`]: the pieces that need its
/// own types.
pub struct Plan<I> {
    /// Reads the input.
    pub read: ReadFn<I>,
    /// Where the object key comes from when it is an input field; `None`
    /// reads the path parameter the spec names (if any).
    pub key: Option<KeyFn<I>>,
    /// The custom check, if any.
    pub check: Option<CheckPtr>,
    /// The permissions the action requires (empty for public and
    /// authenticated-only actions).
    pub required: &'static [&'static str],
}

/// Reads an action's input from the body (step 7): [`no_input`] or
/// [`json_input`]. A function pointer rather than a trait bound on `run`,
/// so an input type that is not a `JsonInput` is one error, on the type.
pub(crate) type ReadFn<I> = for<'a> fn(&'a mut Gate, &'a Parts, Body) -> StoreFuture<'a, Result<I, Response>>;

/// The input of an action that takes none: the body is not read.
#[derive(Debug)]
pub struct NoInput;

/// The input reader of an action without input.
pub fn no_input<'a>(_: &'a mut Gate, _: &'a Parts, _: Body) -> StoreFuture<'a, Result<NoInput, Response>> {
    StoreFuture::ready(Ok(NoInput))
}

/// The input reader of an action with a `Json<T>` input: strict decoding.
pub fn json_input<'a, T: JsonInput>(
    gate: &'a mut Gate,
    parts: &'a Parts,
    body: Body,
) -> StoreFuture<'a, Result<Json<T>, Response>> {
    StoreFuture::new(async move { gate.decode(parts, body).await.map(Json) })
}

/// Steps 1 to 10 for one request: authentication to the allow record.
/// Returns the extracted parameters, the input, and (for actions that are
/// not public) the proof the body needs; or the refusal, already audited.
pub async fn run<E, I, S>(
    gate: &mut Gate,
    parts: &mut Parts,
    state: &S,
    body: Body,
    plan: Plan<I>,
) -> Result<(E, I, Option<Authorized>), Response>
where
    E: FromRequestParts<S> + Send,
    S: Send + Sync,
{
    gate.open(parts).await?;
    let extracted = gate.extract::<E, S>(parts, state).await?;
    let input = (plan.read)(gate, parts, body).await?;
    if gate.names_an_object() {
        match plan.key {
            Some(key_of) => {
                let key = key_of(&input);
                gate.resolve(key.as_deref()).await?;
            }
            None => {
                // Cannot fail for a matched route; if it did, the miss
                // denies as 404. The key is borrowed, not copied.
                let params = RawPathParams::from_request_parts(parts, &()).await.ok();
                let key = params.as_ref().and_then(|params| gate.path_key(params));
                gate.resolve(key).await?;
            }
        }
    }
    if let Some(check) = plan.check {
        // A retry must read 409 even if its first use changed what the
        // check sees; the atomic claim still happens after the check.
        gate.check_replay_unused().await?;
        let verdict = match gate.check_context(parts) {
            Some(context) => Some(check(&context).await),
            None => None,
        };
        gate.checked(verdict).await?;
    }
    if gate.is_public() {
        gate.admit_public().await?;
        Ok((extracted, input, None))
    } else {
        let authorized = gate.admit(plan.required).await?;
        Ok((extracted, input, Some(authorized)))
    }
}
