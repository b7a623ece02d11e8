//! Principals as the database describes them now: every lookup reads the
//! current roles and scopes, so a change takes effect on the next request.

use guard_runtime::{Claims, Delegation, Principal};
use sqlx::{Row, SqlitePool};

use crate::db::credential_id;

fn list(json: &str) -> Result<Vec<String>, sqlx::Error> {
    serde_json::from_str(json).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// An enabled user and its password hash, read together with the hash's
/// credential version: a session made by proving this hash is bound to that
/// version, and dies as soon as the password changes (even if it is stored
/// after the change). A disabled user is no user: it cannot log in.
pub async fn user(pool: &SqlitePool, name: &str) -> Result<Option<(Principal, String)>, sqlx::Error> {
    let Some(row) = sqlx::query(
        "SELECT tenant, roles, password_hash, credential_version FROM users WHERE name = ? AND disabled = 0",
    )
    .bind(name)
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let mut principal = Principal::user(name, row.try_get::<String, _>("tenant")?, list(row.try_get("roles")?)?);
    let version: i64 = row.try_get("credential_version")?;
    principal.credential_version = u64::try_from(version).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok(Some((principal, row.try_get("password_hash")?)))
}

/// A service account, with the credential id its keys are issued under and
/// the claims its keys carry (a key rotated later is read with them too).
pub async fn service(pool: &SqlitePool, name: &str) -> Result<Option<Principal>, sqlx::Error> {
    let Some(row) = sqlx::query("SELECT tenant, scopes, claims FROM service_accounts WHERE name = ?")
        .bind(name)
        .fetch_optional(pool)
        .await?
    else {
        return Ok(None);
    };
    let mut principal = Principal::service(name, row.try_get::<String, _>("tenant")?, list(row.try_get("scopes")?)?);
    principal.credential_id = credential_id(name);
    principal.claims =
        serde_json::from_str::<Claims>(row.try_get("claims")?).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
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
