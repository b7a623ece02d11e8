//! Assembles the guarded app: policy, authenticator, resolvers, actions.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use guard_runtime::audit::JsonLinesSink;
use guard_runtime::authn::jwt::{Issuer, Jwt};
use guard_runtime::authn::Sessions;
use guard_runtime::{Actions, AuditHandle, RolePolicy};
use sqlx::SqlitePool;

use crate::accounts::SqliteAccounts;
use crate::actions::{account, admin, health, index, orders, payments, users};
use crate::cached::CachedAccounts;
use crate::oidc::OrdersClaims;
use crate::resolvers::resolvers;
use crate::state::AppState;
use crate::store_choice::Stores;

/// The knobs the flags turn.
#[derive(Clone, Debug)]
pub struct Settings {
    pub audit_log: Option<PathBuf>,
    pub probe_threshold: u32,
    pub reauth_window: Duration,
    /// Session cookie `__Host-` prefixed and `Secure` (`--secure-cookies`).
    pub secure_cookies: bool,
    /// The OIDC issuer whose JWTs are accepted (`--oidc-issuer`), as
    /// discovered at startup; its claims are mapped by [`OrdersClaims`].
    pub oidc: Option<Issuer>,
}

/// Users get permissions through roles; services and agents carry scopes
/// (in the database), and an agent never gets more than its user's roles.
pub fn policy() -> RolePolicy {
    RolePolicy::new()
        .role("customer", ["orders:read", "orders:write"])
        .tenant_role("support", ["orders:read"])
        .tenant_role("admin", ["orders:*", "service_accounts:rotate", "users:manage", "actions:read"])
}

/// The app on the in-process stores (what `--store` defaults to): what the
/// in-process sweep (`tests/sweep.rs`) builds.
pub fn build(pool: SqlitePool, settings: &Settings) -> (Router, AuditHandle) {
    let stores = Stores::in_process(&pool);
    build_with(pool, settings, &stores)
}

/// The app on `stores` (`--store`).
pub fn build_with(pool: SqlitePool, settings: &Settings, stores: &Stores) -> (Router, AuditHandle) {
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
        .probing(settings.probe_threshold, Duration::from_secs(60))
        .reauth_window(settings.reauth_window);
    let mut actions = stores.apply(actions);
    if let Some(path) = &settings.audit_log {
        actions = actions.audit(JsonLinesSink::new(path), 4096);
    }
    let audit = actions.audit_handle();
    let actions = actions
        .mount(index::index)
        .mount(index::api_description)
        .mount(health::health)
        .mount(account::login)
        .mount(account::logout)
        .mount(account::reauth)
        .mount(account::change_password)
        .mount(orders::list_orders)
        .mount(orders::get_order)
        .mount(orders::create_order)
        .mount(orders::change_address)
        .mount(orders::cancel_order)
        .mount(orders::delete_order)
        .mount(payments::capture_payment)
        .mount(admin::rotate_service_key)
        .mount(users::set_role)
        .mount(users::disable_user)
        .mount(admin::list_actions);
    let manifest = Arc::new(actions.manifest().to_vec());
    let credentials = stores.generation.clone();
    let state = AppState { pool, sessions, tokens, session_store, credentials, manifest };
    // Unknown paths answer like guard does: a problem 404, never cached.
    (actions.into_router(state).fallback(guard_runtime::not_found), audit)
}
