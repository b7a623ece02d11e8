//! Drives every manifest entry through every attack and fills the report.
//!
//! Over 400 lines because every attack's request and verdict is one arm of
//! the same matches, kept in one file so a new attack is one arm in each.

use std::collections::HashMap;

use axum::Router;

use super::fixtures::{CallerFixture, Source};
use super::request::{self, BodyMode, Csrf, Probe, ReplayKey};
use super::unguarded::{self, Declared};
use super::{ActionFixture, Attack, Credential, Fixtures, Got, Row, SweepReport, Verdict};
use crate::permission::covers;
use crate::{Accounted, ActionInfo, CallerKind, Code, Principal, Reach};

/// The authorization sweep over a guarded router: every action of the
/// manifest, every attack that applies to it.
///
/// ```no_run
/// # use guard_runtime::testkit::{Fixtures, Sweep};
/// # async fn demo(router: axum::Router, manifest: Vec<guard_runtime::ActionInfo>, fixtures: Fixtures) {
/// Sweep::new(router, &manifest).fixtures(fixtures).run().await.assert_all_held();
/// # }
/// ```
#[derive(Debug)]
pub struct Sweep {
    router: Router,
    manifest: Vec<ActionInfo>,
    fixtures: Option<Fixtures>,
    accounted: Option<Vec<(axum::http::Method, String)>>,
}

impl Sweep {
    /// A sweep of `router`, whose actions `manifest` describes: pass
    /// `Actions::manifest()` of the very `Actions` the router was built from.
    pub fn new(router: Router, manifest: &[ActionInfo]) -> Self {
        Sweep { router, manifest: manifest.to_vec(), fixtures: None, accounted: None }
    }

    /// The routes the app accounts for besides its actions (declared
    /// public routes, the MCP endpoint): pass `actions.accounted()`, the
    /// layer the router is served through.
    ///
    /// The sweep lists every route the router serves and reports each one
    /// that is neither a mounted action nor accounted for as a failed
    /// [`Attack::UnguardedRoute`] row, after probing it: refused by the
    /// layer (403 `unguarded_route`, audited) or, worse, served. Without
    /// this call, routes outside the manifest are reported as `uncovered`
    /// and not probed, since one could be a declared public route.
    pub fn accounted(mut self, accounted: &Accounted) -> Self {
        self.accounted = Some(accounted.routes());
        self
    }

    /// The principals, credentials, objects and bodies to attack with.
    pub fn fixtures(mut self, fixtures: Fixtures) -> Self {
        self.fixtures = Some(fixtures);
        self
    }

    /// Sends every attack request (one at a time), then reads the audit
    /// records back and decides every row.
    pub async fn run(self) -> SweepReport {
        let Some(fixtures) = self.fixtures else {
            return SweepReport {
                rows: Vec::new(),
                problems: vec!["no fixtures: call `Sweep::fixtures` before `run`".to_owned()],
            };
        };
        let mut run = Run::start(self.router, fixtures).await;
        for info in &self.manifest {
            run.action(info).await;
        }
        let declared = self.accounted.map_or(Declared::ManifestOnly, Declared::Accounted);
        run.unguarded(&self.manifest, &declared).await;
        run.finish().await
    }
}

/// Sweeps `router`: shorthand for
/// `Sweep::new(router, manifest).fixtures(fixtures).run()`.
pub async fn sweep(router: Router, manifest: &[ActionInfo], fixtures: Fixtures) -> SweepReport {
    Sweep::new(router, manifest).fixtures(fixtures).run().await
}

/// A principal with its credential in hand.
struct Caller {
    principal: Principal,
    credential: Credential,
}

impl Caller {
    fn label(&self) -> String {
        format!("{} ({}, {})", self.principal.id, self.principal.kind.as_str(), self.credential.mechanism())
    }
}

/// The requests of a row whose audit records are still to be checked.
struct Pending {
    row: usize,
    request_id: String,
    expected: Code,
    /// For a reused replay key: the request that used it first, which must
    /// have been allowed.
    first_use: Option<String>,
}

