use guard_runtime::{action, Authorized};

#[action(POST "/orders", requires = "orders:write", fresh, requires = "orders:create")]
async fn create_order(_auth: Authorized) -> &'static str {
    "created"
}

fn main() {}
