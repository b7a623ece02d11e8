//! Step 3: how recent the caller's authentication must be (`fresh`). A
//! refusal carries the RFC 9470 challenge (`max_age`), so a client knows
//! how recent an authentication to come back with.
//!
//! Only a session's authentication time is judged: a bearer request proves
//! its credential anew, so it is as fresh as it gets (the pipeline skips
//! this step for it).

use std::time::{Duration, SystemTime};

use super::{Denial, Refusal, Verdict};
use crate::error::StepUp;
use crate::Code;

/// Refuses an authentication made more than `max_age` before `now`.
pub(crate) fn check(max_age: Duration, authenticated_at: SystemTime, now: SystemTime) -> Verdict {
    // An authentication time in the future proves nothing about how recent
    // the authentication was (a skewed clock, a forged record): stale.
    match now.duration_since(authenticated_at) {
        Ok(age) if age <= max_age => Ok(()),
        _ => Err(Refusal::Denied(Denial {
            code: Code::ReauthRequired,
            detail: "This action needs a recent authentication: authenticate again.".into(),
            retry_after: None,
            step_up: Some(StepUp { max_age: Some(max_age.as_secs()), acr_values: None }),
            claim: None,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn refused(verdict: Verdict) -> bool {
        matches!(verdict, Err(Refusal::Denied(d)) if d.code == Code::ReauthRequired)
    }

    #[test]
    fn judges_the_age_of_a_session_against_the_limit() {
        let now = SystemTime::now();
        assert!(check(5 * MINUTE, now - 4 * MINUTE, now).is_ok());
        assert!(refused(check(5 * MINUTE, now - 6 * MINUTE, now)));
    }

    #[test]
    fn an_authentication_time_in_the_future_is_stale() {
        let now = SystemTime::now();
        assert!(refused(check(5 * MINUTE, now + Duration::from_secs(1), now)));
        assert!(refused(check(5 * MINUTE, now + 60 * MINUTE, now)));
        assert!(check(5 * MINUTE, now, now).is_ok(), "now itself is fresh");
    }
}
