//! From a verified token's claims to a [`Principal`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::permission::{covers, is_valid_pattern};
use crate::{CallerKind, Claims, Delegation, Principal, StoreError, StoreFuture};

/// A token whose signature, issuer, audience and times were verified: what
/// a [`MapClaims`] turns into a principal. Holds the claims, never the
/// token.
#[derive(Clone, Debug)]
pub struct VerifiedToken {
    claims: Claims,
    subject: String,
    credential_id: String,
    scopes: Vec<String>,
    expires_at: SystemTime,
}

impl VerifiedToken {
    pub(super) fn new(claims: Claims, token_hash: &str) -> Option<Self> {
        let subject = claims.get_str("sub").filter(|s| !s.is_empty())?.to_owned();
        let expires_at = seconds(claims.get("exp")?)?;
        // The credential id is the token's `jti`; without one, a prefix of
        // the token's hash (enough to revoke or correlate, not to replay).
        let credential_id = match claims.get_str("jti") {
            Some(jti) if !jti.is_empty() => jti.to_owned(),
            _ => format!("jwt:{}", token_hash.get(..16).unwrap_or(token_hash)),
        };
        let scopes = scopes(&claims);
        Some(VerifiedToken { claims, subject, credential_id, scopes, expires_at })
    }

    /// Every claim.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// The issuer (`iss`).
    pub fn issuer(&self) -> &str {
        self.claims.issuer().unwrap_or_default()
    }

    /// The subject (`sub`): the user an agent acts for, or the service.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The party acting for the subject (`act.sub`, RFC 8693), if any: an
    /// agent.
    pub fn actor(&self) -> Option<&str> {
        match self.claims.get("act") {
            Some(serde_json::Value::Object(act)) => act.get("sub").and_then(serde_json::Value::as_str),
            _ => None,
        }
    }

    /// The token's id (`jti`), or a prefix of its hash: never the token.
    pub fn credential_id(&self) -> &str {
        &self.credential_id
    }

    /// The token's scopes, from `scope` (space-separated) or `scp` (an
    /// array, or a string), keeping only well-formed permissions
    /// (`orders:read`, `orders:*`); `openid` and the like are left out.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The scopes of `registered` (the app's own grants for this subject)
    /// that the token's scopes cover: a token can only narrow what the app
    /// registered, never widen it. A registered `orders:*` narrowed by a
    /// token's `orders:read` is `orders:read`.
    pub fn narrow<S: AsRef<str>>(&self, registered: &[S]) -> Vec<String> {
        let mut kept = Vec::new();
        for scope in &self.scopes {
            for grant in registered {
                let grant = grant.as_ref();
                // The narrower of the two, when one covers the other.
                let narrower = if covers(grant, scope) {
                    scope.as_str()
                } else if covers(scope, grant) {
                    grant
                } else {
                    continue;
                };
                if !kept.iter().any(|k: &String| k == narrower) {
                    kept.push(narrower.to_owned());
                }
            }
        }
        kept
    }

    /// When it expires (`exp`).
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// When its subject authenticated: `auth_time`, else `iat`, else now.
    pub fn authenticated_at(&self) -> SystemTime {
        ["auth_time", "iat"]
            .into_iter()
            .find_map(|name| self.claims.get(name).and_then(seconds))
            .unwrap_or_else(SystemTime::now)
    }

    /// `principal` with what every JWT principal carries from its token:
    /// the claims, the credential id, the authentication time.
    pub fn stamp(&self, mut principal: Principal) -> Principal {
        principal.claims = self.claims.clone();
        principal.credential_id = self.credential_id.clone();
        principal.authenticated_at = self.authenticated_at();
        principal
    }
}

