//! Who is calling: users, service accounts and agents acting for a user.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::Claims;

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

    /// Every kind, in the order the manifest lists them.
    pub const ALL: [CallerKind; 3] = [CallerKind::User, CallerKind::Service, CallerKind::Agent];

    /// The kind named `name` (as in `callers = [user, agent]`).
    pub const fn from_name(name: &str) -> Option<CallerKind> {
        match name.as_bytes() {
            b"user" => Some(CallerKind::User),
            b"service" => Some(CallerKind::Service),
            b"agent" => Some(CallerKind::Agent),
            _ => None,
        }
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// A set of caller kinds: the `callers = [...]` an action admits. The
/// macro writes it with [`CallerSet::from_names`], so the names are the
/// runtime's, checked when the action compiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallerSet(u8);

impl CallerSet {
    /// No kind.
    pub const EMPTY: CallerSet = CallerSet(0);
    /// Every kind: the default of `callers`.
    pub const ALL: CallerSet =
        CallerSet::EMPTY.with(CallerKind::User).with(CallerKind::Service).with(CallerKind::Agent);

    /// The set with `kind` added.
    pub const fn with(self, kind: CallerKind) -> CallerSet {
        CallerSet(self.0 | kind.bit())
    }

    /// The kinds named in `names`. Evaluated at compile time in generated
    /// code: an unknown name fails the build.
    pub const fn from_names(names: &[&str]) -> CallerSet {
        let mut set = CallerSet::EMPTY;
        let mut i = 0;
        while i < names.len() {
            match CallerKind::from_name(names[i]) {
                Some(kind) => set = set.with(kind),
                None => panic!("unknown caller kind: expected `user`, `service` or `agent`"),
            }
            i += 1;
        }
        set
    }

    /// Whether `kind` is in the set.
    pub const fn contains(self, kind: CallerKind) -> bool {
        self.0 & kind.bit() != 0
    }

    /// The kinds in the set, in [`CallerKind::ALL`]'s order.
    pub fn kinds(self) -> impl Iterator<Item = CallerKind> {
        CallerKind::ALL.into_iter().filter(move |kind| self.contains(*kind))
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
    /// The claims of the credential (a JWT's payload): its issuer, its
    /// delegation chain, anything a custom check binds to. Empty for API
    /// keys and sessions.
    #[serde(default, skip_serializing_if = "Claims::is_empty")]
    pub claims: Claims,
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
            claims: Claims::new(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_named_as_it_prints() {
        for kind in CallerKind::ALL {
            assert_eq!(CallerKind::from_name(kind.as_str()), Some(kind));
        }
        assert_eq!(CallerKind::from_name("robot"), None);
    }

    #[test]
    fn caller_sets_hold_what_they_were_given() {
        let set = CallerSet::from_names(&["user", "agent"]);
        assert_eq!(set.kinds().collect::<Vec<_>>(), [CallerKind::User, CallerKind::Agent]);
        assert_eq!(CallerSet::ALL.kinds().count(), 3);
        assert!(!CallerSet::EMPTY.contains(CallerKind::User));
    }
}
