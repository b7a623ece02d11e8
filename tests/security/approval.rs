//! Approval by a second person (`approval = "..."`): the first call asks
//! (202, nothing runs), a different person of the tenant holding the
//! approval permission decides, and the requester's retry runs the body
//! once, bound to the action, object, requester and input.
//!
//! Its own small app (publishing docs), so the rest of the suite's app
//! stays as it is.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::Router;
use guard_runtime::approval::{ApprovalRequest, Approvals};
use guard_runtime::audit::MemorySink;
use guard_runtime::authn::{MemoryTokenStore, Tokens};
use guard_runtime::store::{ApprovalState, ApprovalStore, MemoryApprovalStore};
use guard_runtime::{
    action, ActionError, Actions, AuditHandle, Authorized, Delegation, Json, ObjectMeta, Principal, Resolver,
    Resolvers, RolePolicy, StoreError, StoreFuture,
};
use serde::{Deserialize, Serialize};

use crate::app::{bearer, json_body, send, Answer};

#[derive(Clone)]
struct Docs {
    /// Every publication that ran: (doc, note).
    published: Arc<Mutex<Vec<(String, String)>>>,
    approvals: Approvals,
}

impl Docs {
    fn published(&self) -> Vec<(String, String)> {
        self.published.lock().expect("lock").clone()
    }
}

#[derive(Debug, Deserialize, Serialize)]
struct Publish {
    note: String,
}

#[action(POST "/docs/{doc_id}/publish", requires = "docs:publish", owner = "doc_id", approval = "docs:approve")]
async fn publish_doc(
    _auth: Authorized,
    State(docs): State<Docs>,
    Path(doc_id): Path<String>,
    Json(input): Json<Publish>,
) -> &'static str {
    docs.published.lock().expect("lock").push((doc_id, input.note));
    "published"
}

/// Any caller kind the policy lets through: the library's own rules must
/// refuse agents and services.
#[action(POST "/approvals/{approval_id}/approve", requires = "docs:approve", tenant = "approval_id", resource = "approvals")]
async fn approve(
    auth: Authorized,
    State(docs): State<Docs>,
    Path(id): Path<String>,
) -> Result<Json<ApprovalRequest>, ActionError> {
    docs.approvals.approve(&auth, &id).await.map(Json)
}

#[action(POST "/approvals/{approval_id}/deny", requires = "docs:approve", tenant = "approval_id", resource = "approvals")]
async fn deny(
    auth: Authorized,
    State(docs): State<Docs>,
    Path(id): Path<String>,
) -> Result<Json<ApprovalRequest>, ActionError> {
    docs.approvals.deny(&auth, &id).await.map(Json)
}

#[action(GET "/approvals", requires = "docs:approve")]
async fn pending(auth: Authorized, State(docs): State<Docs>) -> Result<Json<Vec<ApprovalRequest>>, ActionError> {
    docs.approvals.pending(&auth).await.map(Json)
}

const ALICE: &str = "alice-token";
const BOB: &str = "bob-token";
const CAROL: &str = "carol-token";
const ERIN: &str = "erin-token";
const FRANK: &str = "frank-token";
const DAVE: &str = "dave-token";
const AGENT_CAROL: &str = "agent-carol-token";
const AGENT_ERIN: &str = "agent-erin-token";
const SVC: &str = "svc-token";

/// Docs 1 and 4: alice's; 2: bob's; 3: dave's (globex).
struct DocResolver;

impl Resolver for DocResolver {
    fn resolve<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Result<Option<ObjectMeta>, StoreError>> {
        let owner = match key {
            "1" | "4" => Some(("acme", "alice")),
            "2" => Some(("acme", "bob")),
            "3" => Some(("globex", "dave")),
            _ => None,
        };
        StoreFuture::ready(Ok(owner.map(|(tenant, owner)| ObjectMeta::owned(tenant, owner))))
    }
}

struct TestApp {
    router: Router,
    docs: Docs,
    audit: MemorySink,
    audit_handle: AuditHandle,
}

async fn app() -> TestApp {
    app_with(MemoryApprovalStore::new(), Duration::from_secs(3600)).await
}

