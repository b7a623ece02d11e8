//! The test app: a few guarded actions over "docs", with counters that
//! prove whether a body ran, and hooks to inject store failures.
//!
//! Over 400 lines because it is one app: every threat module drives the
//! same actions, stores and failure hooks, so they are defined once here.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::{Html, Redirect};
use axum::Router;
use guard_runtime::audit::MemorySink;
use guard_runtime::authn::{
    hash_secret, MemorySessionStore, MemoryTokenStore, SessionRecord, SessionStore, Sessions, TokenStore, Tokens,
};
use guard_runtime::store::{DenialStore, MemoryDenialStore, MemoryReplayStore, ReplayStore};
use guard_runtime::{
    action, ActionError, Actions, AuditHandle, AuditSink, Authorized, CheckContext, CheckError, Delegation, Form,
    Grant, Json, ObjectMeta, Principal, Resolver, Resolvers, RolePolicy,
};
use serde::{Deserialize, Serialize};
use tower::ServiceExt;

guard_runtime::permissions! {
    pub DocsWrite = "docs:write";
}

/// Counts how many times each body ran.
#[derive(Clone, Default)]
pub struct Ran(Arc<AtomicUsize>);

impl Ran {
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
    fn hit(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Clone)]
pub struct AppState {
    pub ran: Ran,
}

#[derive(Debug, Deserialize, Serialize)]
pub struct Meta {
    pub tag: String,
}

#[derive(Debug, Deserialize, Serialize)]
pub struct Edit {
    pub text: String,
    #[serde(flatten)]
    pub meta: Meta,
}

#[derive(Debug, Deserialize, Serialize)]
pub struct Move {
    pub doc_id: String,
    pub to: String,
}

#[action(GET "/docs/{doc_id}", requires = "docs:read", owner = "doc_id")]
async fn read_doc(auth: Authorized, State(state): State<AppState>, Path(doc_id): Path<String>) -> String {
    state.ran.hit();
    format!("{} read {doc_id}", auth.principal().id)
}

async fn not_locked(ctx: &CheckContext<'_>) -> Result<(), CheckError> {
    match ctx.object.and_then(|o| o.attributes.get("status")).map(String::as_str) {
        Some("locked") => Err(CheckError::denied("this doc is locked")),
        _ => Ok(()),
    }
}

/// A data-layer write that demands proof `docs:write` was checked.
fn store_edit(_proof: &Grant<DocsWrite>, edit: &Edit) -> String {
    format!("{}#{}", edit.text, edit.meta.tag)
}

#[action(POST "/docs/{doc_id}", requires = "docs:write", owner = "doc_id", check = not_locked)]
async fn edit_doc(
    _auth: Authorized,
    grant: Grant<DocsWrite>,
    State(state): State<AppState>,
    Json(edit): Json<Edit>,
) -> Result<String, ActionError> {
    state.ran.hit();
    Ok(store_edit(&grant, &edit))
}

#[action(DELETE "/docs/{doc_id}", requires = "docs:delete", owner = "doc_id")]
async fn delete_doc(_auth: Authorized, State(state): State<AppState>) -> StatusCode {
    state.ran.hit();
    StatusCode::NO_CONTENT
}

/// The object key comes from a field of the body, not the path.
#[action(POST "/moves", requires = "docs:write", owner = "doc_id", limit = "1KiB")]
async fn move_doc(_auth: Authorized, State(state): State<AppState>, Json(input): Json<Move>) -> String {
    state.ran.hit();
    format!("moved {} to {}", input.doc_id, input.to)
}

#[action(POST "/pay/{doc_id}", requires = "pay:capture", callers = service, tenant = "doc_id", resource = "docs", replay)]
async fn pay(_auth: Authorized, State(state): State<AppState>) -> &'static str {
    state.ran.hit();
    "paid"
}

#[action(POST "/sensitive", authenticated, callers = user, fresh = "5m")]
async fn sensitive(auth: Authorized, State(state): State<AppState>) -> String {
    state.ran.hit();
    auth.principal().id.clone()
}

/// A login form's shape: public, checks a password itself (slowly, as a
/// real hash does), and refuses a wrong one with 401.
#[action(POST "/password-check", public = "test probe: checks a password itself")]
async fn check_password(State(state): State<AppState>) -> Result<&'static str, ActionError> {
    state.ran.hit();
    tokio::time::sleep(Duration::from_millis(30)).await;
    Err(ActionError::unauthenticated())
}

