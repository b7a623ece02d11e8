use guard_runtime::{action, Authorized};

// An approval binds to one object: without `owner`/`tenant` there is none.
#[action(POST "/refunds", requires = "orders:refund", approval = "orders:approve")]
async fn refund_everything(_auth: Authorized) -> &'static str {
    "refunded"
}

// A public action has no requester to bind an approval to.
#[action(POST "/orders/{order_id}/refund", public = "test", owner = "order_id", approval = "orders:approve")]
async fn public_refund() -> &'static str {
    "refunded"
}

// The approver's permission is exact, and written.
#[action(POST "/orders/{order_id}/close", requires = "orders:close", owner = "order_id", approval = "orders:*")]
async fn close(_auth: Authorized) -> &'static str {
    "closed"
}

#[action(POST "/orders/{order_id}/purge", requires = "orders:purge", owner = "order_id", approval)]
async fn purge(_auth: Authorized) -> &'static str {
    "purged"
}

fn main() {}