struct Run {
    router: Router,
    fixtures: Fixtures,
    callers: Vec<Caller>,
    stale: Vec<Caller>,
    unbound: Vec<Caller>,
    weak_acr: Vec<Caller>,
    revoked: Vec<(String, Credential)>,
    expired_tokens: Vec<(String, Credential)>,
    wrong_audience: Vec<(String, Credential)>,
    run_id: String,
    seq: u64,
    rows: Vec<Row>,
    pending: Vec<Pending>,
    /// Problems of the sweep as a whole, found while it ran.
    problems: Vec<String>,
}

/// What an attack came to before its audit records are read.
enum Outcome {
    NotApplicable(String),
    Uncovered(String),
    Failed(String),
    /// Sent: who, what came back, the request id, and any failure of a
    /// preliminary request (a replay key's first use).
    Sent {
        caller: String,
        got: Got,
        request_id: String,
        failures: Vec<String>,
        first_use: Option<String>,
    },
}

async fn resolve(fixtures: &[CallerFixture]) -> Vec<Caller> {
    let mut out = Vec::with_capacity(fixtures.len());
    for fixture in fixtures {
        out.push(Caller { principal: fixture.principal.clone(), credential: fixture.source.get().await });
    }
    out
}

async fn labelled(fixtures: &[(String, Source)]) -> Vec<(String, Credential)> {
    let mut out = Vec::with_capacity(fixtures.len());
    for (label, source) in fixtures {
        out.push((label.clone(), source.get().await));
    }
    out
}

/// Which registered callers a request is sent as.
#[derive(Clone, Copy)]
enum Pool {
    Callers,
    Stale,
    Unbound,
    WeakAcr,
}

fn kind_rank(kind: CallerKind) -> u8 {
    match kind {
        CallerKind::User => 0,
        CallerKind::Service => 1,
        CallerKind::Agent => 2,
    }
}

impl Run {
    async fn start(router: Router, fixtures: Fixtures) -> Run {
        let callers = resolve(&fixtures.callers).await;
        let stale = resolve(&fixtures.stale).await;
        let unbound = resolve(&fixtures.unbound).await;
        let weak_acr = resolve(&fixtures.weak_acr).await;
        let revoked = labelled(&fixtures.revoked).await;
        let expired_tokens = labelled(&fixtures.expired_tokens).await;
        let wrong_audience = labelled(&fixtures.wrong_audience).await;
        let mut bytes = [0u8; 4];
        let _ = getrandom::fill(&mut bytes);
        Run {
            router,
            fixtures,
            callers,
            stale,
            unbound,
            weak_acr,
            revoked,
            expired_tokens,
            wrong_audience,
            run_id: crate::hex::hex(&bytes),
            seq: 0,
            rows: Vec::new(),
            pending: Vec::new(),
            problems: Vec::new(),
        }
    }

    fn next_id(&mut self, what: &str) -> String {
        self.seq += 1;
        format!("guard-sweep-{}-{}-{what}", self.run_id, self.seq)
    }

    /// The narrowest reach `principal` has over every permission `info`
    /// requires, ignoring its kind; `Tenant` for `authenticated` actions.
    fn reach(&self, principal: &Principal, info: &ActionInfo) -> Option<Reach> {
        match info.policy {
            "requires" => info.requires.iter().try_fold(Reach::Tenant, |narrowest, permission| {
                self.fixtures.policy.reach(principal, permission).map(|r| narrowest.min(r))
            }),
            "authenticated" => Some(Reach::Tenant),
            _ => None,
        }
    }

    /// Whether `principal` is a caller the action admits up to its
    /// permissions: of an accepted kind, with a credential that carries what
    /// its `bind(...)` and `acr` ask. A caller that is not is sent only for
    /// the attack on that very respect, so every other row isolates its own.
    fn accepts(info: &ActionInfo, principal: &Principal) -> bool {
        info.callers.contains(&principal.kind) && Self::claims_fit(info, principal)
    }

    fn claims_fit(info: &ActionInfo, principal: &Principal) -> bool {
        let claim = |name: &str| principal.claims.get_str(name);
        let bound = info.binding.iter().all(|pair| match pair.split_once('=') {
            Some((name, value)) => claim(name) == Some(value),
            None => false,
        });
        bound && (info.acr.is_empty() || claim("acr").is_some_and(|acr| info.acr.contains(&acr)))
    }