#[action(GET "/public", public = "test probe: reveals nothing")]
async fn public_probe(State(state): State<AppState>) -> &'static str {
    state.ran.hit();
    "hello"
}

/// A page: a signed-out browser is sent to the login page.
#[action(GET "/docs/{doc_id}/page", requires = "docs:read", owner = "doc_id", page)]
async fn doc_page(auth: Authorized, State(state): State<AppState>, Path(doc_id): Path<String>) -> Html<String> {
    state.ran.hit();
    let csrf = auth.csrf_token().unwrap_or_default();
    Html(format!(
        "<form method=post action=\"/docs/{doc_id}/form\"><input type=hidden name=csrf_token value=\"{csrf}\">\
         <input name=text><input name=tag></form>"
    ))
}

/// The page's form: an HTML form post, answered Post/Redirect/Get.
#[action(POST "/docs/{doc_id}/form", requires = "docs:write", owner = "doc_id", limit = "1KiB")]
async fn edit_doc_form(
    _auth: Authorized,
    State(state): State<AppState>,
    Path(doc_id): Path<String>,
    Form(edit): Form<Edit>,
) -> Redirect {
    state.ran.hit();
    Redirect::to(&format!("/docs/{doc_id}/page?saved={}", edit.meta.tag))
}

/// Route given at mount time.
#[action(requires = "docs:read")]
async fn list_docs(auth: Authorized, State(state): State<AppState>) -> String {
    state.ran.hit();
    format!("{:?}", auth.visible_owner())
}

pub const ALICE: &str = "alice-token";
pub const BOB: &str = "bob-token";
pub const CAROL: &str = "carol-token";
pub const DAVE: &str = "dave-token";
pub const SVC: &str = "svc-token";
pub const SVC_GLOBEX: &str = "svc-globex-token";
pub const AGENT_ALICE: &str = "agent-alice-token";
pub const AGENT_BOB: &str = "agent-bob-token";

/// Doc 1: alice's; 2: bob's; 3: dave's (globex); 4: alice's, locked.
pub fn docs() -> HashMap<&'static str, ObjectMeta> {
    HashMap::from([
        ("1", ObjectMeta::owned("acme", "alice")),
        ("2", ObjectMeta::owned("acme", "bob")),
        ("3", ObjectMeta::owned("globex", "dave")),
        ("4", ObjectMeta::owned("acme", "alice").with_attribute("status", "locked")),
    ])
}

struct DocResolver;

impl Resolver for DocResolver {
    fn resolve<'a>(
        &'a self,
        key: &'a str,
    ) -> guard_runtime::StoreFuture<'a, Result<Option<ObjectMeta>, guard_runtime::StoreError>> {
        guard_runtime::StoreFuture::ready(Ok(docs().remove(key)))
    }
}

/// What a test may swap: any store, the resolver, the audit sink, limits.
pub struct Config {
    pub sessions: Box<dyn FnOnce() -> Arc<dyn SessionStore>>,
    pub tokens: Arc<dyn TokenStore>,
    pub replay: Arc<dyn ReplayStore>,
    pub denials: Arc<dyn DenialStore>,
    pub resolver: Arc<dyn Resolver>,
    pub sink: Option<Arc<dyn AuditSink>>,
    pub probe_threshold: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sessions: Box::new(|| Arc::new(MemorySessionStore::new())),
            tokens: Arc::new(MemoryTokenStore::new()),
            replay: Arc::new(MemoryReplayStore::new()),
            denials: Arc::new(MemoryDenialStore::new()),
            resolver: Arc::new(DocResolver),
            sink: None,
            probe_threshold: 0,
        }
    }
}

pub struct TestApp {
    pub router: Router,
    pub ran: Ran,
    pub audit: MemorySink,
    pub audit_handle: AuditHandle,
    pub sessions: Sessions,
    pub session_store: Arc<dyn SessionStore>,
    pub tokens: Tokens,
    pub manifest: Vec<guard_runtime::ActionInfo>,
}

/// Forwards to an `Arc`ed store so a test keeps a handle on it.
struct Shared<T: ?Sized>(Arc<T>);

impl SessionStore for Shared<dyn SessionStore> {
    fn load<'a>(
        &'a self,
        h: &'a str,
    ) -> guard_runtime::StoreFuture<'a, Result<Option<SessionRecord>, guard_runtime::StoreError>> {
        self.0.load(h)
    }
    fn save<'a>(
        &'a self,
        h: &'a str,
        r: SessionRecord,
    ) -> guard_runtime::StoreFuture<'a, Result<(), guard_runtime::StoreError>> {
        self.0.save(h, r)
    }
    fn revoke<'a>(&'a self, h: &'a str) -> guard_runtime::StoreFuture<'a, Result<(), guard_runtime::StoreError>> {
        self.0.revoke(h)
    }
    fn revoke_principal<'a>(
        &'a self,
        p: &'a str,
        keep: Option<&'a str>,
    ) -> guard_runtime::StoreFuture<'a, Result<(), guard_runtime::StoreError>> {
        self.0.revoke_principal(p, keep)
    }
}

