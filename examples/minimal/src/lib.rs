//! The smallest guarded app: one guarded action, one public action and one
//! API key. `main.rs` serves it; `tests/hello.rs` drives it in-process.

use guard_runtime::authn::{MemoryTokenStore, Tokens};
use guard_runtime::{action, Actions, Authorized, Principal, Resolvers, RolePolicy, StoreError};

/// The demo's API key. A real app stores only keys' hashes (as `Tokens`
/// does) and hands out keys from `Tokens::rotate`.
pub const DEMO_KEY: &str = "minimal-demo-key";

/// Runs only for a caller holding `greetings:read`.
#[action(GET "/hello", requires = "greetings:read")]
async fn hello(auth: Authorized) -> String {
    format!("hello, {}\n", auth.principal().id)
}

/// Anyone may call it; the reason is part of the audit record.
#[action(GET "/health", public = "health check: reveals nothing")]
async fn health() -> &'static str {
    "ok\n"
}

/// The app, with one service account that may read greetings.
pub async fn app() -> Result<axum::Router, StoreError> {
    let tokens = Tokens::new(MemoryTokenStore::new());
    let mut reporter = Principal::service("reporter", "demo", ["greetings:read"]);
    reporter.credential_id = "key:reporter".into(); // what revocation and audit name
    tokens.issue(DEMO_KEY, reporter).await?;
    // Users would get permissions through roles; this app has none.
    let policy = RolePolicy::new();
    Ok(Actions::new(policy, tokens, Resolvers::new()).mount(hello).mount(health).into_router(()))
}