    /// Registered callers of an accepted kind holding the permissions.
    fn holders<'a>(&'a self, info: &'a ActionInfo) -> impl Iterator<Item = &'a Caller> + 'a {
        self.callers
            .iter()
            .filter(move |c| Self::accepts(info, &c.principal) && self.reach(&c.principal, info).is_some())
    }

    /// The index of the first registered holder.
    fn holder_index(&self, info: &ActionInfo) -> Option<usize> {
        self.callers.iter().position(|c| Self::accepts(info, &c.principal) && self.reach(&c.principal, info).is_some())
    }

    fn no_holder(info: &ActionInfo) -> Outcome {
        let what = match info.policy {
            "requires" => format!("holds {}", info.requires.join(" and ")),
            _ => "may call it".to_owned(),
        };
        let kinds: Vec<&str> = info.callers.iter().map(|k| k.as_str()).collect();
        Outcome::Uncovered(format!(
            "no registered {} principal {what}: add one with `Fixtures::caller`",
            kinds.join("/")
        ))
    }

    /// A new object of the action's resource owned by `owner`; `Ok(None)` when
    /// the action names no object.
    async fn object(&self, info: &ActionInfo, owner: &Principal) -> Result<Option<String>, String> {
        let Some(resource) = info.resource else { return Ok(None) };
        match self.fixtures.factories.get(resource) {
            Some(create) => Ok(Some(create(owner.clone()).await)),
            None => Err(format!("no way to create `{resource}` objects: add `Fixtures::objects(\"{resource}\", …)`")),
        }
    }

    /// An object for an attack refused before the object is loaded: the
    /// attacker's own when possible, else any key.
    async fn object_or_any(&self, info: &ActionInfo, owner: Option<&Principal>) -> Option<String> {
        let owner = owner?;
        match self.object(info, owner).await {
            Ok(key) => key,
            Err(_) => info.resource.map(|_| "1".to_owned()),
        }
    }

    async fn send(
        &mut self,
        info: &ActionInfo,
        fixture: &ActionFixture,
        probe: &Probe<'_>,
        what: &str,
    ) -> (Got, String) {
        let request_id = self.next_id(what);
        let replay_key = self.next_id("key");
        let got = match request::build(info, fixture, probe, &request_id, &replay_key) {
            Ok(req) => request::send(&self.router, req).await,
            Err(why) => Got { status: 0, code: Some(format!("not sent: {why}")) },
        };
        (got, request_id)
    }

    async fn sent(
        &mut self,
        info: &ActionInfo,
        fixture: &ActionFixture,
        caller: String,
        probe: Probe<'_>,
        what: &str,
    ) -> Outcome {
        let (got, request_id) = self.send(info, fixture, &probe, what).await;
        Outcome::Sent { caller, got, request_id, failures: Vec::new(), first_use: None }
    }

    async fn action(&mut self, info: &ActionInfo) {
        let route = format!("{} {}", info.method, info.path);
        if info.policy == "public" {
            self.rows.push(Row {
                action: info.name.to_owned(),
                route: route.clone(),
                attack: Attack::Public,
                caller: "-".to_owned(),
                expected: None,
                got: None,
                verdict: Verdict::Public(info.public_reason.unwrap_or("no reason given").to_owned()),
            });
            // A public action has no caller to attack, but its replay key
            // still holds.
            if info.replay.is_none() {
                return;
            }
        }
        let public = info.policy == "public";
        let fixture = self.fixtures.actions.get(info.name).cloned().unwrap_or_default();
        let attacks = Attack::ALL.into_iter().filter(|a| {
            !matches!(a, Attack::Public | Attack::UnguardedRoute)
                && (!public || matches!(a, Attack::ReplayMissingKey | Attack::ReplayReused))
        });
        for attack in attacks {
            let expected = attack.expected();
            let row = |caller: String, got: Option<Got>, verdict: Verdict| Row {
                action: info.name.to_owned(),
                route: route.clone(),
                attack,
                caller,
                expected,
                got,
                verdict,
            };
            if let Some((_, reason)) = fixture.skips.iter().find(|(a, _)| *a == attack) {
                self.rows.push(row("-".to_owned(), None, Verdict::Skipped(reason.clone())));
                continue;
            }
            for outcome in self.attack(info, &fixture, attack).await {
                let pushed = match outcome {
                    Outcome::NotApplicable(why) => row("-".to_owned(), None, Verdict::NotApplicable(why)),
                    Outcome::Uncovered(why) => row("-".to_owned(), None, Verdict::Uncovered(why)),
                    Outcome::Failed(why) => row("-".to_owned(), None, Verdict::Failed(vec![why])),
                    Outcome::Sent { caller, got, request_id, mut failures, first_use } => {
                        let Some(code) = expected else { continue };
                        if got.status != code.status().as_u16() || got.code.as_deref() != Some(code.as_str()) {
                            failures.push(format!("expected {} {code}, got {got}", code.status().as_u16()));
                        }
                        if got.code.as_deref() == Some(Code::ProbingSuspected.as_str()) {
                            failures.push(
                                "the app's probing limit answered: mount it with `.probing(0, …)` for the sweep"
                                    .to_owned(),
                            );
                        }
                        self.pending.push(Pending { row: self.rows.len(), request_id, expected: code, first_use });
                        let verdict = if failures.is_empty() { Verdict::Held } else { Verdict::Failed(failures) };
                        row(caller, Some(got), verdict)
                    }
                };
                self.rows.push(pushed);
            }
        }
    }

    async fn attack(&mut self, info: &ActionInfo, fixture: &ActionFixture, attack: Attack) -> Vec<Outcome> {
        let first_holder = self.holders(info).next().map(|c| c.principal.clone());
        match attack {
            Attack::Public | Attack::UnguardedRoute => Vec::new(),
            Attack::NoCredentials => {
                let key = self.object_or_any(info, first_holder.as_ref()).await;
                vec![self.sent(info, fixture, "-".to_owned(), Probe::new(None, key), "anon").await]
            }
            Attack::GarbageCredential => {
                let key = self.object_or_any(info, first_holder.as_ref()).await;
                let garbage = Credential::bearer(format!("guard-sweep-garbage-{}", self.run_id));
                vec![
                    self.sent(info, fixture, "garbage (bearer)".to_owned(), Probe::new(Some(&garbage), key), "garbage")
                        .await,
                ]
            }
            Attack::RevokedCredential => {
                if self.revoked.is_empty() {
                    return vec![Outcome::Uncovered(
                        "no revoked or expired credential: add one with `Fixtures::revoked`".to_owned(),
                    )];
                }
                let key = self.object_or_any(info, first_holder.as_ref()).await;
                let mut out = Vec::new();
                for (label, credential) in self.revoked.clone() {
                    let caller = format!("{label} ({})", credential.mechanism());
                    out.push(
                        self.sent(info, fixture, caller, Probe::new(Some(&credential), key.clone()), "revoked").await,
                    );
                }
                out
            }
            Attack::WrongCallerKind(kind) => vec![self.wrong_kind(info, fixture, kind).await],
            Attack::LacksPermission => vec![self.lacks(info, fixture).await],
            Attack::AgentUserLacks => vec![self.agent_user_lacks(info, fixture).await],
            Attack::OtherTenantObject => vec![self.other_tenant(info, fixture).await],
            Attack::OtherOwnerObject => vec![self.other_owner(info, fixture).await],
            Attack::CsrfMissing => vec![self.csrf(info, fixture, Csrf::Missing).await],
            Attack::CsrfWrong => vec![self.csrf(info, fixture, Csrf::Wrong).await],
            Attack::ExpiredToken | Attack::WrongAudience => {
                let tokens = if attack == Attack::ExpiredToken { &self.expired_tokens } else { &self.wrong_audience };
                if tokens.is_empty() {
                    return vec![Outcome::NotApplicable(format!(
                        "the fixtures name no such JWT (an app that takes none): add one with `Fixtures::{}`",
                        attack.name()
                    ))];
                }
                let key = self.object_or_any(info, first_holder.as_ref()).await;
                let mut out = Vec::new();
                for (label, credential) in tokens.clone() {
                    let caller = format!("{label} ({})", credential.mechanism());
                    out.push(self.sent(info, fixture, caller, Probe::new(Some(&credential), key.clone()), "jwt").await);
                }
                out
            }
            Attack::StaleAuthentication => vec![self.stale(info, fixture).await],
            Attack::BindingMismatch => {
                if info.binding.is_empty() {
                    return vec![Outcome::NotApplicable("no `bind`".to_owned())];
                }
                vec![self.claims_attack(info, fixture, Pool::Unbound, "unbound", "Fixtures::unbound").await]
            }
            Attack::InsufficientAcr => {
                if info.acr.is_empty() {
                    return vec![Outcome::NotApplicable("no `acr`".to_owned())];
                }
                vec![self.claims_attack(info, fixture, Pool::WeakAcr, "weak-acr", "Fixtures::weak_acr").await]
            }
            Attack::ReplayMissingKey | Attack::ReplayReused => vec![self.replay(info, fixture, attack).await],
            Attack::OversizedBody => vec![self.input(info, fixture, BodyMode::Oversized).await],
            Attack::WrongContentType => vec![self.input(info, fixture, BodyMode::PlainText).await],
            Attack::UnknownField => vec![self.input(info, fixture, BodyMode::UnknownField).await],
        }
    }

    /// Sends `probe`-like request as `caller` on an object it owns.
    async fn as_caller(
        &mut self,
        info: &ActionInfo,
        fixture: &ActionFixture,
        caller: usize,
        pool: Pool,
        adjust: impl FnOnce(&mut Probe<'_>),
        what: &str,
    ) -> Outcome {
        let pool = match pool {
            Pool::Callers => &self.callers,
            Pool::Stale => &self.stale,
            Pool::Unbound => &self.unbound,
            Pool::WeakAcr => &self.weak_acr,
        };
        let (principal, credential, label) =
            (pool[caller].principal.clone(), pool[caller].credential.clone(), pool[caller].label());
        let key = self.object_or_any(info, Some(&principal)).await;
        let mut probe = Probe::new(Some(&credential), key);
        adjust(&mut probe);
        self.sent(info, fixture, label, probe, what).await
    }

    /// Sends as the first caller of `pool` of an accepted kind that holds
    /// the action's permissions: only its credential's claims stand between.
    async fn claims_attack(
        &mut self,
        info: &ActionInfo,
        fixture: &ActionFixture,
        pool: Pool,
        what: &str,
        fixture_name: &str,
    ) -> Outcome {
        let callers = match pool {
            Pool::Unbound => &self.unbound,
            Pool::WeakAcr => &self.weak_acr,
            Pool::Callers => &self.callers,
            Pool::Stale => &self.stale,
        };
        // Of an accepted kind, but not `accepts`: its claims are the point.
        let index = self.first_index(callers, |c| {
            info.callers.contains(&c.principal.kind) && self.reach(&c.principal, info).is_some()
        });
        match index {
            Some(i) => self.as_caller(info, fixture, i, pool, |_| {}, what).await,
            None => Outcome::Uncovered(format!(
                "no caller of an accepted kind holding the permission: add one with `{fixture_name}`"
            )),
        }
    }

    fn first_index(&self, pool: &[Caller], pick: impl Fn(&Caller) -> bool) -> Option<usize> {
        pool.iter().position(pick)
    }

    async fn wrong_kind(&mut self, info: &ActionInfo, fixture: &ActionFixture, kind: CallerKind) -> Outcome {
        if info.callers.contains(&kind) {
            return Outcome::NotApplicable(format!("accepts {} callers", kind.as_str()));
        }
        // Prefer one that holds the permission: then only its kind stands between.
        let index = self
            .first_index(&self.callers, |c| c.principal.kind == kind && self.reach(&c.principal, info).is_some())
            .or_else(|| self.first_index(&self.callers, |c| c.principal.kind == kind));
        match index {
            Some(i) => self.as_caller(info, fixture, i, Pool::Callers, |_| {}, "kind").await,
            None => Outcome::Uncovered(format!("no {} principal registered", kind.as_str())),
        }
    }

    async fn lacks(&mut self, info: &ActionInfo, fixture: &ActionFixture) -> Outcome {
        if info.policy != "requires" {
            return Outcome::NotApplicable(format!("`{}`: no permission to lack", info.policy));
        }
        let mut candidates: Vec<usize> = (0..self.callers.len())
            .filter(|&i| {
                let p = &self.callers[i].principal;
                Self::accepts(info, p) && self.reach(p, info).is_none()
            })
            .collect();
        candidates.sort_by_key(|&i| kind_rank(self.callers[i].principal.kind));
        match candidates.first() {
            Some(&i) => self.as_caller(info, fixture, i, Pool::Callers, |_| {}, "lacks").await,
            None => Outcome::Uncovered(format!(
                "every registered principal of an accepted kind holds {}: add one that does not",
                info.requires.join(" and ")
            )),
        }
    }

    async fn agent_user_lacks(&mut self, info: &ActionInfo, fixture: &ActionFixture) -> Outcome {
        if info.policy != "requires" {
            return Outcome::NotApplicable(format!("`{}`: no permission to lack", info.policy));
        }
        if !info.callers.contains(&CallerKind::Agent) {
            return Outcome::NotApplicable("does not accept agents".to_owned());
        }
        let index = self.first_index(&self.callers, |c| {
            let p = &c.principal;
            p.kind == CallerKind::Agent
                && info.requires.iter().all(|perm| p.scopes.iter().any(|s| covers(s, perm)))
                && self.reach(p, info).is_none()
        });
        match index {
            Some(i) => self.as_caller(info, fixture, i, Pool::Callers, |_| {}, "agent").await,
            None => Outcome::Uncovered(format!(
                "no registered agent whose scopes cover {} while its user lacks it",
                info.requires.join(" and ")
            )),
        }
    }

    /// Every registered principal, fresh or stale, that can own objects.
    fn owners(&self) -> impl Iterator<Item = &Principal> {
        self.callers.iter().chain(&self.stale).map(|c| &c.principal)
    }

    async fn other_tenant(&mut self, info: &ActionInfo, fixture: &ActionFixture) -> Outcome {
        if info.object_check.is_none() {
            return Outcome::NotApplicable("names no object".to_owned());
        }
        // A holder reaching its whole tenant first: then the owner check
        // cannot be what refuses.
        let mut holders: Vec<usize> = (0..self.callers.len())
            .filter(|&i| {
                let p = &self.callers[i].principal;
                Self::accepts(info, p) && self.reach(p, info).is_some()
            })
            .collect();
        if holders.is_empty() {
            return Self::no_holder(info);
        }
        holders.sort_by_key(|&i| (self.reach(&self.callers[i].principal, info) != Some(Reach::Tenant), i));
        for i in holders {
            let tenant = self.callers[i].principal.tenant.clone();
            let mut others: Vec<&Principal> = self.owners().filter(|o| o.tenant != tenant).collect();
            others.sort_by_key(|o| o.owner_id().is_none());
            let Some(other) = others.first().map(|o| (*o).clone()) else { continue };
            let key = match self.object(info, &other).await {
                Ok(key) => key,
                Err(why) => return Outcome::Failed(why),
            };
            let (credential, label) = (self.callers[i].credential.clone(), self.callers[i].label());
            let label = format!("{label} on {}'s object ({})", other.id, other.tenant);
            return self.sent(info, fixture, label, Probe::new(Some(&credential), key), "tenant").await;
        }
        Outcome::Uncovered("no registered principal in a second tenant".to_owned())
    }

    async fn other_owner(&mut self, info: &ActionInfo, fixture: &ActionFixture) -> Outcome {
        match info.object_check {
            None => return Outcome::NotApplicable("names no object".to_owned()),
            Some("tenant") => return Outcome::NotApplicable("tenant check only: no owner to cross".to_owned()),
            Some(_) => {}
        }
        let mut holders: Vec<usize> = (0..self.callers.len())
            .filter(|&i| {
                let p = &self.callers[i].principal;
                Self::accepts(info, p) && self.reach(p, info).is_some()
            })
            .collect();
        if holders.is_empty() {
            return Self::no_holder(info);
        }
        holders.retain(|&i| self.reach(&self.callers[i].principal, info) == Some(Reach::Own));
        if holders.is_empty() {
            return Outcome::NotApplicable("every registered holder reaches the whole tenant".to_owned());
        }
        holders.sort_by_key(|&i| (kind_rank(self.callers[i].principal.kind), i));
        for i in holders {
            let me = &self.callers[i].principal;
            let Some(mine) = me.owner_id().map(str::to_owned) else { continue };
            let tenant = me.tenant.clone();
            let other =
                self.owners().find(|o| o.tenant == tenant && o.owner_id().is_some_and(|id| id != mine)).cloned();
            let Some(other) = other else { continue };
            let key = match self.object(info, &other).await {
                Ok(key) => key,
                Err(why) => return Outcome::Failed(why),
            };
            let (credential, label) = (self.callers[i].credential.clone(), self.callers[i].label());
            let label = format!("{label} on {}'s object", other.owner_id().unwrap_or(&other.id));
            return self.sent(info, fixture, label, Probe::new(Some(&credential), key), "owner").await;
        }
        Outcome::Uncovered("no second owner in an own-only holder's tenant".to_owned())
    }

    async fn csrf(&mut self, info: &ActionInfo, fixture: &ActionFixture, mode: Csrf) -> Outcome {
        if !request::is_unsafe(info) {
            return Outcome::NotApplicable(format!("{} is a safe method", info.method));
        }
        let session = |c: &Caller| matches!(c.credential, Credential::Session { .. });
        if !self.callers.iter().any(|c| session(c) && Self::accepts(info, &c.principal)) {
            return Outcome::NotApplicable("no accepted caller uses a cookie session".to_owned());
        }
        let index = self.first_index(&self.callers, |c| {
            session(c) && Self::accepts(info, &c.principal) && self.reach(&c.principal, info).is_some()
        });
        match index {
            Some(i) => self.as_caller(info, fixture, i, Pool::Callers, |p| p.csrf = mode, "csrf").await,
            None => Outcome::Uncovered("no cookie-session principal holds it".to_owned()),
        }
    }

    async fn stale(&mut self, info: &ActionInfo, fixture: &ActionFixture) -> Outcome {
        if info.fresh_secs.is_none() {
            return Outcome::NotApplicable("not `fresh`".to_owned());
        }
        let index = self
            .first_index(&self.stale, |c| Self::accepts(info, &c.principal) && self.reach(&c.principal, info).is_some())
            .or_else(|| self.first_index(&self.stale, |c| Self::accepts(info, &c.principal)));
        match index {
            Some(i) => self.as_caller(info, fixture, i, Pool::Stale, |_| {}, "stale").await,
            None => {
                Outcome::Uncovered("no stale credential of an accepted kind: add one with `Fixtures::stale`".to_owned())
            }
        }
    }

    async fn replay(&mut self, info: &ActionInfo, fixture: &ActionFixture, attack: Attack) -> Outcome {
        let Some(header) = info.replay else { return Outcome::NotApplicable("not replay-protected".to_owned()) };
        if info.policy == "public" {
            return self.public_replay(info, fixture, attack, header).await;
        }
        let Some(i) = self.holder_index(info) else { return Self::no_holder(info) };
        if attack == Attack::ReplayMissingKey {
            return self.as_caller(info, fixture, i, Pool::Callers, |p| p.replay = ReplayKey::Missing, "nokey").await;
        }
        let (principal, credential, label) =
            (self.callers[i].principal.clone(), self.callers[i].credential.clone(), self.callers[i].label());
        let key = match self.object(info, &principal).await {
            Ok(key) => key,
            Err(why) => return Outcome::Failed(why),
        };
        let used = self.next_id("replay");
        let mut probe = Probe::new(Some(&credential), key);
        probe.replay = ReplayKey::Given(used);
        self.use_twice(info, fixture, &probe, header, label).await
    }

    /// Sends `probe`'s replay key twice: the first use must succeed for the
    /// reuse (the row) to prove anything.
    async fn use_twice(
        &mut self,
        info: &ActionInfo,
        fixture: &ActionFixture,
        probe: &Probe<'_>,
        header: &str,
        caller: String,
    ) -> Outcome {
        let (first, first_id) = self.send(info, fixture, probe, "first").await;
        let mut failures = Vec::new();
        if !(200..300).contains(&first.status) {
            failures.push(format!(
                "the first use of the `{header}` key answered {first}, so reuse proves nothing: fix the action's fixture, or skip this attack"
            ));
        }
        let (got, request_id) = self.send(info, fixture, probe, "reuse").await;
        Outcome::Sent { caller, got, request_id, failures, first_use: Some(first_id) }
    }

    /// The replay attacks on a public action: sent with no credential.
    async fn public_replay(
        &mut self,
        info: &ActionInfo,
        fixture: &ActionFixture,
        attack: Attack,
        header: &str,
    ) -> Outcome {
        let mut probe = Probe::new(None, None);
        if attack == Attack::ReplayMissingKey {
            probe.replay = ReplayKey::Missing;
            return self.sent(info, fixture, "anonymous".to_owned(), probe, "nokey").await;
        }
        probe.replay = ReplayKey::Given(self.next_id("replay"));
        self.use_twice(info, fixture, &probe, header, "anonymous".to_owned()).await
    }

    async fn input(&mut self, info: &ActionInfo, fixture: &ActionFixture, mode: BodyMode) -> Outcome {
        if info.body_limit.is_none() {
            return Outcome::NotApplicable("takes no JSON body".to_owned());
        }
        if mode == BodyMode::UnknownField && !request::valid_body(info, fixture, None).is_object() {
            return Outcome::Failed("the action's body fixture is not a JSON object".to_owned());
        }
        // A bearer holder first: nothing but the body is then in question.
        let index = self
            .first_index(&self.callers, |c| {
                matches!(c.credential, Credential::Bearer(_))
                    && Self::accepts(info, &c.principal)
                    && self.reach(&c.principal, info).is_some()
            })
            .or_else(|| self.holder_index(info));
        match index {
            Some(i) => self.as_caller(info, fixture, i, Pool::Callers, |p| p.body = mode, "input").await,
            None => Self::no_holder(info),
        }
    }

    /// A row for every route of the router that is neither an action of
    /// the manifest nor declared (see [`unguarded`]).
    async fn unguarded(&mut self, manifest: &[ActionInfo], declared: &Declared) {
        let listed = match super::routes::list(&self.router) {
            Ok(listed) => listed,
            Err(why) => return self.problems.push(why),
        };
        let (run_id, seq) = (&self.run_id, &mut self.seq);
        let next_id = || {
            *seq += 1;
            format!("guard-sweep-{run_id}-{seq}-route")
        };
        for found in unguarded::find(&self.router, &listed, manifest, declared, next_id).await {
            if let Some(request_id) = found.request_id {
                self.pending.push(Pending {
                    row: self.rows.len(),
                    request_id,
                    expected: found.expected,
                    first_use: None,
                });
            }
            self.rows.push(found.row);
        }
    }

    /// Reads the audit records and checks every sent row against them.
    async fn finish(mut self) -> SweepReport {
        let mut problems = std::mem::take(&mut self.problems);
        let entries = match &self.fixtures.audit {
            Some(audit) => match audit.entries().await {
                Ok(entries) => Some(entries),
                Err(why) => {
                    problems.push(why);
                    None
                }
            },
            None => {
                problems.push(
                    "no audit source: pass `Fixtures::audit(AuditSource::memory(sink, handle))` so the sweep can prove each refusal was audited and no body ran".to_owned(),
                );
                None
            }
        };
        let Some(entries) = entries else { return SweepReport { rows: self.rows, problems } };
        let mut by_id: HashMap<&str, Vec<&super::audit_log::Entry>> = HashMap::new();
        for entry in &entries {
            by_id.entry(entry.request_id.as_str()).or_default().push(entry);
        }
        for pending in &self.pending {
            let records = by_id.get(pending.request_id.as_str()).map(Vec::as_slice).unwrap_or_default();
            let mut failures = Vec::new();
            if let Some(first) = &pending.first_use {
                let first_records = by_id.get(first.as_str()).map(Vec::as_slice).unwrap_or_default();
                if !first_records.iter().any(|e| e.allow) {
                    failures.push("the key's first use left no `allow` record".to_owned());
                }
            }
            if records.iter().any(|e| e.allow) {
                failures.push("the body ran: an `allow` record was written for this request".to_owned());
            }
            if !records.iter().any(|e| !e.allow && e.code == pending.expected.as_str()) {
                let seen: Vec<String> =
                    records.iter().map(|e| format!("{} {}", if e.allow { "allow" } else { "deny" }, e.code)).collect();
                failures.push(if seen.is_empty() {
                    format!("no audit record (expected deny {})", pending.expected)
                } else {
                    format!("audit says {} (expected deny {})", seen.join(", "), pending.expected)
                });
            }
            if failures.is_empty() {
                continue;
            }
            let row = &mut self.rows[pending.row];
            row.verdict = match std::mem::replace(&mut row.verdict, Verdict::Held) {
                Verdict::Failed(mut earlier) => {
                    earlier.extend(failures);
                    Verdict::Failed(earlier)
                }
                _ => Verdict::Failed(failures),
            };
        }
        SweepReport { rows: self.rows, problems }
    }
}
