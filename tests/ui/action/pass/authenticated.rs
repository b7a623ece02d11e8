//! `authenticated`: any signed-in caller, no particular permission.
use guard_runtime::authn::{MemoryTokenStore, Tokens};
use guard_runtime::{action, Actions, Authorized, Resolvers, RolePolicy};

#[action(GET "/me", authenticated, callers = user)]
async fn me(auth: Authorized) -> String {
    auth.principal().id.clone()
}

fn app() -> axum::Router {
    Actions::new(RolePolicy::new(), Tokens::new(MemoryTokenStore::new()), Resolvers::new())
        .mount(me)
        .into_router(())
}

fn main() {
    let _ = app;
}
