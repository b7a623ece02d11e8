//! Step 8: the object an action names (`owner = "..."` or `tenant = "..."`).
//!
//! The resolver loads the object's tenant and owner; an object of another
//! tenant, or another owner's where the action checks ownership, answers
//! exactly like a missing one (404), so a caller learns nothing about
//! objects it may not touch. An agent only ever touches its user's objects,
//! with `owner` or `tenant` alike.

use std::sync::Arc;

use super::{Refusal, Verdict};
use crate::{CallerKind, Code, ObjectMeta, Principal, Reach, Resolver};

/// Keys longer than this cannot name anything: answered like a miss.
const MAX_KEY_LEN: usize = 256;

/// What the object step needs of a mounted action: its resolver, and
/// whether it checks the owner or only the tenant.
pub(crate) struct ObjectRule {
    /// The resolver's resource name (`"orders"`), for audit records.
    pub(crate) resource: &'static str,
    pub(crate) resolver: Arc<dyn Resolver>,
    /// The path parameter that names the object; `None` when the key is an
    /// input field.
    pub(crate) param: Option<&'static str>,
    /// `owner = ...`: tenant and owner; `tenant = ...`: tenant only.
    pub(crate) owner: bool,
}

/// The key as sent, if it can name an object at all: 1 to 256 characters,
/// none of them control characters.
pub(crate) fn usable_key(key: Option<&str>) -> Option<&str> {
    key.filter(|k| !k.is_empty() && k.len() <= MAX_KEY_LEN && !k.chars().any(char::is_control))
}

/// Loads the object under `key` and checks that `principal` may touch it.
pub(crate) async fn check(
    rule: &ObjectRule,
    key: Option<&str>,
    principal: &Principal,
    reach: Reach,
) -> Verdict<ObjectMeta> {
    let not_found = || Refusal::code(Code::NotFound);
    let Some(key) = key else { return Err(not_found()) };
    let object = rule.resolver.resolve(key).await?.ok_or_else(not_found)?;
    let same_tenant = *object.tenant == *principal.tenant;
    // An agent acts only on its user's objects, whatever the action checks
    // and whatever reach a policy gives it.
    let must_own = principal.kind == CallerKind::Agent || (rule.owner && reach == Reach::Own);
    let owns = matches!((principal.owner_id(), object.owner.as_deref()), (Some(me), Some(owner)) if me == owner);
    if same_tenant && (owns || !must_own) {
        Ok(object)
    } else {
        Err(not_found())
    }
}

/// `resource/key`, the audit record's resource: built on the stack so it
/// costs one allocation, shared by every record of the request.
pub(crate) fn resource_id(resource: &str, key: &str) -> Arc<str> {
    let mut buf = [0u8; 64 + 1 + MAX_KEY_LEN];
    let len = resource.len() + 1 + key.len();
    match buf.get_mut(..len) {
        Some(out) => {
            out[..resource.len()].copy_from_slice(resource.as_bytes());
            out[resource.len()] = b'/';
            out[resource.len() + 1..].copy_from_slice(key.as_bytes());
            Arc::from(std::str::from_utf8(out).unwrap_or_default())
        }
        None => Arc::from([resource, "/", key].concat()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::from_fn;
    use crate::Delegation;

    fn rule(owner: bool) -> ObjectRule {
        let resolver = from_fn(|key: String| async move {
            Ok(match key.as_str() {
                "1" => Some(ObjectMeta::owned("acme", "alice")),
                "2" => Some(ObjectMeta::owned("globex", "dave")),
                _ => None,
            })
        });
        ObjectRule { resource: "orders", resolver: Arc::new(resolver), param: Some("order_id"), owner }
    }

    fn not_found<T>(verdict: Verdict<T>) -> bool {
        matches!(verdict, Err(Refusal::Denied(d)) if d.code == Code::NotFound)
    }

    #[tokio::test]
    async fn owners_and_tenant_wide_readers_pass_everyone_else_reads_a_miss() {
        let alice = Principal::user("alice", "acme", ["customer"]);
        let bob = Principal::user("bob", "acme", ["customer"]);
        assert!(check(&rule(true), Some("1"), &alice, Reach::Own).await.is_ok());
        assert!(not_found(check(&rule(true), Some("1"), &bob, Reach::Own).await));
        assert!(check(&rule(true), Some("1"), &bob, Reach::Tenant).await.is_ok());
        assert!(check(&rule(false), Some("1"), &bob, Reach::Own).await.is_ok());
        assert!(not_found(check(&rule(false), Some("2"), &bob, Reach::Tenant).await));
        assert!(not_found(check(&rule(true), Some("3"), &alice, Reach::Tenant).await));
        assert!(not_found(check(&rule(true), None, &alice, Reach::Tenant).await));
    }

    #[tokio::test]
    async fn an_agent_reaches_only_its_users_objects_even_by_tenant() {
        let for_bob = Delegation { user: "bob".into(), roles: vec!["customer".into()] };
        let agent = Principal::agent("helper", "acme", ["orders:*"], for_bob);
        assert!(not_found(check(&rule(false), Some("1"), &agent, Reach::Tenant).await), "alice's order");
        assert!(not_found(check(&rule(true), Some("1"), &agent, Reach::Tenant).await));
        let for_alice = Delegation { user: "alice".into(), roles: vec!["customer".into()] };
        let assistant = Principal::agent("assistant", "acme", ["orders:read"], for_alice);
        assert!(check(&rule(false), Some("1"), &assistant, Reach::Own).await.is_ok());
    }

    #[test]
    fn odd_keys_name_nothing() {
        let long = "9".repeat(MAX_KEY_LEN + 1);
        for key in ["", "a\u{0}b", "line\nbreak", long.as_str()] {
            assert_eq!(usable_key(Some(key)), None, "{key:?}");
        }
        assert_eq!(usable_key(Some("42")), Some("42"));
    }
}