/// A NumericDate claim as a time.
pub(super) fn seconds(value: &serde_json::Value) -> Option<SystemTime> {
    let seconds = value.as_u64().or_else(|| value.as_f64().filter(|s| s.is_finite() && *s >= 0.0).map(|s| s as u64))?;
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

fn scopes(claims: &Claims) -> Vec<String> {
    let listed: Vec<&str> = match (claims.get("scope"), claims.get("scp")) {
        (Some(serde_json::Value::String(scope)), _) => scope.split_ascii_whitespace().collect(),
        (None, Some(serde_json::Value::Array(scp))) => scp.iter().filter_map(serde_json::Value::as_str).collect(),
        (None, Some(serde_json::Value::String(scp))) => scp.split_ascii_whitespace().collect(),
        _ => Vec::new(),
    };
    listed.into_iter().filter(|s| is_valid_pattern(s)).map(str::to_owned).collect()
}

/// Turns a verified token into a principal: the hook where an app maps a
/// token's subject to its own data.
///
/// `Ok(None)` refuses the token (401): the subject is unknown, or its
/// claims do not make a principal. `Err` is a store failure (503).
/// [`ClaimsMapping`], the default, reads everything from the token; an app
/// that keeps its accounts itself implements this trait, looks the
/// subject up, takes tenant and roles from its own records, and narrows
/// its registered scopes with [`VerifiedToken::narrow`]. Finish with
/// [`VerifiedToken::stamp`].
///
/// # Example
///
/// ```
/// use guard_runtime::authn::jwt::{MapClaims, VerifiedToken};
/// use guard_runtime::{Principal, StoreError, StoreFuture};
///
/// /// Service accounts the app registered, with their tenant and scopes.
/// struct Accounts;
///
/// impl MapClaims for Accounts {
///     fn map<'a>(&'a self, token: &'a VerifiedToken) -> StoreFuture<'a, Result<Option<Principal>, StoreError>> {
///         let found = match token.subject() {
///             "ci-deployer" => Some(("acme", vec!["deploys:*"])),
///             _ => None,
///         };
///         StoreFuture::ready(Ok(found.map(|(tenant, registered)| {
///             token.stamp(Principal::service(token.subject(), tenant, token.narrow(&registered)))
///         })))
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot map JWT claims to a guard principal",
    label = "expected a `guard_runtime::authn::jwt::MapClaims`, such as `ClaimsMapping`",
    note = "implement `guard_runtime::authn::jwt::MapClaims`; its documentation (`cargo doc -p guard-runtime --open`) says what to implement"
)]
pub trait MapClaims: Send + Sync + 'static {
    /// The principal `token` stands for, or `None` to refuse it.
    fn map<'a>(&'a self, token: &'a VerifiedToken) -> StoreFuture<'a, Result<Option<Principal>, StoreError>>;

    /// Whether the principal depends on the token alone, so it may be
    /// cached with the verified token until it expires. `false` (the
    /// default): `map` runs on every request, so the app's own data
    /// (a role taken away, an account disabled) applies at once.
    fn depends_on_token_alone(&self) -> bool {
        false
    }
}

/// Which kind of caller a token's subject is.
#[derive(Clone, Debug)]
enum KindRule {
    Fixed(CallerKind),
    Claim(String),
}

/// Which tenant a token's subject belongs to.
#[derive(Clone, Debug)]
enum TenantRule {
    Fixed(String),
    Claim(String),
}

/// The default [`MapClaims`]: the principal from the token's claims alone.
///
/// - A token with an `act` claim (RFC 8693) is an agent, `act.sub`, acting
///   for the user `sub`, with the token's roles as that user's roles: its
///   permissions are its scopes intersected with the user's.
/// - Otherwise `sub` is of the configured kind: a service by default, or
///   per a claim naming `user`, `service` or `agent` ([`kind_claim`]).
/// - The tenant is the `tenant` claim, or another, or fixed per issuer.
///   A token without one is refused.
/// - Scopes from `scope` or `scp`; roles from `roles`.
///
/// [`kind_claim`]: ClaimsMapping::kind_claim
#[derive(Clone, Debug)]
pub struct ClaimsMapping {
    kind: KindRule,
    tenant: TenantRule,
    roles: String,
}

impl Default for ClaimsMapping {
    fn default() -> Self {
        ClaimsMapping {
            kind: KindRule::Fixed(CallerKind::Service),
            tenant: TenantRule::Claim("tenant".into()),
            roles: "roles".into(),
        }
    }
}

impl ClaimsMapping {
    /// The default mapping.
    pub fn new() -> Self {
        ClaimsMapping::default()
    }

    /// Every subject of this issuer is of `kind` (unless the token has an
    /// `act` claim: then it is an agent's).
    pub fn kind(mut self, kind: CallerKind) -> Self {
        self.kind = KindRule::Fixed(kind);
        self
    }

    /// The subject's kind is the claim `name` (`"user"`, `"service"` or
    /// `"agent"`); a token without it, or with another value, is refused.
    pub fn kind_claim(mut self, name: impl Into<String>) -> Self {
        self.kind = KindRule::Claim(name.into());
        self
    }

