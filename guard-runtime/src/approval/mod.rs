//! Approval by a second person (the two-person rule), for actions with
//! `approval = "permission"`.
//!
//! The action's first call by an authorized caller answers 202 with an
//! [`ApprovalRequest`] and runs nothing. A different person of the same
//! tenant, holding the approval permission, approves it (or denies it)
//! through [`Approvals`], from actions of the app's own. The requester's
//! retry, with the header `Approval-Id: <id>`, runs the body exactly once.
//! The approval is bound to the action, the object, the requester and the
//! input's digest; it is single-use and expires.
//!
//! The rules live here, not in the app: only a user approves (agents and
//! services never do), never the requester nor the person an agent asked
//! for, only within the request's tenant, and only holding the request's
//! permission (with a reach that covers its object).
//!
//! # Example
//!
//! ```
//! use axum::extract::{Path, State};
//! use guard_runtime::approval::{ApprovalRequest, Approvals};
//! use guard_runtime::authn::{MemoryTokenStore, Tokens};
//! use guard_runtime::{action, ActionError, Actions, Authorized, Json, Resolvers, RolePolicy};
//!
//! // The first call answers 202 with the request; the approved retry runs.
//! #[action(POST "/orders/{order_id}/refund", requires = "orders:refund", owner = "order_id",
//!          approval = "orders:approve")]
//! async fn refund(_auth: Authorized) -> &'static str { "refunded" }
//!
//! // Approvers decide with actions of the app's own. `resource = "approvals"`
//! // is the resolver guard registers: another tenant's request is a 404.
//! #[action(POST "/approvals/{approval_id}/approve", requires = "orders:approve",
//!          callers = user, tenant = "approval_id", resource = "approvals")]
//! async fn approve(
//!     auth: Authorized,
//!     State(approvals): State<Approvals>,
//!     Path(id): Path<String>,
//! ) -> Result<Json<ApprovalRequest>, ActionError> {
//!     approvals.approve(&auth, &id).await.map(Json)
//! }
//!
//! # fn demo(resolvers: Resolvers) -> axum::Router {
//! let policy = RolePolicy::new().tenant_role("admin", ["orders:*"]);
//! let actions = Actions::new(policy, Tokens::new(MemoryTokenStore::new()), resolvers)
//!     .approval_ttl(std::time::Duration::from_secs(3600));
//! let approvals = actions.approvals();
//! actions.mount(refund).mount(approve).into_router(approvals)
//! # }
//! ```

mod digest;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub(crate) use digest::of as digest_of;

use crate::store::ApprovalStore;
pub use crate::store::{ApprovalRequest, ApprovalState};
use crate::{
    ActionError, Authorized, CallerKind, Code, ObjectMeta, Policy, Principal, Reach, Resolver, StoreError, StoreFuture,
};

/// The resource name under which guard registers the resolver of approval
/// requests: an approver's action names it (`tenant = "approval_id",
/// resource = "approvals"`), so a request of another tenant is a 404
/// before the body runs, and audit records name `approvals/<id>`.
pub const RESOURCE: &str = "approvals";

/// The header of the requester's retry.
pub const HEADER: &str = "Approval-Id";

/// How long a request stays open unless the app says otherwise.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

/// How long a store keeps a request after it expired: an approver then
/// meets it as expired (403 `approval_invalid`) rather than unknown (404).
pub const KEPT_AFTER_EXPIRY: Duration = Duration::from_secs(3600);

/// The app's handle on approval requests: list, approve, deny. Made by
/// [`Actions::approvals`](crate::Actions::approvals), over the same store
/// and policy as the guard's approval step. Cheap to clone.
#[derive(Clone)]
pub struct Approvals {
    pub(crate) store: Arc<dyn ApprovalStore>,
    pub(crate) policy: Arc<dyn Policy>,
}

impl std::fmt::Debug for Approvals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Approvals").finish_non_exhaustive()
    }
}

impl Approvals {
    /// The open requests of the caller's tenant that the caller may decide:
    /// pending, unexpired, not their own, and covered by their permission.
    /// Empty for agents and services, who never decide.
    pub async fn pending(&self, auth: &Authorized) -> Result<Vec<ApprovalRequest>, ActionError> {
        let approver = auth.principal();
        let now = SystemTime::now();
        let mut open = self.store.pending(&approver.tenant).await?;
        open.retain(|r| r.tenant == approver.tenant && !r.is_expired(now) && self.may_decide(approver, r).is_ok());
        Ok(open)
    }

