use guard_runtime::{action, Authorized};

#[action(POST "/orders", requires = "orders:write", page)]
async fn create_order(_auth: Authorized) -> &'static str {
    "created"
}

fn main() {}
