use axum::extract::{Path, State};
use guard_runtime::{action, ActionError, ActionInfo, Authorized, Json};
use serde_json::{json, Value};

use crate::principals;
use crate::state::AppState;

/// Issues a new key for a service account of the admin's tenant; the old
/// key stops working at once (same credential id, revoked before issuing).
#[action(
    POST "/admin/service-accounts/{name}/rotate-key",
    requires = "service_accounts:rotate",
    callers = user,
    fresh,
    tenant = "name",
    resource = "service_accounts",
)]
pub async fn rotate_service_key(
    _auth: Authorized,
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ActionError> {
    let principal = principals::service(&app.pool, &name)
        .await
        .map_err(ActionError::unavailable)?
        .ok_or_else(ActionError::not_found)?;
    let api_key = app.tokens.rotate(principal).await?;
    tracing::info!(service_account = %name, "service account key rotated");
    Ok(Json(json!({ "api_key": api_key })))
}

/// The authorization manifest, straight from `Actions::manifest()`.
#[action(GET "/admin/actions", requires = "actions:read")]
pub async fn list_actions(_auth: Authorized, State(app): State<AppState>) -> Json<Vec<ActionInfo>> {
    Json(app.manifest.as_ref().clone())
}
