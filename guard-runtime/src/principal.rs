//! Who is calling: users, service accounts and agents acting for a user.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// The kind of caller. Agents and services are told apart from humans, and
/// an action lists the kinds it accepts with `callers = [...]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallerKind {
    /// A human, usually with a session cookie.
    User,
    /// A service account, usually with an API key. Owns nothing; acts on
    /// every object of its tenant within its scopes.
    Service,
    /// An AI agent or other delegate acting for a user, with a bearer token.
    /// Never more than its user, and only on its user's objects.
    Agent,
}

impl CallerKind {
    /// `"user"`, `"service"` or `"agent"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            CallerKind::User => "user",
            CallerKind::Service => "service",
            CallerKind::Agent => "agent",
        }
    }

    pub(crate) const fn bit(self) -> u8 {
        match self {
            CallerKind::User => 1,
            CallerKind::Service => 2,
            CallerKind::Agent => 4,
        }
    }
}

/// The user an agent acts for, with that user's roles, so the agent's
/// permissions can be intersected with them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegation {
    /// The delegating user's id.
    pub user: String,
    /// The delegating user's roles.
    pub roles: Vec<String>,
}

/// An authenticated caller.
///
/// Built by an [`Authenticator`](crate::Authenticator) from a credential, never
/// from a request header that merely claims an identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// Stable id (the name shown in audit records).
    pub id: String,
    /// User, service or agent.
    pub kind: CallerKind,
    /// The tenant it belongs to. Nobody crosses tenants.
    pub tenant: String,
    /// Roles, mapped to permissions by the [`Policy`](crate::Policy). Used for users.
    pub roles: Vec<String>,
    /// Permission grants (`orders:read`, `orders:*`). Used for services and agents.
    pub scopes: Vec<String>,
    /// For an agent: the user it acts for.
    pub on_behalf_of: Option<Delegation>,
    /// When the credential was last proved (password, re-authentication).
    /// For a bearer key, when it was issued: every bearer request proves its
    /// key anew, so `fresh` always holds for bearer callers.
    pub authenticated_at: SystemTime,
    /// Which credential authenticated it (session, key or token id), for audit
    /// and revocation. Never the secret itself.
    pub credential_id: String,
    /// For a user: the version of the password it proved (see
    /// [`Account::credential_version`](crate::authn::Account)). A session
    /// keeps it, so that a password change ends every session made with the
    /// old password, even one stored after the change. 0 when unused.
    #[serde(default)]
    pub credential_version: u64,
}

impl Principal {
    /// A human user with roles.
    pub fn user(
        id: impl Into<String>,
        tenant: impl Into<String>,
        roles: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Principal {
            id: id.into(),
            kind: CallerKind::User,
            tenant: tenant.into(),
            roles: roles.into_iter().map(Into::into).collect(),
            scopes: Vec::new(),
            on_behalf_of: None,
            authenticated_at: SystemTime::now(),
            credential_id: String::new(),
            credential_version: 0,
        }
    }

    /// A service account with scopes.
    pub fn service(
        id: impl Into<String>,
        tenant: impl Into<String>,
        scopes: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Principal {
            kind: CallerKind::Service,
            roles: Vec::new(),
            scopes: scopes.into_iter().map(Into::into).collect(),
            ..Principal::user(id, tenant, Vec::<String>::new())
        }
    }

    /// An agent acting for `user` (with that user's roles), within `scopes`.
    pub fn agent(
        id: impl Into<String>,
        tenant: impl Into<String>,
        scopes: impl IntoIterator<Item = impl Into<String>>,
        on_behalf_of: Delegation,
    ) -> Self {
        Principal {
            kind: CallerKind::Agent,
            on_behalf_of: Some(on_behalf_of),
            ..Principal::service(id, tenant, scopes)
        }
    }

    /// The id objects are owned by when this principal creates them, and that
    /// owner checks compare with: the user's own id, an agent's user's id.
    /// `None` for a service account, which owns nothing.
    pub fn owner_id(&self) -> Option<&str> {
        match self.kind {
            CallerKind::User => Some(&self.id),
            CallerKind::Agent => self.on_behalf_of.as_ref().map(|d| d.user.as_str()),
            CallerKind::Service => None,
        }
    }
}
