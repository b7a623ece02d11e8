use guard_runtime::{action, Authorized, Json};

#[derive(serde::Deserialize, serde::Serialize)]
struct Upload {
    data: String,
}

#[action(POST "/uploads", requires = "uploads:write", limit = "16 KB")]
async fn upload(_auth: Authorized, Json(input): Json<Upload>) -> String {
    input.data
}

fn main() {}
