use guard_runtime::{action, Authorized};

#[action(POST "/orders", requires = "Orders", fresh = "soon", colour = "red", callers = [robot])]
fn create_order(_auth: Authorized) -> &'static str {
    "created"
}

fn main() {}
