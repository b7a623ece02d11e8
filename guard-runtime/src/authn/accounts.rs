//! Principals as the authoritative source describes them now, not as they
//! were when a session or key was stored.
//!
//! A session record keeps the principal of its login for hours, and a
//! shared token store keeps an agent's user's roles as they were when the
//! token was copied. With an [`Accounts`] source, [`Sessions`](super::Sessions)
//! and [`Tokens`](super::Tokens) look the user up on every request: a role
//! change applies to the next request, a disabled user's sessions and agents
//! stop at once, and a session made with a password that has since changed
//! no longer authenticates (ASVS 5.0 8.3.2, 7.4.3).

use std::sync::Arc;

use crate::{CallerKind, Principal, StoreError, StoreFuture};

/// A user account as it stands now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The tenant the user belongs to.
    pub tenant: String,
    /// The user's roles now.
    pub roles: Vec<String>,
    /// The version of the user's credential (password): raised by every
    /// change of it. A session authenticates only while its principal's
    /// [`credential_version`](Principal::credential_version) still equals it.
    pub credential_version: u64,
}

/// Where the current state of user accounts is read from, on every request
/// that a session or an agent's token authenticates.
///
/// Answer `None` for a user that does not exist or is disabled: its sessions
/// and agents then authenticate no more (401). An error denies with 503.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a guard account source",
    label = "expected a `guard_runtime::authn::Accounts`, such as `MemoryAccounts`",
    note = "implement `guard_runtime::authn::Accounts`; its documentation (`cargo doc -p guard-runtime --open`) says what to implement"
)]
pub trait Accounts: Send + Sync + 'static {
    /// The account of user `id` now, or `None` if unknown or disabled.
    fn account<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Result<Option<Arc<Account>>, StoreError>>;
}

impl<T: Accounts + ?Sized> Accounts for Arc<T> {
    fn account<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Result<Option<Arc<Account>>, StoreError>> {
        (**self).account(id)
    }
}

/// In-process [`Accounts`]: a map the application keeps up to date.
#[derive(Clone, Debug, Default)]
pub struct MemoryAccounts {
    accounts: Arc<std::sync::RwLock<crate::fast_map::FastMap<String, Arc<Account>>>>,
}

impl MemoryAccounts {
    /// No accounts: every user is unknown.
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates or replaces the account of user `id`.
    pub fn set(&self, id: &str, account: Account) -> Result<(), StoreError> {
        let mut map = self.accounts.write().map_err(|_| poisoned())?;
        map.insert(id.to_owned(), Arc::new(account));
        Ok(())
    }

    /// Removes the account of user `id` (disabled or deleted).
    pub fn remove(&self, id: &str) -> Result<(), StoreError> {
        let mut map = self.accounts.write().map_err(|_| poisoned())?;
        map.remove(id);
        Ok(())
    }
}

fn poisoned() -> StoreError {
    StoreError::new("account source", "lock poisoned")
}

impl Accounts for MemoryAccounts {
    fn account<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Result<Option<Arc<Account>>, StoreError>> {
        StoreFuture::ready(self.accounts.read().map(|map| map.get(id).cloned()).map_err(|_| poisoned()))
    }
}

/// How a stored principal is held against its user's account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Binding {
    /// A session: it proved the user's password, so it holds only while that
    /// password is unchanged.
    Password,
    /// A bearer key or token: it proved itself, not the user's password.
    Key,
}

