//! Managing the users of one's tenant: changing a role, disabling.
//!
//! Neither touches a session or a token: every request checks its user's
//! account (`src/accounts.rs`, kept in memory by `src/cached.rs`), and each
//! change moves the credentials generation on, so it reaches every
//! session, every agent acting for the user, and every instance, on its
//! next request.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use guard_runtime::{action, ActionError, Authorized, Json};
use serde_json::{json, Value};

use crate::model::NewRole;
use crate::state::AppState;

/// The roles of the contract (see `app::policy`).
const ROLES: [&str; 3] = ["customer", "support", "admin"];

/// Gives a user of the admin's tenant one of the roles; it applies to that
/// user's next request.
#[action(
    POST "/admin/users/{name}/role",
    requires = "users:manage",
    callers = user,
    fresh,
    tenant = "name",
    resource = "users",
)]
pub async fn set_role(
    auth: Authorized,
    State(app): State<AppState>,
    Path(name): Path<String>,
    Json(input): Json<NewRole>,
) -> Result<Json<Value>, ActionError> {
    let Some(role) = ROLES.into_iter().find(|r| *r == input.role) else {
        return Err(ActionError::invalid_input("`role` must be `customer`, `support` or `admin`"));
    };
    let roles = serde_json::to_string(&[role]).map_err(ActionError::unavailable)?;
    let updated = sqlx::query("UPDATE users SET roles = ? WHERE name = ? AND tenant = ?")
        .bind(roles)
        .bind(&name)
        .bind(&auth.principal().tenant)
        .execute(&app.pool)
        .await
        .map_err(ActionError::unavailable)?;
    if updated.rows_affected() == 0 {
        return Err(ActionError::not_found());
    }
    app.credentials.bump().await?;
    tracing::info!(user = %name, role, by = %auth.principal().id, "role changed");
    Ok(Json(json!({ "user": name, "role": role })))
}

/// Disables a user of the admin's tenant: its sessions and agents stop at
/// once, and it can no longer log in.
#[action(
    POST "/admin/users/{name}/disable",
    requires = "users:manage",
    callers = user,
    fresh,
    tenant = "name",
    resource = "users",
)]
pub async fn disable_user(
    auth: Authorized,
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ActionError> {
    let updated = sqlx::query("UPDATE users SET disabled = 1 WHERE name = ? AND tenant = ?")
        .bind(&name)
        .bind(&auth.principal().tenant)
        .execute(&app.pool)
        .await
        .map_err(ActionError::unavailable)?;
    if updated.rows_affected() == 0 {
        return Err(ActionError::not_found());
    }
    app.credentials.bump().await?;
    // Dead already (the account is gone); revoked so they stay dead even
    // if the user is enabled again.
    app.sessions.revoke_all(&name, None).await?;
    tracing::info!(user = %name, by = %auth.principal().id, "user disabled");
    Ok(StatusCode::NO_CONTENT)
}
