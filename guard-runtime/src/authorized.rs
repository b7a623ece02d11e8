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
    // One private field, named for the compiler's error when someone tries
    // to build an `Authorized` by hand ("private field
    // `only_the_guard_builds_this`"): a privacy error alone would not say why.
    only_the_guard_builds_this: Proof,
}

/// What the pipeline found, handed to the body.
#[derive(Debug)]
pub(crate) struct Proof {
    pub(crate) principal: std::sync::Arc<Principal>,
    pub(crate) session: Option<SessionId>,
    /// The session's CSRF token, for the forms a page renders.
    pub(crate) csrf_token: Option<String>,
    pub(crate) reach: Reach,
    pub(crate) required: &'static [&'static str],
    pub(crate) object: Option<ObjectMeta>,
    /// `resource/key` of that object, as the audit records name it.
    pub(crate) resource: Option<std::sync::Arc<str>>,
    pub(crate) request_id: Option<crate::RequestId>,
}

/// The proof of step 10, built by the pipeline alone. A free function, not
/// an associated one: the compiler would suggest that to whoever tries to
/// build an `Authorized` by hand.
pub(crate) fn admit(proof: Proof) -> Authorized {
    Authorized { only_the_guard_builds_this: proof }
}

impl Authorized {
    /// The caller.
    pub fn principal(&self) -> &Principal {
        &self.only_the_guard_builds_this.principal
    }

    /// How far the required permissions reach: the narrowest of them.
    pub fn reach(&self) -> Reach {
        self.only_the_guard_builds_this.reach
    }

    /// For listing queries: `None` if the caller may see every object of
    /// its tenant, `Some(owner_id)` if only objects owned by `owner_id`.
    /// A service account with own-only reach sees nothing: `Some("")`.
    pub fn visible_owner(&self) -> Option<&str> {
        match self.only_the_guard_builds_this.reach {
            Reach::Tenant => None,
            Reach::Own => Some(self.only_the_guard_builds_this.principal.owner_id().unwrap_or("")),
        }
    }

    /// The session that authenticated the request, if it was a cookie session.
    pub fn session(&self) -> Option<&SessionId> {
        self.only_the_guard_builds_this.session.as_ref()
    }

    /// The session's CSRF token, if the caller came with a cookie session:
    /// what a page puts in its forms' hidden [`CSRF_FIELD`](crate::CSRF_FIELD)
    /// (or a script sends as `x-csrf-token`). `None` for bearer callers,
    /// who need none.
    pub fn csrf_token(&self) -> Option<&str> {
        self.only_the_guard_builds_this.csrf_token.as_deref()
    }

    /// The object the action names, as its resolver described it.
    pub fn object(&self) -> Option<&ObjectMeta> {
        self.only_the_guard_builds_this.object.as_ref()
    }

    /// `resource/key` of the object the action names (`orders/42`), as the
    /// audit records name it.
    pub fn resource(&self) -> Option<&str> {
        self.only_the_guard_builds_this.resource.as_deref()
    }

    /// The permissions the guard checked for this request: the action's
    /// `requires` (empty for `authenticated` and public actions).
    pub fn checked_permissions(&self) -> &'static [&'static str] {
        self.only_the_guard_builds_this.required
    }

    /// The object the resolver read and the guard checked, if it attached a
    /// `T` ([`ObjectMeta::with_object`]). An action parameter `Loaded<T>`
    /// takes it instead (and fails closed when it is missing).
    pub fn loaded<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.only_the_guard_builds_this.object.as_ref().and_then(ObjectMeta::object_as)
    }

    /// Moves the `T` the resolver attached out of the proof, for a
    /// `Loaded<T>` parameter: the body then holds the only copy.
    pub(crate) fn take_loaded<T: Send + Sync + 'static>(&mut self) -> Option<crate::Loaded<T>> {
        crate::loaded::take(self.only_the_guard_builds_this.object.as_mut())
    }

    /// The request id the audit record carries.
    pub fn request_id(&self) -> Option<&str> {
        self.only_the_guard_builds_this.request_id.as_deref()
    }

    /// A typed grant for `P`, if this action required `P`.
    ///
    /// Prefer taking `Grant<P>` as a parameter of the action: the macro then
    /// checks at compile time that the action requires `P`.
    pub fn grant<P: Permission>(&self) -> Option<Grant<P>> {
        self.only_the_guard_builds_this
            .required
            .contains(&P::NAME)
            .then_some(Grant { only_the_guard_mints_grants: PhantomData })
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
/// let forged: guard_runtime::Grant<OrdersWrite> = guard_runtime::Grant { only_the_guard_mints_grants: std::marker::PhantomData };
/// ```
pub struct Grant<P> {
    // Private, and named for the compiler's error when someone tries to
    // mint a grant by hand.
    only_the_guard_mints_grants: PhantomData<fn() -> P>,
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