    /// Every subject of this issuer belongs to `tenant`.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = TenantRule::Fixed(tenant.into());
        self
    }

    /// The tenant is the claim `name` (default `tenant`).
    pub fn tenant_claim(mut self, name: impl Into<String>) -> Self {
        self.tenant = TenantRule::Claim(name.into());
        self
    }

    /// The roles are the claim `name` (default `roles`), an array of strings.
    pub fn roles_claim(mut self, name: impl Into<String>) -> Self {
        self.roles = name.into();
        self
    }

    /// The principal of `token`, if its claims make one.
    pub fn principal(&self, token: &VerifiedToken) -> Option<Principal> {
        let claims = token.claims();
        let tenant = match &self.tenant {
            TenantRule::Fixed(tenant) => tenant.as_str(),
            TenantRule::Claim(name) => claims.get_str(name).filter(|t| !t.is_empty())?,
        };
        let roles: Vec<String> = match claims.get(&self.roles) {
            Some(serde_json::Value::Array(roles)) => {
                roles.iter().filter_map(serde_json::Value::as_str).map(str::to_owned).collect()
            }
            None => Vec::new(),
            Some(_) => return None,
        };
        let scopes = token.scopes().to_vec();
        let principal = if claims.get("act").is_some() {
            // Delegation: an `act` that names no actor is no principal.
            let agent = token.actor().filter(|a| !a.is_empty())?;
            Principal::agent(agent, tenant, scopes, Delegation { user: token.subject().to_owned(), roles })
        } else {
            let kind = match &self.kind {
                KindRule::Fixed(kind) => *kind,
                KindRule::Claim(name) => CallerKind::from_name(claims.get_str(name)?)?,
            };
            match kind {
                CallerKind::User => Principal { scopes, ..Principal::user(token.subject(), tenant, roles) },
                CallerKind::Service => Principal::service(token.subject(), tenant, scopes),
                // An agent names the user it acts for, with `act`.
                CallerKind::Agent => return None,
            }
        };
        Some(token.stamp(principal))
    }
}

impl MapClaims for ClaimsMapping {
    fn map<'a>(&'a self, token: &'a VerifiedToken) -> StoreFuture<'a, Result<Option<Principal>, StoreError>> {
        StoreFuture::ready(Ok(self.principal(token)))
    }

    fn depends_on_token_alone(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn token(claims: serde_json::Value) -> VerifiedToken {
        VerifiedToken::new(serde_json::from_value(claims).expect("claims"), &"ab".repeat(32)).expect("token")
    }

    #[test]
    fn scope_and_scp_both_give_scopes() {
        let t = token(json!({"sub": "s", "exp": 1, "scope": "openid orders:read orders:*"}));
        assert_eq!(t.scopes(), ["orders:read", "orders:*"]);
        let t = token(json!({"sub": "s", "exp": 1, "scp": ["orders:write", "profile"]}));
        assert_eq!(t.scopes(), ["orders:write"]);
    }

    #[test]
    fn a_token_only_narrows_registered_scopes() {
        let t = token(json!({"sub": "s", "exp": 1, "scope": "orders:read deploys:*"}));
        assert_eq!(t.narrow(&["orders:*", "deploys:run"]), ["orders:read", "deploys:run"]);
        assert!(t.narrow(&["users:read"]).is_empty());
    }

    #[test]
    fn act_makes_an_agent_for_the_subject() {
        let t = token(json!({"sub": "alice", "exp": 1, "tenant": "acme", "roles": ["customer"],
            "scope": "orders:*", "act": {"sub": "agent-7"}, "jti": "t-1"}));
        let p = ClaimsMapping::new().principal(&t).expect("principal");
        assert_eq!((p.kind, p.id.as_str(), p.credential_id.as_str()), (CallerKind::Agent, "agent-7", "t-1"));
        assert_eq!(p.on_behalf_of, Some(Delegation { user: "alice".into(), roles: vec!["customer".into()] }));
        assert_eq!(p.claims.act_chain(), ["agent-7"]);
    }

    #[test]
    fn what_does_not_make_a_principal_is_refused() {
        let m = ClaimsMapping::new();
        assert!(m.principal(&token(json!({"sub": "s", "exp": 1}))).is_none(), "no tenant");
        assert!(m.principal(&token(json!({"sub": "s", "exp": 1, "tenant": "t", "act": {}}))).is_none());
        let by_claim = ClaimsMapping::new().kind_claim("kind");
        assert!(by_claim.principal(&token(json!({"sub": "s", "exp": 1, "tenant": "t"}))).is_none());
        assert!(by_claim.principal(&token(json!({"sub": "s", "exp": 1, "tenant": "t", "kind": "agent"}))).is_none());
        let user = by_claim.principal(&token(json!({"sub": "s", "exp": 1, "tenant": "t", "kind": "user"})));
        assert_eq!(user.map(|p| p.kind), Some(CallerKind::User));
        assert!(VerifiedToken::new(Claims::new(), "x").is_none(), "no subject");
    }
}