async fn app_with(store: impl ApprovalStore, ttl: Duration) -> TestApp {
    let tokens = Tokens::new(MemoryTokenStore::new());
    let admin = || vec!["admin".to_owned()];
    let principals = [
        (ALICE, Principal::user("alice", "acme", ["customer"])),
        (BOB, Principal::user("bob", "acme", ["customer"])),
        (CAROL, Principal::user("carol", "acme", ["admin"])),
        (ERIN, Principal::user("erin", "acme", ["admin"])),
        (FRANK, Principal::user("frank", "acme", ["reviewer"])),
        (DAVE, Principal::user("dave", "globex", ["admin"])),
        (AGENT_CAROL, Principal::agent("agent-c", "acme", ["*"], Delegation { user: "carol".into(), roles: admin() })),
        (AGENT_ERIN, Principal::agent("agent-e", "acme", ["*"], Delegation { user: "erin".into(), roles: admin() })),
        (SVC, Principal::service("svc", "acme", ["docs:approve"])),
    ];
    for (token, mut principal) in principals {
        principal.credential_id = format!("key:{}", principal.id);
        tokens.issue(token, principal).await.expect("seed");
    }
    let policy = RolePolicy::new()
        .role("customer", ["docs:read", "docs:publish"])
        // A reviewer approves only what concerns their own docs.
        .role("reviewer", ["docs:approve"])
        .tenant_role("admin", ["docs:*"]);
    let audit = MemorySink::new();
    let actions = Actions::new(policy, tokens, Resolvers::new().with("docs", DocResolver))
        .audit(audit.clone(), 64)
        .approval_store(store)
        .approval_ttl(ttl)
        .probing(0, Duration::from_secs(60));
    let audit_handle = actions.audit_handle();
    let docs = Docs { published: Arc::default(), approvals: actions.approvals() };
    let router = actions.mount(publish_doc).mount(approve).mount(deny).mount(pending).into_router(docs.clone());
    TestApp { router, docs, audit, audit_handle }
}

impl TestApp {
    async fn publish(&self, token: &str, doc: &str, note: &str, approval: Option<&str>) -> Answer {
        let mut request =
            bearer("POST", &format!("/docs/{doc}/publish"), token).header("content-type", "application/json");
        if let Some(id) = approval {
            request = request.header("approval-id", id);
        }
        send(&self.router, request.body(json_body(serde_json::json!({ "note": note }))).expect("request")).await
    }

    /// The first call: 202 with the request; returns its id.
    async fn ask(&self, token: &str, doc: &str, note: &str) -> String {
        let answer = self.publish(token, doc, note, None).await;
        assert_eq!(answer.status, 202, "{}", answer.text);
        answer.json()["id"].as_str().expect("an id").to_owned()
    }

    async fn decide(&self, token: &str, verb: &str, id: &str) -> Answer {
        send(
            &self.router,
            bearer("POST", &format!("/approvals/{id}/{verb}"), token).body(Body::empty()).expect("request"),
        )
        .await
    }

    async fn pending(&self, token: &str) -> Vec<serde_json::Value> {
        let answer = send(&self.router, bearer("GET", "/approvals", token).body(Body::empty()).expect("request")).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        answer.json().as_array().expect("a list").clone()
    }

    /// The state of request `id` as the store keeps it.
    async fn state(&self, id: &str) -> Option<ApprovalState> {
        let open = self.pending(ERIN).await;
        if open.iter().any(|r| r["id"] == id) {
            return Some(ApprovalState::Pending);
        }
        None
    }

    /// `(action, decision, code, resource)` of every audit record so far.
    async fn audit(&self) -> Vec<(String, String, String, Option<String>)> {
        self.audit_handle.flush().await.expect("flush");
        self.audit
            .records()
            .iter()
            .map(|r| {
                (
                    r.action.to_owned(),
                    r.decision.as_str().to_owned(),
                    r.code.to_owned(),
                    r.resource.as_deref().map(str::to_owned),
                )
            })
            .collect()
    }
}

