use guard_runtime::{action, Authorized, Json};

#[derive(serde::Deserialize, serde::Serialize)]
struct Key {
    shard: u8,
    id: u64,
}

#[derive(serde::Deserialize, serde::Serialize)]
struct Archive {
    order: Key,
}

#[action(POST "/orders/archive", requires = "orders:write", tenant = "order")]
async fn archive(_auth: Authorized, Json(input): Json<Archive>) -> String {
    format!("archived {}", input.order.id)
}

fn main() {}
