//! Approval by a second person (`approval = "permission"`), after the
//! object and custom checks, before admit.
//!
//! A call without an `Approval-Id` header asks: the pipeline stores a new
//! pending request and answers 202 with it; nothing runs. A call with one
//! runs the body only if that request is approved, unexpired, and bound to
//! exactly this call: the same action, object, requester and input digest.
//! Step 10 then claims it (approved to used) atomically, so it runs once.
//! Approvers decide through [`Approvals`](crate::approval::Approvals).

use std::time::{Duration, SystemTime};

use axum::http::request::Parts;

use super::{Refusal, Verdict};
use crate::store::{unix_secs, ApprovalRequest, ApprovalState, ApprovalStore};
use crate::{Code, Principal, StoreError};

/// The header of the retry: the id of the approved request.
pub(crate) const HEADER: &str = "approval-id";

/// What one call is, for the request it asks for or the approval it uses.
pub(crate) struct Binding<'a> {
    pub(crate) action: &'static str,
    /// `resource/key` of the object.
    pub(crate) object: &'a str,
    pub(crate) object_owner: Option<&'a str>,
    pub(crate) principal: &'a Principal,
    /// The permission an approver must hold.
    pub(crate) permission: &'static str,
    /// The input's digest (canonical JSON, SHA-256, hex).
    pub(crate) digest: String,
    pub(crate) request_id: &'a str,
}

/// What the approval step found.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// No approval id: this request is to be stored and answered with 202.
    Ask(ApprovalRequest),
    /// An approved request bound to this call: its id, to claim at step 10.
    Approved(String),
}

/// Reads the `Approval-Id` header and judges the request it names.
pub(crate) async fn check(
    store: &dyn ApprovalStore,
    ttl: Duration,
    parts: &Parts,
    binding: Binding<'_>,
) -> Verdict<Outcome> {
    let Some(id) = header(parts)? else { return ask(binding, ttl).map(Outcome::Ask) };
    // Unknown, expired and bound to anything else all read the same: the
    // caller learns nothing about requests that are not its own.
    let invalid = || Refusal::code(Code::ApprovalInvalid);
    let request = store.get(&id).await?.ok_or_else(invalid)?;
    if !binding.matches(&request) || request.is_expired(SystemTime::now()) {
        return Err(invalid());
    }
    match request.state {
        ApprovalState::Approved => Ok(Outcome::Approved(id)),
        ApprovalState::Pending => Err(Refusal::code(Code::ApprovalPending)),
        ApprovalState::Denied => Err(Refusal::code(Code::ApprovalDenied)),
        ApprovalState::Used => Err(Refusal::code(Code::ApprovalUsed)),
    }
}

/// Step 10: approved to used, atomically; 409 `approval_used` if another
/// retry did first.
pub(crate) async fn claim(store: &dyn ApprovalStore, id: &str) -> Verdict {
    if store.transition(id, ApprovalState::Approved, ApprovalState::Used, None).await? {
        Ok(())
    } else {
        Err(Refusal::code(Code::ApprovalUsed))
    }
}

impl Binding<'_> {
    fn matches(&self, request: &ApprovalRequest) -> bool {
        request.action == self.action
            && request.object == self.object
            && request.requester == self.principal.id
            && request.tenant == self.principal.tenant
            && request.input_digest == self.digest
    }
}

/// A new pending request for this call, with a fresh random id.
fn ask(binding: Binding<'_>, ttl: Duration) -> Verdict<ApprovalRequest> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::new("random source", e.to_string()))?;
    let now = unix_secs(SystemTime::now());
    let principal = binding.principal;
    Ok(ApprovalRequest {
        id: crate::hex::hex(&bytes),
        action: binding.action.to_owned(),
        object: binding.object.to_owned(),
        object_owner: binding.object_owner.map(str::to_owned),
        tenant: principal.tenant.clone(),
        requester: principal.id.clone(),
        requester_user: principal.owner_id().map(str::to_owned),
        permission: binding.permission.to_owned(),
        input_digest: binding.digest,
        request_id: binding.request_id.to_owned(),
        requested_at: now,
        expires_at: now.saturating_add(ttl.as_secs().max(1)),
        state: ApprovalState::Pending,
        decided_by: None,
    })
}

