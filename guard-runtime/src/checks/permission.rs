//! Step 6: the permissions an action requires (`requires = ...`), every
//! one of them, as the app's [`Policy`] grants them.

use super::{Refusal, Verdict};
use crate::{Code, Policy, Principal, Reach};

/// How far the caller's permissions reach: the narrowest reach among the
/// required ones. An empty list grants nothing (the macro never writes one:
/// `authenticated` actions skip this step).
pub(crate) fn check(policy: &dyn Policy, principal: &Principal, required: &[&str]) -> Verdict<Reach> {
    let reach = required
        .iter()
        .try_fold(Reach::Tenant, |narrowest, permission| policy.reach(principal, permission).map(|r| narrowest.min(r)));
    reach.filter(|_| !required.is_empty()).ok_or_else(|| Refusal::code(Code::Forbidden))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RolePolicy;

    #[test]
    fn every_required_permission_is_needed_and_the_narrowest_reach_wins() {
        let policy = RolePolicy::new().role("customer", ["orders:read"]).tenant_role("admin", ["orders:*"]);
        let carol = Principal::user("carol", "acme", ["admin", "customer"]);
        let alice = Principal::user("alice", "acme", ["customer"]);
        assert_eq!(check(&policy, &carol, &["orders:read", "orders:delete"]).unwrap(), Reach::Tenant);
        assert_eq!(check(&policy, &alice, &["orders:read"]).unwrap(), Reach::Own);
        assert!(matches!(
            check(&policy, &alice, &["orders:read", "orders:delete"]),
            Err(Refusal::Denied(d)) if d.code == Code::Forbidden
        ));
        assert!(check(&policy, &carol, &[]).is_err(), "an empty list grants nothing");
    }
}
