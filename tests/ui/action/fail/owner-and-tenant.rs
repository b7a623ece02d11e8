use guard_runtime::{action, Authorized};

#[action(POST "/orders/{order_id}/ship", requires = "orders:ship", owner = "order_id", tenant = "order_id")]
async fn ship(_auth: Authorized) -> &'static str {
    "shipped"
}

fn main() {}