#[tokio::test]
async fn the_first_call_asks_and_the_approved_retry_runs_the_body_exactly_once() {
    let app = app().await;
    let first = app.publish(ALICE, "1", "v1", None).await;
    assert_eq!(first.status, 202, "{}", first.text);
    assert_eq!(first.headers["cache-control"], "no-store");
    let request = first.json();
    let id = request["id"].as_str().expect("an id").to_owned();
    assert_eq!(id.len(), 32, "128 random bits in hex");
    assert_eq!(request["action"], "publish_doc");
    assert_eq!(request["object"], "docs/1");
    assert_eq!(request["requester"], "alice");
    assert_eq!(request["state"], "pending");
    assert_eq!(request["permission"], "docs:approve");
    assert!(request["expires_at"].as_u64().expect("expires_at") > request["requested_at"].as_u64().expect("asked"));
    assert!(app.docs.published().is_empty(), "the first call runs nothing");

    app.publish(ALICE, "1", "v1", Some(&id)).await.assert_problem(403, "approval_pending");
    let listed = app.pending(CAROL).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], id.as_str());

    let approved = app.decide(CAROL, "approve", &id).await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    assert_eq!(approved.json()["state"], "approved");
    assert_eq!(approved.json()["decided_by"], "carol");
    assert!(app.pending(ERIN).await.is_empty(), "decided requests are no longer listed");
    assert!(app.docs.published().is_empty(), "approving runs nothing either");

    let retry = app.publish(ALICE, "1", "v1", Some(&id)).await;
    assert_eq!(retry.status, 200, "{}", retry.text);
    assert_eq!(app.docs.published(), [("1".to_owned(), "v1".to_owned())]);

    app.publish(ALICE, "1", "v1", Some(&id)).await.assert_problem(409, "approval_used");
    app.decide(ERIN, "approve", &id).await.assert_problem(409, "approval_used");
    assert_eq!(app.docs.published().len(), 1, "exactly once");

    // Every step is audited: the request, the approval, the use, the reuse.
    let approval = format!("approvals/{id}");
    let records = app.audit().await;
    let steps: Vec<(&str, &str, &str)> =
        records.iter().map(|(a, d, c, _)| (a.as_str(), d.as_str(), c.as_str())).collect();
    assert_eq!(
        steps,
        [
            ("publish_doc", "deny", "approval_requested"),
            ("publish_doc", "deny", "approval_pending"),
            ("pending", "allow", "ok"),
            ("approve", "allow", "ok"),
            ("pending", "allow", "ok"),
            ("publish_doc", "allow", "approved"),
            ("publish_doc", "deny", "approval_used"),
            ("approve", "allow", "ok"),
            ("approve", "deny", "approval_used"),
        ]
    );
    assert_eq!(records[0].3.as_deref(), Some("docs/1"));
    assert_eq!(records[3].3.as_deref(), Some(approval.as_str()));
}

#[tokio::test]
async fn the_requester_never_approves_their_own_request_nor_through_an_agent() {
    let app = app().await;
    let id = app.ask(CAROL, "1", "mine").await;
    let refused = app.decide(CAROL, "approve", &id).await;
    refused.assert_problem(403, "forbidden");
    assert!(refused.json()["detail"].as_str().expect("detail").contains("own request"), "{}", refused.text);
    app.decide(CAROL, "deny", &id).await.assert_problem(403, "forbidden");
    // Carol's own agent acts on carol's objects, so it reaches the library:
    // agents never approve.
    app.decide(AGENT_CAROL, "approve", &id).await.assert_problem(403, "wrong_caller_kind");
    assert_eq!(app.state(&id).await, Some(ApprovalState::Pending), "nothing changed");
    app.publish(CAROL, "1", "mine", Some(&id)).await.assert_problem(403, "approval_pending");
    assert!(app.docs.published().is_empty());
    // The requester does not see their own request as one to decide.
    assert!(app.pending(CAROL).await.is_empty());
}

