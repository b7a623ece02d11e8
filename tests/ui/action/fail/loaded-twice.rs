use guard_runtime::{action, Authorized, Loaded};

struct Order;

#[action(GET "/orders/{id}", requires = "orders:read", owner = "id")]
async fn get_order(_auth: Authorized, _order: Loaded<Order>, _again: Loaded<Order>) -> &'static str {
    "order"
}

fn main() {}
