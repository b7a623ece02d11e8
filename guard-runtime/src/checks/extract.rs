//! Step 7's first half: the action's own axum extractors (`State`, `Path`,
//! `Query`, ...). Their rejections keep guard's problem format and codes.

use axum::http::request::Parts;

use super::{Refusal, Verdict};
use crate::parameter::ActionParameters;
use crate::Code;

/// Runs the extractors `T` (a tuple of them) on the request's head.
pub(crate) async fn check<T, S>(parts: &mut Parts, state: &S) -> Verdict<T>
where
    T: ActionParameters<S>,
{
    T::extract_all(parts, state).await.map_err(|status| Refusal::code(Code::from_status(status)))
}
