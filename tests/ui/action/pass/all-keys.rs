//! Every key of the attribute at once.
use guard_runtime::authn::{MemoryTokenStore, Tokens};
use guard_runtime::{
    action, resolve, ActionError, Actions, Authorized, CheckContext, CheckError, Json, Resolvers, RolePolicy,
};

#[derive(serde::Deserialize, serde::Serialize)]
struct Refund {
    cents: u64,
}

mod checks {
    use super::*;

    pub async fn order_is_paid(context: &CheckContext<'_>) -> Result<(), CheckError> {
        match context.object.and_then(|o| o.attributes.get("state")).map(String::as_str) {
            Some("paid") => Ok(()),
            _ => Err(CheckError::denied("only a paid order can be refunded")),
        }
    }
}

/// Refunds part of a paid order.
#[action(
    POST "/tenants/{tenant_id}/orders/{order_id}/refund",
    requires = ["orders:refund", "payments:write"],
    tenant = "order_id",
    resource = "orders",
    callers = [user, agent],
    fresh = "5m",
    replay = "x-nonce",
    check = checks::order_is_paid,
    bind(environment = "production", ref = "refs/heads/main"),
    acr = ["phr", "phrh"],
    approval = "orders:approve",
    limit = "16KiB",
    crate = ::guard_runtime,
)]
async fn refund(auth: Authorized, Json(input): Json<Refund>) -> Result<String, ActionError> {
    Ok(format!("{} refunded {} cents", auth.principal().id, input.cents))
}

fn app() -> axum::Router {
    let resolvers = Resolvers::new().with("orders", resolve::from_fn(|_key| async { Ok(None) }));
    Actions::new(RolePolicy::new(), Tokens::new(MemoryTokenStore::new()), resolvers)
        .mount(refund)
        .into_router(())
}

fn main() {
    let _ = app;
}
