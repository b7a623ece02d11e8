//! Step 3's second half: how the caller authenticated (`acr = [...]`), for
//! actions that need a stronger authentication than a password (a phishing-
//! resistant one, say). The credential's `acr` claim must be one of the
//! listed classes; otherwise 401 `reauth_required` with the RFC 9470
//! challenge naming them (`acr_values`), and the freshness limit
//! (`max_age`) when the action has one.

use std::time::Duration;

use super::{Denial, Refusal, Verdict};
use crate::error::StepUp;
use crate::Code;

/// Admits a credential whose `acr` is one of `accepted`. `acr_values` is
/// the list as the challenge names it (space-separated).
pub(crate) fn check(
    accepted: &[&str],
    acr_values: &'static str,
    acr: Option<&str>,
    max_age: Option<Duration>,
) -> Verdict {
    if accepted.is_empty() || acr.is_some_and(|acr| accepted.contains(&acr)) {
        return Ok(());
    }
    Err(Refusal::Denied(Denial {
        code: Code::ReauthRequired,
        detail: "This action needs a stronger authentication: authenticate again.".into(),
        retry_after: None,
        step_up: Some(StepUp { max_age: max_age.map(|age| age.as_secs()), acr_values: Some(acr_values) }),
        claim: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_listed_class_passes_and_the_refusal_names_the_classes() {
        let accepted = ["phr", "phrh"];
        assert!(check(&accepted, "phr phrh", Some("phrh"), None).is_ok());
        assert!(check(&[], "", None, None).is_ok(), "no requirement");
        for acr in [None, Some("pwd"), Some("PHR")] {
            match check(&accepted, "phr phrh", acr, Some(Duration::from_secs(300))) {
                Err(Refusal::Denied(d)) => {
                    assert_eq!(d.code, Code::ReauthRequired);
                    assert_eq!(d.step_up, Some(StepUp { max_age: Some(300), acr_values: Some("phr phrh") }));
                }
                other => panic!("{acr:?} passed: {other:?}"),
            }
        }
    }
}
