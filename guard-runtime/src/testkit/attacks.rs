//! The attacks the sweep tries on every action, and the refusal each must get.

use std::fmt;

use crate::{CallerKind, Code};

/// One way an attacker calls an action it should not reach. Each request
/// is a valid request for the action except in the one respect attacked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Attack {
    /// Not an attack: the row that lists a `public` action and its reason.
    Public,
    /// No credential at all: 401 `unauthenticated`.
    NoCredentials,
    /// A bearer token nobody issued: 401 `unauthenticated`.
    GarbageCredential,
    /// A credential that worked once (expired, logged out, revoked): 401
    /// `unauthenticated`.
    RevokedCredential,
    /// A JWT past its `exp`, from a trusted issuer: 401 `unauthenticated`.
    ExpiredToken,
    /// A JWT from a trusted issuer for another audience: 401
    /// `unauthenticated`.
    WrongAudience,
    /// A principal of a kind the action does not accept, holding the
    /// permission where one such exists: 403 `wrong_caller_kind`.
    WrongCallerKind(CallerKind),
    /// A principal of an accepted kind lacking a required permission: 403
    /// `forbidden`.
    LacksPermission,
    /// An agent whose scopes cover the permissions while its user lacks one:
    /// 403 `forbidden`.
    AgentUserLacks,
    /// An object of another tenant: 404 `not_found`, like a missing one.
    OtherTenantObject,
    /// An object of another owner in the caller's tenant, by a caller whose
    /// reach is its own objects: 404 `not_found`.
    OtherOwnerObject,
    /// A cookie session on an unsafe method without the CSRF token: 403
    /// `csrf_failed`.
    CsrfMissing,
    /// A cookie session on an unsafe method with a wrong CSRF token: 403
    /// `csrf_failed`.
    CsrfWrong,
    /// An authentication older than a `fresh` action allows: 401
    /// `reauth_required`.
    StaleAuthentication,
    /// A credential of an accepted caller holding the permission, without
    /// the claims the action's `bind(...)` names: 403 `binding_failed`.
    BindingMismatch,
    /// A credential whose `acr` is not one the action's `acr = [...]`
    /// accepts: 401 `reauth_required`.
    InsufficientAcr,
    /// No replay key header: 400 `bad_request`.
    ReplayMissingKey,
    /// A replay key used once already (the first use must succeed): 409
    /// `replayed`.
    ReplayReused,
    /// A JSON body one byte over the action's limit: 413 `payload_too_large`.
    OversizedBody,
    /// A valid body sent as `text/plain`: 415 `unsupported_media_type`.
    WrongContentType,
    /// A valid body with one field the input type does not know: 422
    /// `invalid_input`.
    UnknownField,
    /// Not an action: a route the router serves that is neither a mounted
    /// action nor a declared public route, probed with no credential. The
    /// accounted layer must refuse it (403 `unguarded_route`), and the row
    /// is reported as failed even then: the route should not be there.
    UnguardedRoute,
}

impl Attack {
    /// Every attack, in the order the sweep runs them (`WrongCallerKind`
    /// once per kind); [`Attack::UnguardedRoute`] rows come after every
    /// action's.
    pub const ALL: [Attack; 24] = [
        Attack::Public,
        Attack::NoCredentials,
        Attack::GarbageCredential,
        Attack::RevokedCredential,
        Attack::ExpiredToken,
        Attack::WrongAudience,
        Attack::WrongCallerKind(CallerKind::User),
        Attack::WrongCallerKind(CallerKind::Service),
        Attack::WrongCallerKind(CallerKind::Agent),
        Attack::LacksPermission,
        Attack::AgentUserLacks,
        Attack::OtherTenantObject,
        Attack::OtherOwnerObject,
        Attack::CsrfMissing,
        Attack::CsrfWrong,
        Attack::StaleAuthentication,
        Attack::BindingMismatch,
        Attack::InsufficientAcr,
        Attack::ReplayMissingKey,
        Attack::ReplayReused,
        Attack::OversizedBody,
        Attack::WrongContentType,
        Attack::UnknownField,
        Attack::UnguardedRoute,
    ];

    /// The refusal the guard must answer with; `None` for [`Attack::Public`].
    pub const fn expected(self) -> Option<Code> {
        Some(match self {
            Attack::Public => return None,
            Attack::NoCredentials
            | Attack::GarbageCredential
            | Attack::RevokedCredential
            | Attack::ExpiredToken
            | Attack::WrongAudience => Code::Unauthenticated,
            Attack::WrongCallerKind(_) => Code::WrongCallerKind,
            Attack::LacksPermission | Attack::AgentUserLacks => Code::Forbidden,
            Attack::OtherTenantObject | Attack::OtherOwnerObject => Code::NotFound,
            Attack::CsrfMissing | Attack::CsrfWrong => Code::CsrfFailed,
            Attack::StaleAuthentication | Attack::InsufficientAcr => Code::ReauthRequired,
            Attack::BindingMismatch => Code::BindingFailed,
            Attack::ReplayMissingKey => Code::BadRequest,
            Attack::ReplayReused => Code::Replayed,
            Attack::OversizedBody => Code::PayloadTooLarge,
            Attack::WrongContentType => Code::UnsupportedMediaType,
            Attack::UnknownField => Code::InvalidInput,
            Attack::UnguardedRoute => Code::UnguardedRoute,
        })
    }

    /// A short stable name, as the report prints it: `wrong_caller_kind(agent)`.
    pub fn name(self) -> String {
        match self {
            Attack::WrongCallerKind(kind) => format!("wrong_caller_kind({})", kind.as_str()),
            other => other.base_name().to_owned(),
        }
    }

    fn base_name(self) -> &'static str {
        match self {
            Attack::Public => "public",
            Attack::NoCredentials => "no_credentials",
            Attack::GarbageCredential => "garbage_credential",
            Attack::RevokedCredential => "revoked_credential",
            Attack::ExpiredToken => "expired_token",
            Attack::WrongAudience => "wrong_audience",
            Attack::WrongCallerKind(_) => "wrong_caller_kind",
            Attack::LacksPermission => "lacks_permission",
            Attack::AgentUserLacks => "agent_user_lacks",
            Attack::OtherTenantObject => "other_tenant_object",
            Attack::OtherOwnerObject => "other_owner_object",
            Attack::CsrfMissing => "csrf_missing",
            Attack::CsrfWrong => "csrf_wrong",
            Attack::StaleAuthentication => "stale_authentication",
            Attack::BindingMismatch => "binding_mismatch",
            Attack::InsufficientAcr => "insufficient_acr",
            Attack::ReplayMissingKey => "replay_missing_key",
            Attack::ReplayReused => "replay_reused",
            Attack::OversizedBody => "oversized_body",
            Attack::WrongContentType => "wrong_content_type",
            Attack::UnknownField => "unknown_field",
            Attack::UnguardedRoute => "unguarded_route",
        }
    }
}

impl fmt::Display for Attack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}
