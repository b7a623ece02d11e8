//! guard's account source on SQLite: the users table, read on every request
//! a session or an agent's token authenticates, so a role change, a
//! disabling or a password change reaches every session, agent and instance
//! on its next request (instances share the SQLite file).

use std::sync::Arc;

use guard_runtime::authn::{Account, Accounts};
use guard_runtime::{StoreError, StoreFuture};
use sqlx::{Row, SqlitePool};

/// The users table as guard's [`Accounts`].
#[derive(Clone, Debug)]
pub struct SqliteAccounts {
    pool: SqlitePool,
}

impl SqliteAccounts {
    pub fn new(pool: SqlitePool) -> Self {
        SqliteAccounts { pool }
    }
}

fn account_error(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
    StoreError::new("account source", e)
}

impl Accounts for SqliteAccounts {
    /// A disabled user has no account: its sessions and agents get 401.
    fn account<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Result<Option<Arc<Account>>, StoreError>> {
        StoreFuture::new(async move {
            let row =
                sqlx::query("SELECT tenant, roles, credential_version FROM users WHERE name = ? AND disabled = 0")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(account_error)?;
            let Some(row) = row else { return Ok(None) };
            let roles: String = row.try_get("roles").map_err(account_error)?;
            let version: i64 = row.try_get("credential_version").map_err(account_error)?;
            Ok(Some(Arc::new(Account {
                tenant: row.try_get("tenant").map_err(account_error)?,
                roles: serde_json::from_str(&roles).map_err(account_error)?,
                credential_version: u64::try_from(version).map_err(account_error)?,
            })))
        })
    }
}
