use guard_runtime::{action, Authorized, Loaded};

struct Order;

#[action(GET "/orders/{id}", requires = "orders:read")]
async fn get_order(_auth: Authorized, _order: Loaded<Order>) -> &'static str {
    "order"
}

fn main() {}