/// The header's value: `None` if absent; 400 if sent twice or malformed.
fn header(parts: &Parts) -> Verdict<Option<String>> {
    let mut values = parts.headers.get_all(HEADER).iter();
    let Some(value) = values.next() else { return Ok(None) };
    let bytes = value.as_bytes();
    let ok = values.next().is_none() && (1..=128).contains(&bytes.len()) && bytes.iter().all(u8::is_ascii_graphic);
    if ok {
        Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
    } else {
        Err(Refusal::detailed(Code::BadRequest, "`Approval-Id` is sent once, as the id of an approval request."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryApprovalStore;
    use axum::http::Request;

    fn parts(values: &[&str]) -> Parts {
        let mut request = Request::builder();
        for value in values {
            request = request.header(HEADER, *value);
        }
        request.body(()).unwrap().into_parts().0
    }

    fn binding<'a>(principal: &'a Principal, object: &'a str, digest: &str) -> Binding<'a> {
        Binding {
            action: "refund",
            object,
            object_owner: Some("alice"),
            principal,
            permission: "orders:approve",
            digest: digest.to_owned(),
            request_id: "r-1",
        }
    }

    fn code(verdict: Verdict<Outcome>) -> Code {
        match verdict {
            Err(Refusal::Denied(denial)) => denial.code,
            other => panic!("expected a denial, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_request_is_used_only_by_the_same_call_and_only_once_approved() {
        let store = MemoryApprovalStore::new();
        let carol = Principal::user("carol", "acme", ["admin"]);
        let ttl = Duration::from_secs(60);
        let Ok(Outcome::Ask(request)) = check(&store, ttl, &parts(&[]), binding(&carol, "orders/1", "d1")).await else {
            panic!("no header asks")
        };
        assert_eq!((request.requester.as_str(), request.state), ("carol", ApprovalState::Pending));
        store.create(&request, ttl).await.unwrap();
        let id = request.id.as_str();
        let with = parts(&[id]);
        assert_eq!(code(check(&store, ttl, &with, binding(&carol, "orders/1", "d1")).await), Code::ApprovalPending);
        assert!(store.transition(id, ApprovalState::Pending, ApprovalState::Approved, Some("dave")).await.unwrap());
        for (other, object, digest) in [
            (Principal::user("erin", "acme", ["admin"]), "orders/1", "d1"),
            (carol.clone(), "orders/2", "d1"),
            (carol.clone(), "orders/1", "d2"),
        ] {
            let verdict = check(&store, ttl, &with, binding(&other, object, digest)).await;
            assert_eq!(code(verdict), Code::ApprovalInvalid, "{} {object} {digest}", other.id);
        }
        let verdict = check(&store, ttl, &with, binding(&carol, "orders/1", "d1")).await;
        assert!(matches!(verdict, Ok(Outcome::Approved(ref approved)) if approved == id));
        claim(&store, id).await.unwrap();
        assert!(claim(&store, id).await.is_err(), "single use");
        assert_eq!(code(check(&store, ttl, &with, binding(&carol, "orders/1", "d1")).await), Code::ApprovalUsed);
        assert_eq!(
            code(check(&store, ttl, &parts(&["nope"]), binding(&carol, "orders/1", "d1")).await),
            Code::ApprovalInvalid
        );
    }

    #[tokio::test]
    async fn a_header_sent_twice_or_malformed_is_a_bad_request() {
        let store = MemoryApprovalStore::new();
        let carol = Principal::user("carol", "acme", ["admin"]);
        for values in [&["a", "b"][..], &[""], &["has space"]] {
            let verdict =
                check(&store, Duration::from_secs(60), &parts(values), binding(&carol, "orders/1", "d")).await;
            assert_eq!(code(verdict), Code::BadRequest, "{values:?}");
        }
    }
}
