use guard_runtime::{action, Authorized};

struct Order {
    id: u64,
}

#[action(POST "/orders", requires = "orders:write")]
async fn create_order(_auth: Authorized) -> Order {
    Order { id: 1 }
}

fn main() {}
