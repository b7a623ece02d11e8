use guard_runtime::{action, Authorized, Grant};

guard_runtime::permissions! {
    pub OrdersWrite = "orders:write";
    pub OrdersRead = "orders:read";
}

mod db {
    use super::*;

    pub fn cancel_order(_proof: &Grant<OrdersWrite>, id: &str) -> String {
        format!("order {id} cancelled")
    }
}

#[action(POST "/orders/{order_id}/cancel", requires = "orders:read")]
async fn cancel(_auth: Authorized, grant: Grant<OrdersRead>) -> String {
    db::cancel_order(&grant, "42")
}

fn main() {}
