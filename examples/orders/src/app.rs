//! Assembles the guarded app: policy, authenticator, resolvers, actions.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use guard_runtime::audit::{HmacKey, JsonLinesSink, TracingSink};
use guard_runtime::authn::jwt::{Issuer, Jwt};
use guard_runtime::authn::Sessions;
use guard_runtime::manifest::Manifest;
use guard_runtime::store::MemoryDenialStore;
use guard_runtime::{Accounted, Actions, AuditHandle, RolePolicy};
use sqlx::SqlitePool;

use crate::accounts::SqliteAccounts;
use crate::actions::{account, admin, approvals, forms, health, index, orders, pages, payments, users};
use crate::cached::CachedAccounts;
use crate::lockouts::Lockouts;
use crate::model::Order;
use crate::oidc::OrdersClaims;
use crate::recent::{RecentDecisions, RECENT_CAPACITY};
use crate::resolvers::resolvers;
use crate::state::AppState;
use crate::store_choice::Stores;

/// The knobs the flags turn.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The audit log: one JSON line per decision.
    pub audit_log: Option<PathBuf>,
    /// Hash-chains the log (`--audit-chain`; `verify-audit` checks it).
    pub audit_chain: bool,
    /// Chains the log's lines with HMAC-SHA256 under this key
    /// (`--audit-hmac-key-file`), which implies `audit_chain`.
    pub audit_key: Option<HmacKey>,
    /// Each allow record on disk before its body runs (`--audit-durable`).
    pub audit_durable: bool,
    pub probe_threshold: u32,
    pub reauth_window: Duration,
    /// Session cookie `__Host-` prefixed and `Secure` (`--secure-cookies`).
    pub secure_cookies: bool,
    /// The OIDC issuer whose JWTs are accepted (`--oidc-issuer`), as
    /// discovered at startup; its claims are mapped by [`OrdersClaims`].
    pub oidc: Option<Issuer>,
}

/// The flags' defaults: no audit file (records go to `tracing`), no chain,
/// no key, not durable, session cookies as on loopback (no `Secure`), no
/// OIDC issuer.
impl Default for Settings {
    fn default() -> Self {
        Settings {
            audit_log: None,
            audit_chain: false,
            audit_key: None,
            audit_durable: false,
            probe_threshold: crate::config::PROBE_THRESHOLD,
            reauth_window: Duration::from_secs(crate::config::REAUTH_WINDOW_SECS),
            secure_cookies: false,
            oidc: None,
        }
    }
}

/// Users get permissions through roles; services and agents carry scopes
/// (in the database), and an agent never gets more than its user's roles.
pub fn policy() -> RolePolicy {
    RolePolicy::new()
        .role("customer", ["orders:read", "orders:read_address", "orders:write"])
        .tenant_role("support", ["orders:read", "orders:read_address"])
        .tenant_role("admin", ["orders:*", "service_accounts:rotate", "users:manage", "actions:read", "audit:read"])
}

/// The window the probing limit counts denials in.
pub const PROBING_WINDOW: Duration = Duration::from_secs(60);

/// How many audit records may wait for the sink.
const AUDIT_QUEUE: usize = 4096;

/// The app on the in-process stores (what `--store` defaults to): what the
/// in-process sweep (`tests/sweep.rs`) builds.
pub fn build(pool: SqlitePool, settings: &Settings) -> (Router, AuditHandle) {
    let stores = Stores::in_process(&pool);
    build_with(pool, settings, &stores)
}

/// The app on `stores` (`--store`), with every route accounted for: a
/// route that is neither a mounted action nor declared public is refused.
pub fn build_with(pool: SqlitePool, settings: &Settings, stores: &Stores) -> (Router, AuditHandle) {
    let (router, accounted, audit) = assemble(pool, settings, stores);
    (accounted.apply(router), audit)
}

/// The authorization manifest of the app as `build` mounts it (default
/// settings): what `orders-example manifest` prints and
/// `authorization-manifest.json` holds. The pool is only cloned into the
/// resolvers and stores, never used.
pub fn manifest(pool: SqlitePool) -> Manifest {
    let stores = Stores::in_process(&pool);
    mount(actions(pool, &Settings::default(), &stores).0).authorization_manifest()
}

/// The app before its last layer, [`Accounted`]: `build_with` applies it;
/// a test adds a plain route here, as a careless change would, to see it
/// refused.
pub fn assemble(pool: SqlitePool, settings: &Settings, stores: &Stores) -> (Router, Accounted, AuditHandle) {
    let (actions, state) = actions(pool, settings, stores);
    let actions = mount(actions);
    let audit = actions.audit_handle();
    let accounted = actions.accounted();
    let manifest = Arc::new(actions.manifest().to_vec());
    let state = AppState { manifest, ..state };
    // Unknown paths answer like guard does: a problem 404, never cached.
    (actions.into_router(state).fallback(guard_runtime::not_found), accounted, audit)
}

