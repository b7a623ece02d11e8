use guard_runtime::authn::{MemoryTokenStore, Tokens};
use guard_runtime::{action, Actions, Authorized, Resolvers, RolePolicy};

#[action(POST "/orders", requires = "orders:write")]
async fn create_order(_auth: Authorized, note: String) -> String {
    note
}

fn main() {
    let _ = Actions::new(RolePolicy::new(), Tokens::new(MemoryTokenStore::new()), Resolvers::new())
        .mount(create_order)
        .into_router(());
}
