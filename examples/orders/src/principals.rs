//! Principals as the database describes them now: every lookup reads the
//! current roles and scopes, so a change takes effect on the next request.

use guard_runtime::{Delegation, Principal};
use sqlx::{Row, SqlitePool};

use crate::db::credential_id;

fn list(json: &str) -> Result<Vec<String>, sqlx::Error> {
    serde_json::from_str(json).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// A user and its password hash.
pub async fn user(pool: &SqlitePool, name: &str) -> Result<Option<(Principal, String)>, sqlx::Error> {
    let Some(row) = sqlx::query("SELECT tenant, roles, password_hash FROM users WHERE name = ?")
        .bind(name)
        .fetch_optional(pool)
        .await?
    else {
        return Ok(None);
    };
    let principal = Principal::user(name, row.try_get::<String, _>("tenant")?, list(row.try_get("roles")?)?);
    Ok(Some((principal, row.try_get("password_hash")?)))
}

/// A service account, with the credential id its keys are issued under.
pub async fn service(pool: &SqlitePool, name: &str) -> Result<Option<Principal>, sqlx::Error> {
    let Some(row) = sqlx::query("SELECT tenant, scopes FROM service_accounts WHERE name = ?")
        .bind(name)
        .fetch_optional(pool)
        .await?
    else {
        return Ok(None);
    };
    let mut principal = Principal::service(name, row.try_get::<String, _>("tenant")?, list(row.try_get("scopes")?)?);
    principal.credential_id = credential_id(name);
    Ok(Some(principal))
}

/// An agent, with its user's current roles. An agent whose user is gone or
/// of another tenant is no principal at all.
pub async fn agent(pool: &SqlitePool, name: &str) -> Result<Option<Principal>, sqlx::Error> {
    let Some(row) = sqlx::query(
        "SELECT a.tenant, a.scopes, a.user_name, u.roles FROM agents a \
         JOIN users u ON u.name = a.user_name AND u.tenant = a.tenant WHERE a.name = ?",
    )
    .bind(name)
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let delegation = Delegation { user: row.try_get("user_name")?, roles: list(row.try_get("roles")?)? };
    let mut principal =
        Principal::agent(name, row.try_get::<String, _>("tenant")?, list(row.try_get("scopes")?)?, delegation);
    principal.credential_id = credential_id(name);
    Ok(Some(principal))
}
