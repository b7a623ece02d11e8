#![deny(unused_variables)]

use guard_runtime::{action, Authorized};

#[action(POST "/orders", requires = "orders:write")]
async fn create_order(_auth: Authorized) -> &'static str {
    let x = 1;
    "created"
}

fn main() {}