impl TokenStore for Shared<dyn TokenStore> {
    fn find<'a>(
        &'a self,
        h: &'a str,
    ) -> guard_runtime::StoreFuture<'a, Result<Option<guard_runtime::authn::TokenRecord>, guard_runtime::StoreError>>
    {
        self.0.find(h)
    }
    fn insert(
        &self,
        r: guard_runtime::authn::TokenRecord,
    ) -> guard_runtime::StoreFuture<'_, Result<(), guard_runtime::StoreError>> {
        self.0.insert(r)
    }
    fn revoke<'a>(&'a self, c: &'a str) -> guard_runtime::StoreFuture<'a, Result<(), guard_runtime::StoreError>> {
        self.0.revoke(c)
    }
}

impl ReplayStore for Shared<dyn ReplayStore> {
    fn is_claimed<'a>(
        &'a self,
        key: &'a str,
    ) -> guard_runtime::StoreFuture<'a, Result<bool, guard_runtime::StoreError>> {
        self.0.is_claimed(key)
    }

    fn claim<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> guard_runtime::StoreFuture<'a, Result<bool, guard_runtime::StoreError>> {
        self.0.claim(key, ttl)
    }
}

impl DenialStore for Shared<dyn DenialStore> {
    fn current<'a>(
        &'a self,
        key: &'a str,
        w: Duration,
    ) -> guard_runtime::StoreFuture<'a, Result<guard_runtime::store::DenialWindow, guard_runtime::StoreError>> {
        self.0.current(key, w)
    }
    fn add<'a>(
        &'a self,
        key: &'a str,
        w: Duration,
    ) -> guard_runtime::StoreFuture<'a, Result<guard_runtime::store::DenialWindow, guard_runtime::StoreError>> {
        self.0.add(key, w)
    }
    fn release<'a>(
        &'a self,
        key: &'a str,
        w: Duration,
    ) -> guard_runtime::StoreFuture<'a, Result<(), guard_runtime::StoreError>> {
        self.0.release(key, w)
    }
}

impl Resolver for Shared<dyn Resolver> {
    fn resolve<'a>(
        &'a self,
        key: &'a str,
    ) -> guard_runtime::StoreFuture<'a, Result<Option<ObjectMeta>, guard_runtime::StoreError>> {
        self.0.resolve(key)
    }
}

impl AuditSink for Shared<dyn AuditSink> {
    fn write<'a>(
        &'a self,
        batch: &'a [guard_runtime::DecisionRecord],
    ) -> guard_runtime::StoreFuture<'a, Result<(), guard_runtime::StoreError>> {
        self.0.write(batch)
    }
}

fn with_credential(mut p: Principal, id: &str) -> Principal {
    p.credential_id = id.to_owned();
    p
}

pub async fn app() -> TestApp {
    app_with(Config::default()).await
}

