use guard_runtime::{action, Loaded};

struct Order;

#[action(GET "/orders/{id}", public = "a status page")]
async fn order_status(_order: Loaded<Order>) -> &'static str {
    "fine"
}

fn main() {}
