//! Step 8's second half: a credential narrowed to one object (a token
//! minted for a downstream call carries it in its `guard_object` claim)
//! serves that object only. Another object is 404, like a miss; an action
//! that names no object (a listing, a create) is 403: the grant was for
//! one object, not for the collection.
//!
//! Any credential may carry the claim, from any issuer: it only ever
//! narrows what the credential could do without it.

use super::{Refusal, Verdict};
use crate::Code;

/// The claim naming the one object a narrowed credential is for, as
/// `resource/key` (`orders/42`).
pub(crate) const CLAIM: &str = "guard_object";

/// `bound` is the credential's claim, if any; `object` the `resource/key`
/// this request names, if any. A claim that is not a string narrows to
/// nothing: fail closed.
pub(crate) fn check(bound: Option<&serde_json::Value>, object: Option<&str>) -> Verdict {
    let Some(bound) = bound else { return Ok(()) };
    match (bound.as_str(), object) {
        (Some(bound), Some(object)) if bound == object => Ok(()),
        (_, Some(_)) => Err(Refusal::code(Code::NotFound)),
        (_, None) => Err(Refusal::code(Code::Forbidden)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code(verdict: Verdict) -> Option<Code> {
        match verdict {
            Ok(()) => None,
            Err(Refusal::Denied(denial)) => Some(denial.code),
            Err(Refusal::Unavailable(_)) => panic!("no store here"),
        }
    }

    #[test]
    fn a_narrowed_credential_serves_its_object_only() {
        assert_eq!(code(check(None, Some("orders/1"))), None, "not narrowed");
        assert_eq!(code(check(None, None)), None, "not narrowed");
        assert_eq!(code(check(Some(&json!("orders/1")), Some("orders/1"))), None);
        assert_eq!(code(check(Some(&json!("orders/1")), Some("orders/2"))), Some(Code::NotFound));
        assert_eq!(code(check(Some(&json!("orders/1")), Some("users/1"))), Some(Code::NotFound));
        assert_eq!(code(check(Some(&json!("orders/1")), None)), Some(Code::Forbidden), "a listing");
        assert_eq!(code(check(Some(&json!(1)), Some("orders/1"))), Some(Code::NotFound), "not a string");
        assert_eq!(code(check(Some(&json!(null)), None)), Some(Code::Forbidden));
    }
}
