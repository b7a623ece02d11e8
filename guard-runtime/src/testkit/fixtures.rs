//! What the sweep needs to know about the app under test: its policy, its
//! principals and their credentials, how to create objects, and how to fill
//! each action's path and body.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use serde_json::Value;

use super::{Attack, AuditSource};
use crate::{BoxFuture, Policy, Principal};

/// A credential a request presents: a bearer token, or a session cookie and
/// its CSRF token.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// Sent as `Authorization: Bearer <token>`.
    Bearer(String),
    /// Sent as the `Cookie` header; `csrf` goes in `x-csrf-token` on unsafe
    /// methods (unless the attack is about leaving it out).
    Session {
        /// The whole `Cookie` header value, such as `guard_session=ab12…`.
        cookie: String,
        /// The session's CSRF token.
        csrf: String,
    },
}

impl Credential {
    /// A bearer token (API key, agent token).
    pub fn bearer(token: impl Into<String>) -> Self {
        Credential::Bearer(token.into())
    }

    /// A cookie session: the `Cookie` header value and the session's CSRF
    /// token. A `Set-Cookie` value is accepted too; its attributes are dropped.
    pub fn session(cookie: impl Into<String>, csrf: impl Into<String>) -> Self {
        let cookie = cookie.into();
        let cookie = cookie.split(';').next().unwrap_or_default().trim().to_owned();
        Credential::Session { cookie, csrf: csrf.into() }
    }

    /// `"bearer"` or `"session"`, for the report.
    pub fn mechanism(&self) -> &'static str {
        match self {
            Credential::Bearer(_) => "bearer",
            Credential::Session { .. } => "session",
        }
    }
}

/// Redacted: credentials are secrets, even in tests' output.
impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credential::{}(<redacted>)", self.mechanism())
    }
}

type Mint = Arc<dyn Fn() -> BoxFuture<'static, Credential> + Send + Sync>;
type Factory = Arc<dyn Fn(Principal) -> BoxFuture<'static, String> + Send + Sync>;

/// Where a caller's credential comes from: given, or minted once per sweep.
#[derive(Clone)]
pub(crate) enum Source {
    Given(Credential),
    Mint(Mint),
}

impl Source {
    pub(crate) async fn get(&self) -> Credential {
        match self {
            Source::Given(credential) => credential.clone(),
            Source::Mint(mint) => mint().await,
        }
    }
}

fn mint<F, Fut>(f: F) -> Source
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Credential> + Send + 'static,
{
    Source::Mint(Arc::new(move || Box::pin(f())))
}

/// A registered principal and its credential.
#[derive(Clone)]
pub(crate) struct CallerFixture {
    pub(crate) principal: Principal,
    pub(crate) source: Source,
}

/// How to fill one action's request: path parameters, a valid JSON body,
/// and attacks to skip (with the reason, which the report shows).
///
/// ```
/// use guard_runtime::testkit::{ActionFixture, Attack};
/// let fixture = ActionFixture::new()
///     .param("version", "2")
///     .body(serde_json::json!({ "address": "1 Main St" }))
///     .skip(Attack::ReplayReused, "the first use needs a payment provider");
/// # let _ = fixture;
/// ```
#[derive(Clone, Debug, Default)]
pub struct ActionFixture {
    pub(crate) params: HashMap<String, String>,
    pub(crate) body: Option<Value>,
    pub(crate) skips: Vec<(Attack, String)>,
}

impl ActionFixture {
    /// No parameters, body `{}`, nothing skipped.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of path parameter `name` (default `1`). The parameter that
    /// names the action's object is always filled with a created object's key.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.insert(name.into(), value.into());
        self
    }

    /// A JSON body the action accepts (default `{}`). When the object key is
    /// an input field, the sweep sets that field to each created object's
    /// key (as a number if the template's value there is a number).
    pub fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// Does not run `attack` on this action; the report lists it as skipped
    /// with `reason`.
    pub fn skip(mut self, attack: Attack, reason: impl Into<String>) -> Self {
        self.skips.push((attack, reason.into()));
        self
    }
}

/// Everything the sweep knows about the app beyond its manifest.
///
/// Register every principal the app has fixtures for with
/// [`Fixtures::caller`]; the sweep asks the app's [`Policy`] which of them
/// hold each action's permissions, and picks for each attack the caller
/// that isolates it (a holder of another kind, a non-holder, an own-only
/// holder, one of another tenant…). The more varied the principals, the
/// more attacks run; an attack without a fitting principal is reported as
/// `uncovered`, never dropped.
///
/// Principals must describe what the app's authenticator returns for their
/// credentials (tenant, roles, scopes, delegation).
#[derive(Clone)]
pub struct Fixtures {
    pub(crate) policy: Arc<dyn Policy>,
    pub(crate) audit: Option<AuditSource>,
    pub(crate) callers: Vec<CallerFixture>,
    pub(crate) stale: Vec<CallerFixture>,
    pub(crate) revoked: Vec<(String, Source)>,
    pub(crate) expired_tokens: Vec<(String, Source)>,
    pub(crate) wrong_audience: Vec<(String, Source)>,
    pub(crate) unbound: Vec<CallerFixture>,
    pub(crate) weak_acr: Vec<CallerFixture>,
    pub(crate) factories: HashMap<String, Factory>,
    pub(crate) actions: HashMap<String, ActionFixture>,
}

