#![deny(dead_code)]

use guard_runtime::{action, Authorized};

// Never mounted: the lint must still say so.
#[action(POST "/orders", requires = "orders:write")]
async fn create_order(_auth: Authorized) -> &'static str {
    "created"
}

fn main() {}
