//! No route in the attribute: the action is placed with `.mount_at(...)`.
use axum::http::Method;
use guard_runtime::authn::{MemoryTokenStore, Tokens};
use guard_runtime::{action, Actions, Authorized, Resolvers, RolePolicy};

#[action(requires = "reports:read")]
async fn report(auth: Authorized) -> String {
    format!("report for {}", auth.principal().id)
}

fn app() -> axum::Router {
    Actions::new(RolePolicy::new(), Tokens::new(MemoryTokenStore::new()), Resolvers::new())
        .mount_at(Method::GET, "/report", report)
        .into_router(())
}

fn main() {
    let _ = app;
}
