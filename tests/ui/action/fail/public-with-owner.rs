use guard_runtime::action;

#[action(GET "/orders/{order_id}", public = "order status page", owner = "order_id")]
async fn order_status() -> &'static str {
    "shipped"
}

fn main() {}
