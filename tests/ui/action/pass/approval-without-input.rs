//! An action without input can need approval: its approvals bind to the
//! action, the object and the requester (and the digest of no input).
use axum::extract::State;
use guard_runtime::approval::{ApprovalRequest, Approvals};
use guard_runtime::authn::{MemoryTokenStore, Tokens};
use guard_runtime::{action, resolve, ActionError, Actions, Authorized, Json, Resolvers, RolePolicy};

#[action(DELETE "/orders/{order_id}", requires = "orders:delete", owner = "order_id", approval = "orders:approve")]
async fn delete_order(_auth: Authorized) -> &'static str {
    "deleted"
}

#[action(GET "/approvals", requires = "orders:approve", callers = user)]
async fn pending(auth: Authorized, State(approvals): State<Approvals>) -> Result<Json<Vec<ApprovalRequest>>, ActionError> {
    approvals.pending(&auth).await.map(Json)
}

fn app() -> axum::Router {
    let resolvers = Resolvers::new().with("orders", resolve::from_fn(|_key| async { Ok(None) }));
    let actions = Actions::new(RolePolicy::new(), Tokens::new(MemoryTokenStore::new()), resolvers);
    let approvals = actions.approvals();
    actions.mount(delete_order).mount(pending).into_router(approvals)
}

fn main() {
    let _ = app;
}
