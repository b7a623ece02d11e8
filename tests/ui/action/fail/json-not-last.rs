use axum::extract::Path;
use guard_runtime::{action, Authorized, Json};

#[derive(serde::Deserialize, serde::Serialize)]
struct NewAddress {
    street: String,
}

#[action(POST "/orders/{order_id}/address", requires = "orders:write")]
async fn change_address(_auth: Authorized, Json(input): Json<NewAddress>, Path(order_id): Path<String>) -> String {
    format!("{order_id} ships to {}", input.street)
}

fn main() {}
