//! Step 6's second half: credential binding (`bind(environment =
//! "production", ...)`). The credential must carry each named claim with
//! exactly the given value: a CI job's OIDC token is only good for the
//! environment, repository or branch the action names.
//!
//! A mismatch is 403 `binding_failed`. The audit record names the claim
//! that failed; the answer names none and shows no claim values.

use super::{Denial, Refusal, Verdict};
use crate::Code;

/// Checks every `(claim, value)` pair against the credential's claims
/// (`claim(name)` reads one as a string). The first that is missing or
/// differs refuses, naming that claim for the audit record.
pub(crate) fn check<'c>(required: &[(&'static str, &'static str)], claim: impl Fn(&str) -> Option<&'c str>) -> Verdict {
    match required.iter().find(|(name, value)| claim(name) != Some(*value)) {
        None => Ok(()),
        Some((name, _)) => Err(Refusal::Denied(Denial {
            code: Code::BindingFailed,
            detail: "The credential is not bound to what this action requires.".into(),
            retry_after: None,
            step_up: None,
            claim: Some(name),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> {
        move |name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    #[test]
    fn every_bound_claim_must_match_exactly() {
        let required = [("environment", "production"), ("repository", "acme/shop")];
        assert!(check(&required, claims(&[("environment", "production"), ("repository", "acme/shop")])).is_ok());
        for (sent, failed) in [
            (&[("environment", "staging"), ("repository", "acme/shop")][..], "environment"),
            (&[("environment", "production")][..], "repository"),
            (&[("environment", "Production"), ("repository", "acme/shop")][..], "environment"),
            (&[][..], "environment"),
        ] {
            match check(&required, claims(sent)) {
                Err(Refusal::Denied(d)) => {
                    assert_eq!(d.code, Code::BindingFailed);
                    assert_eq!(d.claim, Some(failed), "{sent:?}");
                    assert!(!d.detail.contains("production") && !d.detail.contains("staging"), "no values leak");
                }
                other => panic!("{sent:?} passed: {other:?}"),
            }
        }
        assert!(check(&[], claims(&[])).is_ok(), "no binding, nothing to check");
    }
}