/// `principal` as its user's account says now: the account's current roles
/// (a user's own, or an agent's user's), or `None` if that user is gone,
/// disabled, of another tenant, or (for a session) changed its password
/// since. A service account has no user: it is returned unchanged.
pub(crate) async fn current(
    accounts: &dyn Accounts,
    principal: Arc<Principal>,
    binding: Binding,
) -> Result<Option<Arc<Principal>>, StoreError> {
    let user = match principal.kind {
        CallerKind::Service => return Ok(Some(principal)),
        CallerKind::User => principal.id.as_str(),
        // An agent without a user acts for nobody.
        CallerKind::Agent => match &principal.on_behalf_of {
            Some(delegation) => delegation.user.as_str(),
            None => return Ok(None),
        },
    };
    let Some(account) = accounts.account(user).await? else { return Ok(None) };
    if account.tenant != principal.tenant {
        return Ok(None);
    }
    let bound_to_password = binding == Binding::Password && principal.kind == CallerKind::User;
    if bound_to_password && account.credential_version != principal.credential_version {
        return Ok(None);
    }
    let roles = match (&principal.kind, &principal.on_behalf_of) {
        (CallerKind::Agent, Some(delegation)) => &delegation.roles,
        _ => &principal.roles,
    };
    if *roles == account.roles {
        return Ok(Some(principal)); // unchanged: no copy
    }
    let mut now = Principal::clone(&principal);
    match (&now.kind, &mut now.on_behalf_of) {
        (CallerKind::Agent, Some(delegation)) => delegation.roles = account.roles.clone(),
        _ => now.roles = account.roles.clone(),
    }
    Ok(Some(Arc::new(now)))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use axum::http::request::Parts;
    use axum::http::Request;

    use super::{Account, MemoryAccounts};
    use crate::authn::{
        Authentication, Authenticator, MemorySessionStore, MemoryTokenStore, NewSession, Sessions, Tokens,
    };
    use crate::{Delegation, Principal};

    fn account(roles: &[&str], credential_version: u64) -> Account {
        Account { tenant: "acme".into(), roles: roles.iter().map(|r| r.to_string()).collect(), credential_version }
    }

    fn with_cookie(session: &NewSession) -> Parts {
        let cookie = session.set_cookie.to_str().expect("ascii").split(';').next().expect("pair").to_owned();
        Request::get("/").header("cookie", cookie).body(()).expect("request").into_parts().0
    }

    fn with_bearer(token: &str) -> Parts {
        Request::get("/").header("authorization", format!("Bearer {token}")).body(()).expect("request").into_parts().0
    }

    async fn roles_of(auth: &impl Authenticator, parts: &Parts) -> Option<Vec<String>> {
        match auth.authenticate(parts).await.expect("store") {
            Authentication::Authenticated(a) => Some(match &a.principal.on_behalf_of {
                Some(d) => d.roles.clone(),
                None => a.principal.roles.clone(),
            }),
            Authentication::Invalid | Authentication::Missing | Authentication::Unrecognized => None,
        }
    }

    /// Logins that verified the old password race a password change: every
    /// session they store, before or after the change's revocation, must
    /// be dead once the change is done. The logins and the change run on
    /// separate worker threads, released together by a barrier.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_password_change_ends_sessions_of_logins_racing_it() {
        for _round in 0..20 {
            let accounts = MemoryAccounts::new();
            accounts.set("alice", account(&["customer"], 1)).expect("set");
            let sessions = Sessions::new(MemorySessionStore::new()).accounts(accounts.clone());
            let barrier = Arc::new(tokio::sync::Barrier::new(9));
            let logins = (0..8u64)
                .map(|i| {
                    let (sessions, accounts, barrier) = (sessions.clone(), accounts.clone(), barrier.clone());
                    tokio::spawn(async move {
                        // What the login read with the hash it verified.
                        let version = accounts.accounts.read().expect("lock")["alice"].credential_version;
                        barrier.wait().await;
                        // The password check takes a while, more for some.
                        tokio::time::sleep(Duration::from_micros(200 * i)).await;
                        let mut alice = Principal::user("alice", "acme", ["customer"]);
                        alice.credential_version = version;
                        sessions.login(alice).await.expect("login")
                    })
                })
                .collect::<Vec<_>>();
            barrier.wait().await;
            tokio::time::sleep(Duration::from_micros(700)).await;
            accounts.set("alice", account(&["customer"], 2)).expect("set");
            sessions.revoke_all("alice", None).await.expect("revoke");
            for login in logins {
                let session = login.await.expect("join");
                assert_eq!(
                    roles_of(&sessions, &with_cookie(&session)).await,
                    None,
                    "a session of the old password lives"
                );
            }
            // A login with the new password works.
            let mut alice = Principal::user("alice", "acme", ["customer"]);
            alice.credential_version = 2;
            let fresh = sessions.login(alice).await.expect("login");
            assert!(roles_of(&sessions, &with_cookie(&fresh)).await.is_some());
        }
    }

    /// An account source that cannot answer.
    struct Down;

    impl super::Accounts for Down {
        fn account<'a>(
            &'a self,
            _: &'a str,
        ) -> crate::StoreFuture<'a, Result<Option<Arc<Account>>, crate::StoreError>> {
            crate::StoreFuture::ready(Err(crate::StoreError::new("account source", "down")))
        }
    }

    /// Fail closed: a session or agent whose account cannot be read is an
    /// error (503), never the stored principal. A service account needs no
    /// account and is unaffected.
    #[tokio::test]
    async fn an_account_source_that_fails_fails_the_authentication() {
        let sessions = Sessions::new(MemorySessionStore::new()).accounts(Down);
        let tokens = Tokens::new(MemoryTokenStore::new()).accounts(Down);
        let session = sessions.login(Principal::user("alice", "acme", ["customer"])).await.expect("login");
        let delegation = Delegation { user: "alice".into(), roles: vec!["customer".into()] };
        tokens.issue("agent-token", Principal::agent("bot", "acme", ["orders:*"], delegation)).await.expect("issue");
        tokens.issue("svc-key", Principal::service("svc", "acme", ["orders:read"])).await.expect("issue");
        assert!(sessions.authenticate(&with_cookie(&session)).await.is_err());
        assert!(tokens.authenticate(&with_bearer("agent-token")).await.is_err());
        assert!(matches!(tokens.authenticate(&with_bearer("svc-key")).await, Ok(Authentication::Authenticated(_))));
    }

    #[tokio::test]
    async fn a_session_rebound_to_the_new_password_lives_on() {
        let accounts = MemoryAccounts::new();
        accounts.set("alice", account(&["customer"], 1)).expect("set");
        let sessions = Sessions::new(MemorySessionStore::new()).accounts(accounts.clone());
        let mut alice = Principal::user("alice", "acme", ["customer"]);
        alice.credential_version = 1;
        let here = sessions.login(alice.clone()).await.expect("login");
        let elsewhere = sessions.login(alice).await.expect("login");
        let Authentication::Authenticated(found) = sessions.authenticate(&with_cookie(&here)).await.expect("store")
        else {
            panic!("not authenticated")
        };
        let crate::authn::Via::Session { id, .. } = found.via else { panic!("not a session") };
        accounts.set("alice", account(&["customer"], 2)).expect("set");
        sessions.rebind(&id, 2).await.expect("rebind");
        assert!(roles_of(&sessions, &with_cookie(&here)).await.is_some());
        assert_eq!(roles_of(&sessions, &with_cookie(&elsewhere)).await, None);
    }

    #[tokio::test]
    async fn role_changes_and_disabling_apply_to_the_next_request_of_sessions_and_agents() {
        let accounts = MemoryAccounts::new();
        accounts.set("alice", account(&["customer"], 0)).expect("set");
        let sessions = Sessions::new(MemorySessionStore::new()).accounts(accounts.clone());
        let tokens = Tokens::new(MemoryTokenStore::new()).accounts(accounts.clone());
        let session = sessions.login(Principal::user("alice", "acme", ["customer"])).await.expect("login");
        let delegation = Delegation { user: "alice".into(), roles: vec!["customer".into()] };
        tokens.issue("agent-token", Principal::agent("bot", "acme", ["orders:*"], delegation)).await.expect("issue");
        tokens.issue("svc-key", Principal::service("svc", "acme", ["orders:read"])).await.expect("issue");
        let (cookie, bearer) = (with_cookie(&session), with_bearer("agent-token"));
        let customer = Some(vec!["customer".to_owned()]);
        assert_eq!(roles_of(&sessions, &cookie).await, customer);
        assert_eq!(roles_of(&tokens, &bearer).await, customer);

        accounts.set("alice", account(&["support"], 0)).expect("set");
        let support = Some(vec!["support".to_owned()]);
        assert_eq!(roles_of(&sessions, &cookie).await, support);
        assert_eq!(roles_of(&tokens, &bearer).await, support);

        // Another tenant's account of the same name is not this user.
        accounts.set("alice", Account { tenant: "globex".into(), ..account(&["admin"], 0) }).expect("set");
        assert_eq!(roles_of(&sessions, &cookie).await, None);
        assert_eq!(roles_of(&tokens, &bearer).await, None);

        accounts.remove("alice").expect("remove");
        assert_eq!(roles_of(&sessions, &cookie).await, None);
        assert_eq!(roles_of(&tokens, &bearer).await, None);
        // A service account has no user: unaffected.
        assert_eq!(roles_of(&tokens, &with_bearer("svc-key")).await, Some(vec![]));
    }
}
