use guard_runtime::{action, Authorized, Json};

#[derive(serde::Deserialize, serde::Serialize)]
struct ChangeAddress {
    order_id: Option<String>,
    street: String,
}

#[action(POST "/orders/address", requires = "orders:write", owner = "order_id")]
async fn change_address(_auth: Authorized, Json(input): Json<ChangeAddress>) -> String {
    format!("now ships to {}", input.street)
}

fn main() {}
