use guard_runtime::authn::{MemoryTokenStore, Tokens};
use guard_runtime::{action, Actions, Authorized, Resolvers, RolePolicy};

#[action(requires = "reports:read")]
async fn report(_auth: Authorized) -> &'static str {
    "ok"
}

fn main() {
    let _ = Actions::new(RolePolicy::new(), Tokens::new(MemoryTokenStore::new()), Resolvers::new()).mount(report);
}
