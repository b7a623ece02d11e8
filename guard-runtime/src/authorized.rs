//! What an action body receives: proof that the guard ran.

use std::borrow::Cow;
use std::marker::PhantomData;

use axum::http::request::Parts;

use crate::authn::SessionId;
use crate::{ObjectMeta, Permission, Principal, Reach, StoreError};

/// Proof that, for this request, the guard authenticated the caller, checked
/// its kind, freshness, CSRF, permissions, tenant and owner, ran the custom
/// check and claimed the replay key.
///
/// Only the guard builds one: there is no public constructor, so an action
/// body that needs an `Authorized` cannot be reached around the guard.
///
/// ```compile_fail
/// let forged = guard_runtime::Authorized { };
/// ```
#[derive(Debug)]
pub struct Authorized {
    pub(crate) principal: std::sync::Arc<Principal>,
    pub(crate) session: Option<SessionId>,
    pub(crate) reach: Reach,
    pub(crate) required: &'static [&'static str],
    pub(crate) object: Option<ObjectMeta>,
    pub(crate) request_id: Option<crate::RequestId>,
}

impl Authorized {
    /// The caller.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// How far the required permissions reach: the narrowest of them.
    pub fn reach(&self) -> Reach {
        self.reach
    }

    /// For listing queries: `None` if the caller may see every object of
    /// its tenant, `Some(owner_id)` if only objects owned by `owner_id`.
    /// A service account with own-only reach sees nothing: `Some("")`.
    pub fn visible_owner(&self) -> Option<&str> {
        match self.reach {
            Reach::Tenant => None,
            Reach::Own => Some(self.principal.owner_id().unwrap_or("")),
        }
    }

    /// The session that authenticated the request, if it was a cookie session.
    pub fn session(&self) -> Option<&SessionId> {
        self.session.as_ref()
    }

    /// The object the action names, as its resolver described it.
    pub fn object(&self) -> Option<&ObjectMeta> {
        self.object.as_ref()
    }

    /// The request id the audit record carries.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// A typed grant for `P`, if this action required `P`.
    ///
    /// Prefer taking `Grant<P>` as a parameter of the action: the macro then
    /// checks at compile time that the action requires `P`.
    pub fn grant<P: Permission>(&self) -> Option<Grant<P>> {
        self.required.contains(&P::NAME).then_some(Grant { _permission: PhantomData })
    }
}

/// Proof that permission `P` was checked for this request.
///
/// A data-layer function that takes `&Grant<OrdersWrite>` can only be called
/// with a grant the guard minted after checking `orders:write`; the `#[action]`
/// macro refuses to compile an action that asks for a `Grant` of a permission
/// it does not require.
///
/// ```compile_fail
/// guard_runtime::permissions! { pub OrdersWrite = "orders:write"; }
/// let forged: guard_runtime::Grant<OrdersWrite> = guard_runtime::Grant { _permission: std::marker::PhantomData };
/// ```
pub struct Grant<P> {
    _permission: PhantomData<fn() -> P>,
}

impl<P> Clone for Grant<P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P> Copy for Grant<P> {}

impl<P: Permission> std::fmt::Debug for Grant<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Grant({})", P::NAME)
    }
}

/// What a custom check (`check = path`) sees.
#[derive(Debug)]
pub struct CheckContext<'a> {
    /// The caller.
    pub principal: &'a Principal,
    /// The object, if the action names one.
    pub object: Option<&'a ObjectMeta>,
    /// The request's head (method, URI, headers).
    pub request: &'a Parts,
}

/// A custom check's refusal.
#[derive(Debug)]
pub enum CheckError {
    /// Refuse with 403 `forbidden`; the detail is shown to the client.
    Denied(Cow<'static, str>),
    /// The check could not decide (its store failed): 503, fail closed.
    Unavailable(StoreError),
}

impl CheckError {
    /// A 403 with `detail` for the client.
    pub fn denied(detail: impl Into<Cow<'static, str>>) -> Self {
        CheckError::Denied(detail.into())
    }
}

impl From<StoreError> for CheckError {
    fn from(err: StoreError) -> Self {
        CheckError::Unavailable(err)
    }
}
