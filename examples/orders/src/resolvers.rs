//! What guard needs to know about an object before an action touches it:
//! its tenant, its owner, and (for checks) its status.

use guard_runtime::{resolve, ObjectMeta, Resolvers, StoreError};
use sqlx::{Row, SqlitePool};

use crate::model::parse_order_id;

pub fn resolvers(pool: &SqlitePool) -> Resolvers {
    let orders_pool = pool.clone();
    let accounts_pool = pool.clone();
    let users_pool = pool.clone();
    Resolvers::new()
        .with("orders", resolve::from_fn(move |key| order(orders_pool.clone(), key)))
        .with("service_accounts", resolve::from_fn(move |key| service_account(accounts_pool.clone(), key)))
        .with("users", resolve::from_fn(move |key| user(users_pool.clone(), key)))
}

/// `Ok(None)` for an odd key, exactly as for a missing order; `Err` (503)
/// only when the database fails.
async fn order(pool: SqlitePool, key: String) -> Result<Option<ObjectMeta>, StoreError> {
    let Some(id) = parse_order_id(&key) else { return Ok(None) };
    let row = sqlx::query("SELECT tenant, owner, status FROM orders WHERE id = ?")
        .bind(id)
        .fetch_optional(&pool)
        .await
        .map_err(|e| StoreError::new("orders resolver", e))?;
    let Some(row) = row else { return Ok(None) };
    let get = |column: &str| row.try_get::<String, _>(column).map_err(|e| StoreError::new("orders resolver", e));
    Ok(Some(ObjectMeta::owned(get("tenant")?, get("owner")?).with_attribute("status", get("status")?)))
}

/// A service account belongs to a tenant and to no owner.
async fn service_account(pool: SqlitePool, key: String) -> Result<Option<ObjectMeta>, StoreError> {
    let tenant: Option<String> = sqlx::query_scalar("SELECT tenant FROM service_accounts WHERE name = ?")
        .bind(&key)
        .fetch_optional(&pool)
        .await
        .map_err(|e| StoreError::new("service account resolver", e))?;
    Ok(tenant.map(|tenant| ObjectMeta { tenant: tenant.into(), ..ObjectMeta::default() }))
}

/// A user belongs to a tenant (disabled or not) and to no owner: an admin
/// manages the users of its tenant, and another tenant's are missing.
async fn user(pool: SqlitePool, key: String) -> Result<Option<ObjectMeta>, StoreError> {
    let tenant: Option<String> = sqlx::query_scalar("SELECT tenant FROM users WHERE name = ?")
        .bind(&key)
        .fetch_optional(&pool)
        .await
        .map_err(|e| StoreError::new("user resolver", e))?;
    Ok(tenant.map(|tenant| ObjectMeta { tenant: tenant.into(), ..ObjectMeta::default() }))
}
