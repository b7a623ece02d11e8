use guard_runtime::{action, Authorized, Grant};

guard_runtime::permissions! {
    pub OrdersWrite = "orders:write";
    pub OrdersDelete = "orders:delete";
}

#[action(POST "/orders/{order_id}/archive", requires = "orders:write")]
async fn archive(_auth: Authorized, _grant: Grant<OrdersDelete>) -> &'static str {
    "archived"
}

fn main() {}