/// Every action of the app, on `actions`.
fn mount(actions: Actions<AppState>) -> Actions<AppState> {
    actions
        .mount(index::index)
        .mount(index::api_description)
        .mount(health::health)
        .mount(account::login)
        .mount(account::logout)
        .mount(account::reauth)
        .mount(account::change_password)
        .mount(pages::login_page)
        .mount(pages::stylesheet)
        .mount(forms::login_form)
        .mount(forms::logout_form)
        .mount(orders::list_orders)
        .mount(orders::get_order)
        .mount(orders::create_order)
        .mount(orders::change_address)
        .mount(orders::cancel_order)
        .mount(orders::delete_order)
        .mount(forms::create_order_form)
        .mount(forms::change_address_form)
        .mount(forms::cancel_order_form)
        .mount(payments::capture_payment)
        .mount(approvals::refund_order)
        .mount(approvals::list_approvals)
        .mount(approvals::approve_request)
        .mount(approvals::deny_request)
        .mount(admin::rotate_service_key)
        .mount(users::set_role)
        .mount(users::disable_user)
        .mount(admin::list_actions)
        .mount(admin::audit_view)
        // Every answer that is an order (or a list of them) leaves out the
        // delivery address for callers without `orders:read_address`.
        .minimize::<Order>(orders::list_orders)
        .minimize::<Order>(orders::get_order)
        .minimize::<Order>(orders::create_order)
        .minimize::<Order>(orders::change_address)
        .minimize::<Order>(orders::cancel_order)
        .minimize::<Order>(payments::capture_payment)
        // The order actions as MCP tools at `/mcp`: each agent lists what
        // its scopes allow, and every call runs the action's guard.
        .tool(orders::list_orders)
        .tool(orders::get_order)
        .tool(orders::create_order)
        .tool(orders::change_address)
        .tool(orders::cancel_order)
        .tool(orders::delete_order)
        .tool(payments::capture_payment)
        .mcp("/mcp")
}

/// The configured, not yet mounted, app and its state (without the
/// manifest, known only once everything is mounted).
fn actions(pool: SqlitePool, settings: &Settings, stores: &Stores) -> (Actions<AppState>, AppState) {
    let session_store = stores.session_store.clone();
    // Every session and agent token checks its user's account per request,
    // kept in memory for the current credentials generation: roles,
    // disabling and password changes move it on and apply at once.
    let sqlite_accounts = SqliteAccounts::new(pool.clone());
    let accounts = CachedAccounts::new(sqlite_accounts.clone(), stores.generation.clone());
    let sessions = Sessions::new(session_store.clone()).accounts(accounts.clone());
    // Plain-HTTP development on loopback gets a plain cookie (a `Secure`
    // one would never come back over `http://`); anything else sits behind
    // TLS and gets `__Host-guard_session`, `Secure`.
    let sessions = if settings.secure_cookies { sessions.host_prefixed() } else { sessions.secure(false) };
    let tokens = stores.tokens.clone().accounts(accounts.clone());
    // JWTs of the `--oidc-issuer`, mapped to the app's own principals. With
    // no issuer, `Jwt` trusts nobody and declines every bearer.
    let mut jwt = Jwt::builder();
    if let Some(issuer) = &settings.oidc {
        jwt = jwt.issuer(issuer.clone().map_with(OrdersClaims::new(pool.clone(), sqlite_accounts)));
    }
    // Bearer header first (an API key, else a JWT: each declines the
    // other's), then the cookie: a request with both is judged by its
    // deliberate credential.
    let authenticator = (tokens.clone(), jwt.build(), sessions.clone());

    let actions = Actions::<AppState>::new(policy(), authenticator, resolvers(&pool))
        .probing(settings.probe_threshold, PROBING_WINDOW)
        .reauth_window(settings.reauth_window);
    let mut actions = stores.apply(actions);
    // In-process counters are kept at hand so the audit page can list who
    // is locked out; shared ones stay where `apply` put them.
    let lockouts = if stores.shares_denials() {
        Lockouts::unlisted()
    } else {
        let denials = MemoryDenialStore::new();
        actions = actions.denial_store(denials.clone());
        Lockouts::listed(denials, settings.probe_threshold, PROBING_WINDOW)
    };
    // Every record goes to the log (the file, one line per decision,
    // chained on request; else `tracing`), and what was written is kept in
    // memory for the audit page.
    let recent = RecentDecisions::new(RECENT_CAPACITY);
    actions = match &settings.audit_log {
        Some(path) => {
            let mut sink = match &settings.audit_key {
                Some(key) => JsonLinesSink::new(path).chained_with_key(key.clone()),
                None if settings.audit_chain => JsonLinesSink::new(path).chained(),
                None => JsonLinesSink::new(path),
            };
            if settings.audit_durable {
                sink = sink.durable();
            }
            actions.audit(recent.tee(sink), AUDIT_QUEUE)
        }
        None => actions.audit(recent.tee(TracingSink), AUDIT_QUEUE),
    };
    let approvals = actions.approvals();
    let manifest = Arc::new(Vec::new());
    let credentials = stores.generation.clone();
    let state = AppState { pool, sessions, tokens, session_store, credentials, manifest, approvals, recent, lockouts };
    (actions, state)
}
