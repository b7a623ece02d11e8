use guard_runtime::{action, Json};
use serde_json::{json, Value};

#[action(GET "/health", public = "liveness probe: reveals nothing")]
pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}
