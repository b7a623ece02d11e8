use guard_runtime::{action, Authorized};

// Never mounted: the parameter is refused where the action is written.
#[action(POST "/orders", requires = "orders:write")]
async fn create_order(_auth: Authorized, note: String) -> String {
    note
}

fn main() {}
