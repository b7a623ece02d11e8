//! Which permissions a principal holds, and over which objects.

use crate::fast_map::FastMap;
use crate::permission::{covers, is_valid_pattern};
use crate::principal::{CallerKind, Principal};

/// How far a held permission reaches inside the caller's tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reach {
    /// Only objects the caller (or an agent's user) owns.
    Own,
    /// Every object of the caller's tenant.
    Tenant,
}

/// Decides whether a principal holds a permission.
///
/// [`RolePolicy`] is the built-in implementation; implement this trait to
/// plug in another source of truth. Returning `None` denies (403).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a guard policy",
    label = "expected a `guard_runtime::Policy`, such as `RolePolicy`",
    note = "implement `guard_runtime::Policy`; its documentation (`cargo doc -p guard-runtime --open`) says what to implement"
)]
pub trait Policy: Send + Sync + 'static {
    /// The reach `principal` has for the concrete `permission`, or `None`.
    fn reach(&self, principal: &Principal, permission: &str) -> Option<Reach>;
}

/// Roles mapped to permissions, with wildcards on the grant side.
///
/// * a **user** holds what its roles grant, with the reach the role gives
///   ([`RolePolicy::role`]: own objects, [`RolePolicy::tenant_role`]: the whole tenant);
/// * a **service** holds its scopes across its tenant (it owns nothing);
/// * an **agent** holds only what both its scopes and its user's roles grant,
///   and only over its user's own objects.
///
/// # Example
///
/// ```
/// use guard_runtime::{Principal, Delegation, Policy, Reach, RolePolicy};
///
/// let policy = RolePolicy::new()
///     .role("customer", ["orders:read", "orders:write"])
///     .tenant_role("admin", ["orders:*"]);
/// let alice = Principal::user("alice", "acme", ["customer"]);
/// assert_eq!(policy.reach(&alice, "orders:write"), Some(Reach::Own));
/// assert_eq!(policy.reach(&alice, "orders:delete"), None);
///
/// let agent = Principal::agent("bot", "acme", ["orders:*"],
///     Delegation { user: "alice".into(), roles: vec!["customer".into()] });
/// assert_eq!(policy.reach(&agent, "orders:read"), Some(Reach::Own));
/// assert_eq!(policy.reach(&agent, "orders:delete"), None); // alice cannot
/// ```
#[derive(Clone, Debug, Default)]
pub struct RolePolicy {
    roles: FastMap<String, Vec<(String, Reach)>>,
}

impl RolePolicy {
    /// An empty policy: denies everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// Grants `permissions` to `role` over the holder's own objects.
    ///
    /// # Panics
    ///
    /// At startup, if a permission is not `resource:verb`, `resource:*` or `*`.
    pub fn role<I, P>(self, role: &str, permissions: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        self.grant(role, permissions, Reach::Own)
    }

    /// Grants `permissions` to `role` over every object of the holder's tenant.
    ///
    /// # Panics
    ///
    /// At startup, if a permission is not `resource:verb`, `resource:*` or `*`.
    pub fn tenant_role<I, P>(self, role: &str, permissions: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        self.grant(role, permissions, Reach::Tenant)
    }

    fn grant<I, P>(mut self, role: &str, permissions: I, reach: Reach) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        let entry = self.roles.entry(role.to_owned()).or_default();
        for permission in permissions {
            let permission = permission.into();
            assert!(
                is_valid_pattern(&permission),
                "role `{role}`: `{permission}` is not a permission; write `resource:verb`, `resource:*` or `*`"
            );
            entry.push((permission, reach));
        }
        self
    }

    fn role_reach(&self, roles: &[String], permission: &str) -> Option<Reach> {
        roles
            .iter()
            .filter_map(|role| self.roles.get(role))
            .flatten()
            .filter(|(pattern, _)| covers(pattern, permission))
            .map(|&(_, reach)| reach)
            .max()
    }
}

fn scopes_cover(scopes: &[String], permission: &str) -> bool {
    scopes.iter().any(|scope| covers(scope, permission))
}

impl Policy for RolePolicy {
    fn reach(&self, principal: &Principal, permission: &str) -> Option<Reach> {
        match principal.kind {
            CallerKind::User => self.role_reach(&principal.roles, permission),
            CallerKind::Service => scopes_cover(&principal.scopes, permission).then_some(Reach::Tenant),
            CallerKind::Agent => {
                let user = principal.on_behalf_of.as_ref()?;
                if !scopes_cover(&principal.scopes, permission) {
                    return None;
                }
                // The intersection: the user must hold it too, and the agent
                // only ever reaches its user's own objects.
                self.role_reach(&user.roles, permission).map(|_| Reach::Own)
            }
        }
    }
}

impl<P: Policy> Policy for std::sync::Arc<P> {
    fn reach(&self, principal: &Principal, permission: &str) -> Option<Reach> {
        (**self).reach(principal, permission)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::Delegation;

    fn policy() -> RolePolicy {
        RolePolicy::new()
            .role("customer", ["orders:read", "orders:write"])
            .tenant_role("support", ["orders:read"])
            .tenant_role("admin", ["orders:*"])
    }

    #[test]
    fn users_take_the_widest_reach_of_their_roles() {
        let p = policy();
        let both = Principal::user("x", "t", ["customer", "support"]);
        assert_eq!(p.reach(&both, "orders:read"), Some(Reach::Tenant));
        assert_eq!(p.reach(&both, "orders:write"), Some(Reach::Own));
        assert_eq!(p.reach(&both, "orders:delete"), None);
        let nobody = Principal::user("y", "t", ["ghost"]);
        assert_eq!(p.reach(&nobody, "orders:read"), None);
    }

    #[test]
    fn services_reach_their_tenant_within_scopes() {
        let svc = Principal::service("svc", "t", ["orders:read"]);
        assert_eq!(policy().reach(&svc, "orders:read"), Some(Reach::Tenant));
        assert_eq!(policy().reach(&svc, "orders:write"), None);
    }

    #[test]
    fn agents_get_the_intersection_and_only_own_objects() {
        let admin_agent = Principal::agent(
            "a",
            "t",
            ["orders:read"],
            Delegation { user: "carol".into(), roles: vec!["admin".into()] },
        );
        assert_eq!(policy().reach(&admin_agent, "orders:read"), Some(Reach::Own));
        assert_eq!(policy().reach(&admin_agent, "orders:write"), None, "scope lacks it");
        let wide = Principal::agent("b", "t", ["*"], Delegation { user: "bob".into(), roles: vec!["customer".into()] });
        assert_eq!(policy().reach(&wide, "orders:delete"), None, "user lacks it");
        let orphan = Principal { on_behalf_of: None, ..wide };
        assert_eq!(policy().reach(&orphan, "orders:read"), None, "an agent without a user holds nothing");
    }
}
