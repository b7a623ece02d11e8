//! The macro's caller kinds are the runtime's: every kind the runtime
//! defines can be named in `callers`, and names the same kind.
use guard_runtime::authn::{MemoryTokenStore, Tokens};
use guard_runtime::{action, Actions, Authorized, CallerKind, Resolvers, RolePolicy};

#[action(GET "/report", requires = "reports:read", callers = [user, service, agent])]
async fn report(_auth: Authorized) -> &'static str {
    "ok"
}

#[action(GET "/agents-only", requires = "reports:read", callers = agent)]
async fn agents_only(_auth: Authorized) -> &'static str {
    "ok"
}

fn main() {
    let actions = Actions::<()>::new(RolePolicy::new(), Tokens::new(MemoryTokenStore::new()), Resolvers::new())
        .mount(report)
        .mount(agents_only);
    assert_eq!(actions.manifest()[0].callers, CallerKind::ALL);
    assert_eq!(actions.manifest()[1].callers, [CallerKind::Agent]);
}
