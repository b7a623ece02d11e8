use axum::extract::Path;
use guard_runtime::{action, Authorized, Form};

#[derive(serde::Deserialize, serde::Serialize)]
struct NewAddress {
    street: String,
}

#[action(POST "/orders/{order_id}/address", requires = "orders:write")]
async fn change_address(_auth: Authorized, Form(input): Form<NewAddress>, Path(order_id): Path<String>) -> String {
    format!("{order_id} ships to {}", input.street)
}

fn main() {}