impl fmt::Debug for Fixtures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fixtures")
            .field("callers", &self.callers.iter().map(|c| &c.principal.id).collect::<Vec<_>>())
            .field("stale", &self.stale.iter().map(|c| &c.principal.id).collect::<Vec<_>>())
            .field("revoked", &self.revoked.iter().map(|(label, _)| label).collect::<Vec<_>>())
            .field("resources", &self.factories.keys().collect::<Vec<_>>())
            .field("actions", &self.actions)
            .finish_non_exhaustive()
    }
}

impl Fixtures {
    /// Fixtures for an app whose permissions `policy` decides: pass the same
    /// policy the app mounts with.
    pub fn new(policy: impl Policy) -> Self {
        Fixtures {
            policy: Arc::new(policy),
            audit: None,
            callers: Vec::new(),
            stale: Vec::new(),
            revoked: Vec::new(),
            expired_tokens: Vec::new(),
            wrong_audience: Vec::new(),
            unbound: Vec::new(),
            weak_acr: Vec::new(),
            factories: HashMap::new(),
            actions: HashMap::new(),
        }
    }

    /// Where the app's decision records can be read back (required: every
    /// row checks its deny record, and that no allow record was written).
    pub fn audit(mut self, audit: AuditSource) -> Self {
        self.audit = Some(audit);
        self
    }

    /// A principal and a credential that authenticates as it, now.
    pub fn caller(mut self, principal: Principal, credential: Credential) -> Self {
        self.callers.push(CallerFixture { principal, source: Source::Given(credential) });
        self
    }

    /// A principal and a way to mint its credential (a login, a token
    /// issue); called once per sweep, before the first request.
    pub fn caller_with<F, Fut>(mut self, principal: Principal, mint_credential: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Credential> + Send + 'static,
    {
        self.callers.push(CallerFixture { principal, source: mint(mint_credential) });
        self
    }

    /// A credential of `principal` whose authentication is older than any
    /// `fresh` action allows (a session logged in long ago): each `fresh`
    /// action must answer 401 `reauth_required`.
    pub fn stale(mut self, principal: Principal, credential: Credential) -> Self {
        self.stale.push(CallerFixture { principal, source: Source::Given(credential) });
        self
    }

    /// Like [`Fixtures::stale`], minted once per sweep.
    pub fn stale_with<F, Fut>(mut self, principal: Principal, mint_credential: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Credential> + Send + 'static,
    {
        self.stale.push(CallerFixture { principal, source: mint(mint_credential) });
        self
    }

    /// A credential that once worked and no longer does (expired, logged
    /// out, rotated, revoked): every action must answer 401. `label` names it
    /// in the report. A garbage bearer token is always tried as well.
    pub fn revoked(mut self, label: impl Into<String>, credential: Credential) -> Self {
        self.revoked.push((label.into(), Source::Given(credential)));
        self
    }

    /// Like [`Fixtures::revoked`], minted once per sweep (log in, then log out).
    pub fn revoked_with<F, Fut>(mut self, label: impl Into<String>, mint_credential: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Credential> + Send + 'static,
    {
        self.revoked.push((label.into(), mint(mint_credential)));
        self
    }

    /// A JWT from a trusted issuer whose `exp` has passed: every guarded
    /// action must answer 401. Without one, the sweep reports the
    /// `expired_token` rows as not applicable (an app that takes no JWTs).
    pub fn expired_token(mut self, label: impl Into<String>, credential: Credential) -> Self {
        self.expired_tokens.push((label.into(), Source::Given(credential)));
        self
    }

    /// A JWT from a trusted issuer minted for another audience: every
    /// guarded action must answer 401.
    pub fn wrong_audience(mut self, label: impl Into<String>, credential: Credential) -> Self {
        self.wrong_audience.push((label.into(), Source::Given(credential)));
        self
    }

    /// A caller whose credential lacks (or contradicts) the claims the
    /// actions' `bind(...)` names, though it holds their permissions: each
    /// bound action must answer 403 `binding_failed`.
    pub fn unbound(mut self, principal: Principal, credential: Credential) -> Self {
        self.unbound.push(CallerFixture { principal, source: Source::Given(credential) });
        self
    }

    /// A caller whose credential's `acr` is not one the actions' `acr = [...]`
    /// accepts: each such action must answer 401 `reauth_required`.
    pub fn weak_acr(mut self, principal: Principal, credential: Credential) -> Self {
        self.weak_acr.push(CallerFixture { principal, source: Source::Given(credential) });
        self
    }

    /// How to create an object of `resource` (a resolver's name) owned by a
    /// principal, in that principal's tenant; the future returns the key the
    /// resolver finds it by. For a service principal, which owns nothing,
    /// create one in its tenant with any owner.
    ///
    /// Called for nearly every attack on an action that names an object, so
    /// each request targets a fresh object that only the attacked check
    /// stands between.
    pub fn objects<F, Fut, K>(mut self, resource: impl Into<String>, create: F) -> Self
    where
        F: Fn(Principal) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = K> + Send + 'static,
        K: fmt::Display,
    {
        let create = Arc::new(create);
        let factory: Factory = Arc::new(move |owner: Principal| {
            let create = create.clone();
            Box::pin(async move { create(owner).await.to_string() })
        });
        self.factories.insert(resource.into(), factory);
        self
    }

    /// How to fill the request of the action named `name` (its function's
    /// name, as in the manifest).
    pub fn action(mut self, name: impl Into<String>, fixture: ActionFixture) -> Self {
        self.actions.insert(name.into(), fixture);
        self
    }
}
