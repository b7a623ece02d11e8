//! `owner` names a field of the JSON input when the route has no such parameter.
use guard_runtime::authn::{MemoryTokenStore, Tokens};
use guard_runtime::{action, resolve, Actions, Authorized, Json, Resolvers, RolePolicy};

#[derive(serde::Deserialize, serde::Serialize)]
struct ChangeAddress {
    order_id: String,
    street: String,
}

#[action(POST "/orders/address", requires = "orders:write", owner = "order_id")]
async fn change_address(_auth: Authorized, Json(input): Json<ChangeAddress>) -> String {
    format!("{} now ships to {}", input.order_id, input.street)
}

fn app() -> axum::Router {
    let resolvers = Resolvers::new().with("orders", resolve::from_fn(|_key| async { Ok(None) }));
    Actions::new(RolePolicy::new(), Tokens::new(MemoryTokenStore::new()), resolvers)
        .mount(change_address)
        .into_router(())
}

fn main() {
    let _ = app;
}
