//! Any axum `FromRequestParts` extractor works, with the app's state.
use axum::extract::{Path, State};
use guard_runtime::authn::{MemoryTokenStore, Tokens};
use guard_runtime::{action, resolve, Actions, Authorized, Resolvers, RolePolicy};

#[derive(Clone)]
struct AppState {
    greeting: &'static str,
}

#[action(GET "/orders/{order_id}", requires = "orders:read", owner = "order_id")]
async fn show(_auth: Authorized, State(state): State<AppState>, Path(order_id): Path<String>) -> String {
    format!("{} {order_id}", state.greeting)
}

fn app() -> axum::Router {
    let resolvers = Resolvers::new().with("orders", resolve::from_fn(|_key| async { Ok(None) }));
    Actions::<AppState>::new(RolePolicy::new(), Tokens::new(MemoryTokenStore::new()), resolvers)
        .mount(show)
        .into_router(AppState { greeting: "order" })
}

fn main() {
    let _ = app;
}
