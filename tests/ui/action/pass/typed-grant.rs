//! A data-layer write demands proof that `orders:write` was checked.
use guard_runtime::authn::{MemoryTokenStore, Tokens};
use guard_runtime::{action, Actions, Authorized, Grant, Resolvers, RolePolicy};

guard_runtime::permissions! {
    pub OrdersWrite = "orders:write";
    pub OrdersRead = "orders:read";
}

mod db {
    use super::*;

    pub fn cancel_order(_proof: &Grant<OrdersWrite>, id: &str) -> String {
        format!("order {id} cancelled")
    }
}

#[action(POST "/orders/{order_id}/cancel", requires = ["orders:read", "orders:write"])]
async fn cancel(_auth: Authorized, grant: Grant<OrdersWrite>, _read: Grant<OrdersRead>) -> String {
    db::cancel_order(&grant, "42")
}

fn app() -> axum::Router {
    Actions::new(RolePolicy::new(), Tokens::new(MemoryTokenStore::new()), Resolvers::new())
        .mount(cancel)
        .into_router(())
}

fn main() {
    let _ = app;
}
