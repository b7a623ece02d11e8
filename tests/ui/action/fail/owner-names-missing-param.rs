use guard_runtime::{action, Authorized};

#[action(DELETE "/orders/{id}", requires = "orders:delete", owner = "order_id")]
async fn delete_order(_auth: Authorized) -> &'static str {
    "deleted"
}

fn main() {}
