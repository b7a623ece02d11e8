//! Approval requests of actions that need a second person's approval
//! (`approval = "..."`): what is kept, and the store trait behind it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::sweep::Sweeper;
use crate::{StoreError, StoreFuture};

/// Where an approval request stands. It moves only forward:
/// `pending` to `approved` or `denied` (by an approver), `approved` to
/// `used` (by the requester's retry, once).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalState {
    /// Waiting for an approver.
    Pending,
    /// Approved: the requester's retry may run the action once.
    Approved,
    /// Denied by an approver: the action never runs under this request.
    Denied,
    /// Approved and used: the action ran.
    Used,
}

impl ApprovalState {
    /// The state as stores and answers write it.
    pub const fn as_str(self) -> &'static str {
        match self {
            ApprovalState::Pending => "pending",
            ApprovalState::Approved => "approved",
            ApprovalState::Denied => "denied",
            ApprovalState::Used => "used",
        }
    }

    /// The state written as [`as_str`](ApprovalState::as_str) does.
    pub fn from_name(name: &str) -> Option<Self> {
        [ApprovalState::Pending, ApprovalState::Approved, ApprovalState::Denied, ApprovalState::Used]
            .into_iter()
            .find(|state| state.as_str() == name)
    }
}

/// One request for approval: what it is bound to, who asked, until when,
/// and where it stands. The guard writes it on an action's first call (the
/// 202 answer's body is this record as JSON), and the retry runs the
/// action only if every binding field matches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    /// Random, 128 bits as 32 lowercase hex digits: the `Approval-Id` of
    /// the retry.
    pub id: String,
    /// The action's name.
    pub action: String,
    /// The object, as `resource/key` (`orders/42`).
    pub object: String,
    /// The object's owner, as its resolver said: an approver whose
    /// permission reaches only their own objects may approve only these.
    pub object_owner: Option<String>,
    /// The tenant of the requester (and so of the object).
    pub tenant: String,
    /// The requester's principal id.
    pub requester: String,
    /// The human behind the requester (the user itself, an agent's user),
    /// who may not approve either.
    pub requester_user: Option<String>,
    /// The permission an approver must hold (the action's `approval`).
    pub permission: String,
    /// SHA-256 of the input's canonical JSON, lowercase hex: the retry
    /// must send the same input.
    pub input_digest: String,
    /// The request id of the call that asked (its audit records carry it).
    pub request_id: String,
    /// When it was asked, Unix time in seconds.
    pub requested_at: u64,
    /// When it expires, Unix time in seconds: from then on it is neither
    /// approved nor used.
    pub expires_at: u64,
    /// Where it stands.
    pub state: ApprovalState,
    /// The approver who approved or denied it.
    pub decided_by: Option<String>,
}

impl ApprovalRequest {
    /// Whether it has expired at `now`.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        unix_secs(now) >= self.expires_at
    }
}

/// Seconds since the Unix epoch (0 before it).
pub(crate) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Approval requests, shared by every instance of the app.
///
/// Every method returns a [`StoreFuture`]: an in-process store answers with
/// [`StoreFuture::ready`], a network store with [`StoreFuture::new`].
/// Errors deny with 503.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a guard approval store",
    label = "expected a `guard_runtime::store::ApprovalStore`, such as `MemoryApprovalStore`",
    note = "implement `guard_runtime::store::ApprovalStore`; its documentation (`cargo doc -p guard-runtime --open`) says what to implement"
)]
pub trait ApprovalStore: Send + Sync + 'static {
    /// Keeps a new request (its id is fresh). The store may forget it
    /// `keep` after now (past its expiry).
    fn create<'a>(&'a self, request: &'a ApprovalRequest, keep: Duration) -> StoreFuture<'a, Result<(), StoreError>>;

    /// The request under `id`, in its current state; `None` if unknown or
    /// forgotten.
    fn get<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Result<Option<ApprovalRequest>, StoreError>>;

    /// Moves request `id` from `from` to `to`, atomically: of any number of
    /// concurrent transitions of one request, on any instance sharing the
    /// store, only those that find it in `from` succeed, and after the
    /// first one it is no longer in `from`. So exactly one approver decides,
    /// and exactly one retry uses an approval. `decided_by`, when given, is
    /// recorded. `Ok(false)` if the request was not in `from` (or unknown).
    fn transition<'a>(
        &'a self,
        id: &'a str,
        from: ApprovalState,
        to: ApprovalState,
        decided_by: Option<&'a str>,
    ) -> StoreFuture<'a, Result<bool, StoreError>>;

    /// The pending requests of `tenant` (expired ones may be among them).
    fn pending<'a>(&'a self, tenant: &'a str) -> StoreFuture<'a, Result<Vec<ApprovalRequest>, StoreError>>;
}

/// In-process [`ApprovalStore`]: one instance only.
#[derive(Clone, Debug, Default)]
pub struct MemoryApprovalStore {
    /// Each request with the time it may be forgotten: past that, it
    /// reads as unknown (as a network store's, gone by then, would).
    requests: Arc<Mutex<(HashMap<String, (ApprovalRequest, SystemTime)>, Sweeper)>>,
}

impl MemoryApprovalStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut HashMap<String, (ApprovalRequest, SystemTime)>, SystemTime) -> T,
    ) -> Result<T, StoreError> {
        let now = SystemTime::now();
        let mut guard = self.requests.lock().map_err(|_| StoreError::new("approval store", "lock poisoned"))?;
        let (requests, sweeper) = &mut *guard;
        sweeper.maybe(requests.len(), || {
            requests.retain(|_, (_, forget_at)| *forget_at > now);
            requests.len()
        });
        Ok(f(requests, now))
    }
}

impl ApprovalStore for MemoryApprovalStore {
    fn create<'a>(&'a self, request: &'a ApprovalRequest, keep: Duration) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::ready(self.with(|requests, now| {
            requests.insert(request.id.clone(), (request.clone(), now + keep));
        }))
    }

    fn get<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Result<Option<ApprovalRequest>, StoreError>> {
        StoreFuture::ready(self.with(|requests, now| {
            requests.get(id).filter(|(_, forget_at)| *forget_at > now).map(|(request, _)| request.clone())
        }))
    }

    fn transition<'a>(
        &'a self,
        id: &'a str,
        from: ApprovalState,
        to: ApprovalState,
        decided_by: Option<&'a str>,
    ) -> StoreFuture<'a, Result<bool, StoreError>> {
        StoreFuture::ready(self.with(|requests, now| match requests.get_mut(id) {
            Some((request, forget_at)) if *forget_at > now && request.state == from => {
                request.state = to;
                if let Some(by) = decided_by {
                    request.decided_by = Some(by.to_owned());
                }
                true
            }
            _ => false,
        }))
    }

    fn pending<'a>(&'a self, tenant: &'a str) -> StoreFuture<'a, Result<Vec<ApprovalRequest>, StoreError>> {
        StoreFuture::ready(self.with(|requests, now| {
            let mut found: Vec<ApprovalRequest> = requests
                .values()
                .filter(|(r, forget_at)| *forget_at > now && r.tenant == tenant && r.state == ApprovalState::Pending)
                .map(|(r, _)| r.clone())
                .collect();
            found.sort_by(|a, b| (a.requested_at, &a.id).cmp(&(b.requested_at, &b.id)));
            found
        }))
    }
}
