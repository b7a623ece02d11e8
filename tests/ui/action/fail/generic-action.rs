use guard_runtime::{action, Authorized};

#[action(POST "/orders", requires = "orders:write")]
async fn create_order<T: Default>(_auth: Authorized) -> &'static str {
    let _ = T::default();
    "created"
}

fn main() {}
