use guard_runtime::{action, Authorized, Json};

#[derive(serde::Deserialize, serde::Serialize)]
struct ChangeAddress {
    id: String,
    street: String,
}

#[action(POST "/orders/address", requires = "orders:write", owner = "order_id")]
async fn change_address(_auth: Authorized, Json(input): Json<ChangeAddress>) -> String {
    format!("{} now ships to {}", input.id, input.street)
}

fn main() {}
