//! The route is written in the attribute, so `.mount(action)` needs nothing else.
use guard_runtime::authn::{MemoryTokenStore, Tokens};
use guard_runtime::{action, ActionError, Actions, Authorized, Resolvers, RolePolicy};

#[action(POST "/reports/{report_id}/publish", requires = "reports:publish")]
async fn publish(_auth: Authorized) -> Result<&'static str, ActionError> {
    Ok("published")
}

fn app() -> axum::Router {
    Actions::new(RolePolicy::new(), Tokens::new(MemoryTokenStore::new()), Resolvers::new())
        .mount(publish)
        .into_router(())
}

fn main() {
    let _ = app;
}
