//! What guard needs to know about an object before an action touches it:
//! its tenant, its owner, and (for checks) its status. An order is read
//! whole and attached: `GET /orders/{id}` answers with the very row whose
//! tenant and owner guard checked, without reading it again.

use guard_runtime::{resolve, ObjectMeta, Resolvers, StoreError};
use sqlx::SqlitePool;

use crate::model::{parse_order_id, Order};
use crate::reads::Reads;

pub fn resolvers(pool: &SqlitePool) -> Resolvers {
    let reads = Reads::of(pool);
    let accounts_pool = pool.clone();
    let users_pool = pool.clone();
    Resolvers::new()
        .with("orders", resolve::from_fn(move |key| order(reads.clone(), key)))
        .with("service_accounts", resolve::from_fn(move |key| service_account(accounts_pool.clone(), key)))
        .with("users", resolve::from_fn(move |key| user(users_pool.clone(), key)))
}

/// `Ok(None)` for an odd key, exactly as for a missing order; `Err` (503)
/// only when the database fails.
async fn order(reads: Reads, key: String) -> Result<Option<ObjectMeta>, StoreError> {
    let Some(id) = parse_order_id(&key) else { return Ok(None) };
    let row = reads
        .fetch_optional(sqlx::query(concat!("SELECT ", crate::order_columns!(), " FROM orders WHERE id = ?")).bind(id))
        .await
        .map_err(|e| StoreError::new("orders resolver", e))?;
    let Some(row) = row else { return Ok(None) };
    let order = Order::from_row(&row).map_err(|e| StoreError::new("orders resolver", e))?;
    let meta = ObjectMeta::owned(order.tenant.as_str(), order.owner.as_str()).with_attribute("status", &order.status);
    Ok(Some(meta.with_object(order)))
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