#[tokio::test]
async fn agents_and_services_never_approve() {
    let app = app().await;
    let id = app.ask(ALICE, "1", "v1").await;
    // Another person's agent: not even the request is visible to it (an
    // agent touches only its user's objects).
    app.decide(AGENT_ERIN, "approve", &id).await.assert_problem(404, "not_found");
    // A service holding the permission: the library refuses the kind.
    app.decide(SVC, "approve", &id).await.assert_problem(403, "wrong_caller_kind");
    app.decide(SVC, "deny", &id).await.assert_problem(403, "wrong_caller_kind");
    let listed = send(&app.router, bearer("GET", "/approvals", SVC).body(Body::empty()).expect("request")).await;
    assert_eq!(listed.json(), serde_json::json!([]), "a service decides nothing, so it lists nothing");
    assert_eq!(app.state(&id).await, Some(ApprovalState::Pending));
    app.publish(ALICE, "1", "v1", Some(&id)).await.assert_problem(403, "approval_pending");
    assert!(app.docs.published().is_empty());
}

#[tokio::test]
async fn approvers_are_of_the_same_tenant_and_hold_the_permission_over_the_object() {
    let app = app().await;
    let id = app.ask(ALICE, "1", "v1").await;
    // Another tenant's admin: the request does not exist for them.
    app.decide(DAVE, "approve", &id).await.assert_problem(404, "not_found");
    // A customer lacks `docs:approve` altogether.
    app.decide(BOB, "approve", &id).await.assert_problem(403, "forbidden");
    // A reviewer holds it over their own docs only; doc 1 is alice's.
    app.decide(FRANK, "approve", &id).await.assert_problem(403, "forbidden");
    assert!(app.pending(FRANK).await.is_empty());
    assert_eq!(app.state(&id).await, Some(ApprovalState::Pending));
    assert!(app.docs.published().is_empty());
}

#[tokio::test]
async fn an_approval_for_another_object_input_or_requester_is_refused_and_not_burnt() {
    let app = app().await;
    let id = app.ask(ALICE, "1", "v1").await;
    assert_eq!(app.decide(ERIN, "approve", &id).await.status, 200);
    // Another object of alice's, another input, another requester who may
    // publish doc 1 (carol is an admin): each refused alike.
    app.publish(ALICE, "4", "v1", Some(&id)).await.assert_problem(403, "approval_invalid");
    app.publish(ALICE, "1", "v2", Some(&id)).await.assert_problem(403, "approval_invalid");
    app.publish(CAROL, "1", "v1", Some(&id)).await.assert_problem(403, "approval_invalid");
    // An unknown id reads the same.
    app.publish(ALICE, "1", "v1", Some("0123456789abcdef0123456789abcdef"))
        .await
        .assert_problem(403, "approval_invalid");
    assert!(app.docs.published().is_empty());
    // None of them used it up: the call it was made for still runs.
    let retry = app.publish(ALICE, "1", "v1", Some(&id)).await;
    assert_eq!(retry.status, 200, "{}", retry.text);
    assert_eq!(app.docs.published(), [("1".to_owned(), "v1".to_owned())]);
}

#[tokio::test]
async fn the_input_digest_ignores_key_order_and_spacing() {
    let app = app().await;
    let id = app.ask(ALICE, "1", "same").await;
    assert_eq!(app.decide(ERIN, "approve", &id).await.status, 200);
    let request = bearer("POST", "/docs/1/publish", ALICE)
        .header("content-type", "application/json")
        .header("approval-id", id.as_str())
        .body(Body::from("{ \"note\" :\n \"same\" }"))
        .expect("request");
    let retry = send(&app.router, request).await;
    assert_eq!(retry.status, 200, "{}", retry.text);
    assert_eq!(app.docs.published().len(), 1);
}

#[tokio::test]
async fn a_denied_request_never_runs_and_stays_denied() {
    let app = app().await;
    let id = app.ask(ALICE, "1", "v1").await;
    let denied = app.decide(ERIN, "deny", &id).await;
    assert_eq!(denied.status, 200, "{}", denied.text);
    assert_eq!(denied.json()["state"], "denied");
    app.publish(ALICE, "1", "v1", Some(&id)).await.assert_problem(403, "approval_denied");
    app.decide(CAROL, "approve", &id).await.assert_problem(409, "approval_decided");
    app.publish(ALICE, "1", "v1", Some(&id)).await.assert_problem(403, "approval_denied");
    assert!(app.docs.published().is_empty());
}

