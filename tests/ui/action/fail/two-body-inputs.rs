use guard_runtime::{action, Authorized, Form, Json};

#[derive(serde::Deserialize, serde::Serialize)]
struct NewOrder {
    item: String,
}

#[action(POST "/orders", requires = "orders:write")]
async fn create_order(_auth: Authorized, Json(a): Json<NewOrder>, Form(b): Form<NewOrder>) -> String {
    format!("{} {}", a.item, b.item)
}

fn main() {}
