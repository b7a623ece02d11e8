use guard_runtime::{action, Authorized, Json};

#[derive(serde::Deserialize)]
struct NewOrder {
    item: String,
}

#[action(POST "/orders", requires = "orders:write")]
async fn create_order(_auth: Authorized, Json(input): Json<NewOrder>) -> String {
    input.item
}

fn main() {}
