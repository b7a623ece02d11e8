//! JWT credentials from the OIDC issuer of `--oidc-issuer`: who a verified
//! token stands for, read from the app's own tables.
//!
//! The token names the caller; the app decides what it may do. Tenant,
//! roles and registered scopes come from SQLite, never from the token; the
//! token's `scope` can only narrow the registered scopes (a token without
//! `scope` gets none). `act: {"sub": AGENT}` makes the caller that agent,
//! acting for the user `sub`: an agent the app registered for that user,
//! whose account is enabled. Without `act`, `sub` names a service account.
//! Anything else is no principal: 401.

use guard_runtime::authn::jwt::{MapClaims, VerifiedToken};
use guard_runtime::authn::Accounts;
use guard_runtime::{Delegation, Principal, StoreError, StoreFuture};
use sqlx::SqlitePool;

use crate::accounts::SqliteAccounts;
use crate::principals;

/// The app's [`MapClaims`]: services and agents from its own tables.
#[derive(Clone, Debug)]
pub struct OrdersClaims {
    pool: SqlitePool,
    accounts: SqliteAccounts,
}

impl OrdersClaims {
    pub fn new(pool: SqlitePool, accounts: SqliteAccounts) -> Self {
        OrdersClaims { pool, accounts }
    }

    /// The service account `sub`, with its registered scopes narrowed.
    async fn service(&self, token: &VerifiedToken) -> Result<Option<Principal>, StoreError> {
        let Some(service) = principals::service(&self.pool, token.subject()).await.map_err(store_error)? else {
            return Ok(None);
        };
        Ok(Some(Principal::service(service.id, service.tenant, token.narrow(&service.scopes))))
    }

    /// The agent `agent` acting for the user `sub`: registered for that
    /// user, who is enabled, with the user's current roles.
    async fn agent(&self, token: &VerifiedToken, agent: &str) -> Result<Option<Principal>, StoreError> {
        let Some(registered) = principals::agent(&self.pool, agent).await.map_err(store_error)? else {
            return Ok(None);
        };
        let user = token.subject();
        if registered.on_behalf_of.as_ref().map(|d| d.user.as_str()) != Some(user) {
            return Ok(None); // an agent of another user
        }
        // A disabled (or deleted) user has no account: its agents stop.
        let Some(account) = self.accounts.account(user).await? else { return Ok(None) };
        if account.tenant != registered.tenant {
            return Ok(None);
        }
        let delegation = Delegation { user: user.to_owned(), roles: account.roles.clone() };
        Ok(Some(Principal::agent(registered.id, registered.tenant, token.narrow(&registered.scopes), delegation)))
    }
}

fn store_error(e: sqlx::Error) -> StoreError {
    StoreError::new("principals", e)
}

impl MapClaims for OrdersClaims {
    fn map<'a>(&'a self, token: &'a VerifiedToken) -> StoreFuture<'a, Result<Option<Principal>, StoreError>> {
        StoreFuture::new(async move {
            let principal = if token.claims().get("act").is_some() {
                // Delegation: an `act` that names no actor is no principal.
                match token.actor().filter(|a| !a.is_empty()) {
                    Some(agent) => self.agent(token, agent).await?,
                    None => None,
                }
            } else {
                self.service(token).await?
            };
            // The token's claims (`environment`, `act`, ...), its id and
            // its authentication time.
            Ok(principal.map(|p| token.stamp(p)))
        })
    }
}
