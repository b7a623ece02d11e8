use std::rc::Rc;

use guard_runtime::{action, Authorized, Loaded};

// An object shared across requests must cross threads: `Rc` cannot.
struct Order {
    _item: Rc<str>,
}

#[action(GET "/orders/{id}", requires = "orders:read", owner = "id")]
async fn get_order(_auth: Authorized, _order: Loaded<Order>) -> &'static str {
    "order"
}

fn main() {}
