//! What every action body can reach through `State<AppState>`.

use std::sync::Arc;

use guard_runtime::approval::Approvals;
use guard_runtime::authn::{Sessions, Tokens};
use guard_runtime::ActionInfo;
use sqlx::SqlitePool;

use crate::generation::Generation;
use crate::lockouts::Lockouts;
use crate::recent::RecentDecisions;
use crate::store_choice::SharedSessionStore;

#[derive(Clone)]
pub struct AppState {
    pub pool: SqlitePool,
    /// Logs users in and out (the same store the authenticator reads).
    pub sessions: Sessions,
    /// Rotates service-account keys (the same store the authenticator reads).
    pub tokens: Tokens,
    /// For revoking a session by the cookie a login request carried.
    pub session_store: SharedSessionStore,
    /// Moved on after every change to an account (role, disabling,
    /// password), so no instance serves the old one from memory.
    pub credentials: Generation,
    /// `Actions::manifest()` of the mounted app, taken after mounting
    /// everything: the listing can never drift from what is served.
    pub manifest: Arc<Vec<ActionInfo>>,
    /// Lists, approves and denies approval requests (refunds), by guard's
    /// rules, over the store the guard uses.
    pub approvals: Approvals,
    /// The latest audit records, for the audit page.
    pub recent: RecentDecisions,
    /// Who the probing limit locks out now, for the audit page.
    pub lockouts: Lockouts,
}
