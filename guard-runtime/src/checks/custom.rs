//! Step 9: the action's own check (`check = path`): workflow state,
//! environment binding, anything the object's attributes decide.

use super::{Refusal, Verdict};
use crate::{BoxFuture, CheckContext, CheckError, Code};

/// An action's custom check, as the macro wraps it.
pub(crate) type CheckFn = for<'a> fn(&'a CheckContext<'a>) -> BoxFuture<'a, Result<(), CheckError>>;

/// Runs the check: its refusal is a 403 with its detail; a check that
/// could not decide fails closed (503).
pub(crate) async fn check(check: CheckFn, context: &CheckContext<'_>) -> Verdict {
    match check(context).await {
        Ok(()) => Ok(()),
        Err(CheckError::Denied(detail)) => Err(Refusal::detailed(Code::Forbidden, detail)),
        Err(CheckError::Unavailable(err)) => Err(Refusal::Unavailable(err)),
    }
}