pub async fn app_with(config: Config) -> TestApp {
    // Seed through a memory store, then serve from the configured one.
    let session_store = (config.sessions)();
    let sessions = Sessions::new(Shared(session_store.clone()));
    let seed = Tokens::new(Shared(config.tokens.clone()));
    let customer = || vec!["customer".to_owned()];
    let principals = [
        (ALICE, Principal::user("alice", "acme", ["customer"])),
        (BOB, Principal::user("bob", "acme", ["customer"])),
        (CAROL, Principal::user("carol", "acme", ["admin"])),
        (DAVE, Principal::user("dave", "globex", ["customer"])),
        (SVC, Principal::service("svc", "acme", ["docs:read", "pay:capture"])),
        (SVC_GLOBEX, Principal::service("svc-globex", "globex", ["pay:capture"])),
        (
            AGENT_ALICE,
            Principal::agent("agent-a", "acme", ["docs:read"], Delegation { user: "alice".into(), roles: customer() }),
        ),
        (AGENT_BOB, Principal::agent("agent-b", "acme", ["*"], Delegation { user: "bob".into(), roles: customer() })),
    ];
    for (token, principal) in principals {
        let credential = format!("key:{}", principal.id);
        // Seeding may hit a deliberately failing store: that is the test's point.
        let _ = seed.issue(token, with_credential(principal, &credential)).await;
    }
    let policy = RolePolicy::new().role("customer", ["docs:read", "docs:write"]).tenant_role("admin", ["docs:*"]);
    let audit = MemorySink::new();
    let sink: Arc<dyn AuditSink> = config.sink.unwrap_or_else(|| Arc::new(audit.clone()));
    let tokens = Tokens::new(Shared(config.tokens));
    let actions = Actions::new(
        policy,
        (tokens.clone(), sessions.clone()),
        Resolvers::new().with("docs", Shared(config.resolver)),
    )
    .audit(Shared(sink), 64)
    .replay_store(Shared(config.replay))
    .denial_store(Shared(config.denials))
    .probing(config.probe_threshold, Duration::from_secs(60))
    .mount(read_doc)
    .mount(edit_doc)
    .mount(delete_doc)
    .mount(move_doc)
    .mount(pay)
    .mount(sensitive)
    .mount(public_probe)
    .mount(check_password)
    .mount(doc_page)
    .mount(edit_doc_form)
    .mount_at(axum::http::Method::GET, "/docs", list_docs);
    let audit_handle = actions.audit_handle();
    let manifest = actions.manifest().to_vec();
    let ran = Ran::default();
    let router = actions.into_router(AppState { ran: ran.clone() }).fallback(guard_runtime::not_found);
    TestApp { router, ran, audit, audit_handle, sessions, session_store, tokens, manifest }
}

/// A parsed answer.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).unwrap_or(serde_json::Value::Null)
    }

    /// Asserts a refusal: status, problem+json, `code`, `status` member,
    /// and that it is never cached.
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "status; body: {}", self.text);
        assert_eq!(self.headers["content-type"], "application/problem+json", "content type");
        assert_eq!(self.headers.get("cache-control").map(|v| v.as_bytes()), Some(&b"no-store"[..]), "cache-control");
        let json = self.json();
        assert_eq!(json["code"], code, "code; body: {}", self.text);
        assert_eq!(json["status"], status, "status member");
        if status == 401 {
            assert!(self.headers.contains_key("www-authenticate"), "401 without WWW-Authenticate");
        }
    }
}

impl TestApp {
    pub async fn send(&self, request: Request<Body>) -> Answer {
        send(&self.router, request).await
    }

    pub async fn audit_records(&self) -> Vec<guard_runtime::DecisionRecord> {
        self.audit_handle.flush().await.expect("audit flush");
        self.audit.records()
    }

    /// A session for `principal`, authenticated `age` ago: the cookie header
    /// value and its CSRF token.
    pub async fn session(&self, principal: Principal, age: Duration) -> (String, String) {
        self.session_at(principal, SystemTime::now() - age).await
    }

    /// A session whose authentication happened at `authenticated_at`.
    pub async fn session_at(&self, principal: Principal, authenticated_at: SystemTime) -> (String, String) {
        let id = "ab".repeat(32);
        let id = format!("{}{}", &id[..48], &hash_secret(&principal.id)[..16]);
        let mut principal = principal;
        principal.authenticated_at = authenticated_at;
        principal.credential_id = "session:test".into();
        let csrf = format!("csrf-{}", principal.id);
        let record = SessionRecord {
            principal,
            csrf_token: csrf.clone(),
            expires_at: SystemTime::now() + Duration::from_secs(3600),
        };
        self.session_store.save(&hash_secret(&id), record).await.expect("save session");
        (format!("guard_session={id}"), csrf)
    }
}

pub async fn send(router: &Router, request: Request<Body>) -> Answer {
    let response = router.clone().oneshot(request).await.expect("router is infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = http_body_util::BodyExt::collect(response.into_body()).await.expect("body").to_bytes();
    Answer { status, headers, text: String::from_utf8_lossy(&bytes).into_owned() }
}

/// A request builder with the peer address a real server would attach.
pub fn request(method: &str, uri: &str) -> axum::http::request::Builder {
    let peer: SocketAddr = "203.0.113.7:5000".parse().expect("addr");
    Request::builder().method(method).uri(uri).extension(ConnectInfo(peer))
}

pub fn bearer(method: &str, uri: &str, token: &str) -> axum::http::request::Builder {
    request(method, uri).header("authorization", format!("Bearer {token}"))
}

pub fn json_body(value: serde_json::Value) -> Body {
    Body::from(value.to_string())
}

pub const EDIT: &str = r#"{"text":"hello","tag":"t"}"#;