    /// Approves request `id`: the requester's retry may now run the action
    /// once. Refusals: 403 `wrong_caller_kind` for an agent or a service;
    /// 404 `not_found` for an unknown request or another tenant's; 403
    /// `forbidden` for the requester (or the person an agent asked for) and
    /// for a caller without the request's permission; 403
    /// `approval_invalid` once it has expired; 409 `approval_decided` or
    /// `approval_used` if it is no longer pending.
    pub async fn approve(&self, auth: &Authorized, id: &str) -> Result<ApprovalRequest, ActionError> {
        self.decide(auth, id, ApprovalState::Approved).await
    }

    /// Denies request `id`: its retry answers 403 `approval_denied`, for
    /// good. The same refusals as [`approve`](Approvals::approve).
    pub async fn deny(&self, auth: &Authorized, id: &str) -> Result<ApprovalRequest, ActionError> {
        self.decide(auth, id, ApprovalState::Denied).await
    }

    async fn decide(&self, auth: &Authorized, id: &str, to: ApprovalState) -> Result<ApprovalRequest, ActionError> {
        let approver = auth.principal();
        if approver.kind != CallerKind::User {
            return Err(ActionError::new(Code::WrongCallerKind)
                .with_detail("Only a person approves or denies: agents and services never do."));
        }
        let mut request = self.open(approver, id).await?;
        self.may_decide(approver, &request)?;
        if !self.store.transition(id, ApprovalState::Pending, to, Some(&approver.id)).await? {
            // Another approver (or a second click) decided first.
            let now = self.open(approver, id).await?;
            return Err(not_pending(now.state));
        }
        request.state = to;
        request.decided_by = Some(approver.id.clone());
        Ok(request)
    }

    /// Request `id` of the approver's tenant, still pending and unexpired.
    async fn open(&self, approver: &Principal, id: &str) -> Result<ApprovalRequest, ActionError> {
        let request = self.store.get(id).await?.filter(|r| r.tenant == approver.tenant);
        let request = request.ok_or_else(ActionError::not_found)?;
        if request.is_expired(SystemTime::now()) {
            return Err(ActionError::new(Code::ApprovalInvalid).with_detail("This approval request has expired."));
        }
        match request.state {
            ApprovalState::Pending => Ok(request),
            state => Err(not_pending(state)),
        }
    }

    /// The rules on the approver, beyond the tenant: never the requester
    /// nor the person behind a requesting agent; a user holding the
    /// request's permission, over the request's object.
    fn may_decide(&self, approver: &Principal, request: &ApprovalRequest) -> Result<(), ActionError> {
        if approver.kind != CallerKind::User {
            return Err(ActionError::new(Code::WrongCallerKind));
        }
        if approver.id == request.requester || request.requester_user.as_deref() == Some(approver.id.as_str()) {
            return Err(ActionError::new(Code::Forbidden)
                .with_detail("The requester cannot approve or deny their own request: a second person must."));
        }
        let covers = match self.policy.reach(approver, &request.permission) {
            Some(Reach::Tenant) => true,
            Some(Reach::Own) => request.object_owner.as_deref() == Some(approver.id.as_str()),
            None => false,
        };
        if covers {
            Ok(())
        } else {
            Err(ActionError::new(Code::Forbidden)
                .with_detail(format!("Deciding this request needs `{}` over its object.", request.permission)))
        }
    }
}

fn not_pending(state: ApprovalState) -> ActionError {
    match state {
        ApprovalState::Used => ActionError::new(Code::ApprovalUsed),
        _ => ActionError::new(Code::ApprovalDecided),
    }
}

/// The resolver of [`RESOURCE`]: a request's tenant, owned by its
/// requester. Registered by [`Actions`](crate::Actions) over its approval store.
pub(crate) struct ApprovalResolver(pub(crate) Arc<dyn ApprovalStore>);

impl Resolver for ApprovalResolver {
    fn resolve<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Result<Option<ObjectMeta>, StoreError>> {
        StoreFuture::new(async move {
            let request = self.0.get(key).await?;
            Ok(request.map(|r| ObjectMeta::owned(r.tenant, r.requester).with_attribute("state", r.state.as_str())))
        })
    }
}