#[tokio::test]
async fn an_expired_approval_is_refused() {
    // Expiry is in whole seconds: with a 3 s life, a request asked at any
    // point of a second is still open 2 s later and closed 3.5 s later.
    let app = app_with(MemoryApprovalStore::new(), Duration::from_secs(3)).await;
    let id = app.ask(ALICE, "1", "v1").await;
    assert_eq!(app.decide(ERIN, "approve", &id).await.status, 200);
    tokio::time::sleep(Duration::from_millis(3500)).await;
    app.publish(ALICE, "1", "v1", Some(&id)).await.assert_problem(403, "approval_invalid");
    assert!(app.docs.published().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_of_one_approval_run_the_body_once() {
    let app = Arc::new(app().await);
    let id = app.ask(ALICE, "1", "v1").await;
    assert_eq!(app.decide(ERIN, "approve", &id).await.status, 200);
    let barrier = Arc::new(tokio::sync::Barrier::new(8));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (app, barrier, id) = (app.clone(), barrier.clone(), id.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                app.publish(ALICE, "1", "v1", Some(&id)).await
            })
        })
        .collect();
    let mut statuses: HashMap<u16, usize> = HashMap::new();
    for task in tasks {
        let answer = task.await.expect("task");
        if answer.status != 200 {
            answer.assert_problem(409, "approval_used");
        }
        *statuses.entry(answer.status.as_u16()).or_default() += 1;
    }
    assert_eq!(statuses.get(&200), Some(&1), "{statuses:?}");
    assert_eq!(app.docs.published().len(), 1);
}

/// An approval store that always fails.
struct DownStore;

impl ApprovalStore for DownStore {
    fn create<'a>(&'a self, _: &'a ApprovalRequest, _: Duration) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::ready(Err(StoreError::new("approval store", "down")))
    }
    fn get<'a>(&'a self, _: &'a str) -> StoreFuture<'a, Result<Option<ApprovalRequest>, StoreError>> {
        StoreFuture::ready(Err(StoreError::new("approval store", "down")))
    }
    fn transition<'a>(
        &'a self,
        _: &'a str,
        _: ApprovalState,
        _: ApprovalState,
        _: Option<&'a str>,
    ) -> StoreFuture<'a, Result<bool, StoreError>> {
        StoreFuture::ready(Err(StoreError::new("approval store", "down")))
    }
    fn pending<'a>(&'a self, _: &'a str) -> StoreFuture<'a, Result<Vec<ApprovalRequest>, StoreError>> {
        StoreFuture::ready(Err(StoreError::new("approval store", "down")))
    }
}

#[tokio::test]
async fn a_failing_approval_store_is_503_and_runs_nothing() {
    let app = app_with(DownStore, Duration::from_secs(3600)).await;
    app.publish(ALICE, "1", "v1", None).await.assert_problem(503, "unavailable");
    app.publish(ALICE, "1", "v1", Some("0123456789abcdef0123456789abcdef")).await.assert_problem(503, "unavailable");
    app.decide(ERIN, "approve", "0123456789abcdef0123456789abcdef").await.assert_problem(503, "unavailable");
    assert!(app.docs.published().is_empty());
    let records = app.audit().await;
    assert!(records.iter().all(|(_, decision, code, _)| decision == "deny" && code == "unavailable"), "{records:?}");
}

#[test]
fn the_manifest_names_the_approval_permission() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let manifest = rt.block_on(async {
        let actions = Actions::new(
            RolePolicy::new(),
            Tokens::new(MemoryTokenStore::new()),
            Resolvers::new().with("docs", DocResolver),
        );
        let docs = Docs { published: Arc::default(), approvals: actions.approvals() };
        let actions = actions.mount(publish_doc).mount(approve);
        let manifest = actions.manifest().to_vec();
        let _ = actions.into_router(docs);
        manifest
    });
    assert_eq!(manifest[0].approval, Some("docs:approve"));
    assert_eq!(manifest[1].approval, None);
}
