//! One mistake in the attribute gives one error: using the action
//! afterwards (mounting it) does not add a second one.
use guard_runtime::authn::{MemoryTokenStore, Tokens};
use guard_runtime::{action, Actions, Authorized, Resolvers, RolePolicy};

#[action(POST "/orders", requires = "orders:write", fresh = "later")]
async fn create_order(_auth: Authorized) -> &'static str {
    "created"
}

fn main() {
    let _ = Actions::new(RolePolicy::new(), Tokens::new(MemoryTokenStore::new()), Resolvers::new()).mount(create_order).into_router(());
}
