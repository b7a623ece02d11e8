//! Step 7's first half: the action's own axum extractors (`State`, `Path`,
//! `Query`, ...). Their rejections keep guard's problem format and codes.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::IntoResponse;

use super::{Refusal, Verdict};
use crate::Code;

/// Runs the extractors `T` (a tuple of them) on the request's head.
pub(crate) async fn check<T, S>(parts: &mut Parts, state: &S) -> Verdict<T>
where
    T: FromRequestParts<S>,
    S: Send + Sync,
{
    match T::from_request_parts(parts, state).await {
        Ok(extracted) => Ok(extracted),
        Err(rejection) => Err(Refusal::code(Code::from_status(rejection.into_response().status()))),
    }
}
