//! What the Redis and PostgreSQL store tests (`tests/redis.rs`,
//! `tests/postgres.rs`) share: a tiny guarded app run as two instances over
//! one shared server, request helpers, and the scenarios that hold for any
//! shared-state backend. Each test file keeps its own server and its
//! backend-specific tests, and runs every scenario here from a thin
//! `#[tokio::test]` of the same name.
//!
//! Over 400 lines because it is the one copy of the scenarios both store
//! suites run; splitting it would scatter the shared app they drive.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use guard_runtime::authn::{hash_secret, SessionRecord, SessionStore, Sessions, TokenStore, Tokens};
use guard_runtime::store::{DenialStore, ReplayStore};
use guard_runtime::{
    action, resolve, ActionError, Actions, Authorized, Code, ObjectMeta, Principal, Resolvers, RolePolicy,
};
use tower::ServiceExt;

pub mod approvals;

// ---------------------------------------------------------------- backend

/// The four stores one app instance runs on.
pub struct Stores<S, T, R, D> {
    pub sessions: S,
    pub tokens: T,
    pub replay: R,
    pub denials: D,
}

/// A running server that app instances share: each [`Backend::instance`] is
/// one more app instance with its own connection to it.
pub trait Backend {
    /// The backend's name, for the tests' logs.
    const NAME: &str;
    fn instance(&self, probe_threshold: u32) -> impl Future<Output = Instance>;
    /// Sends `signal` (`-STOP`, `-CONT`) to every process of the server.
    fn signal(&self, signal: &str);
}

// ---------------------------------------------------------------- app

#[derive(Clone)]
struct AppState {
    ran: Arc<AtomicUsize>,
    sessions: Sessions,
}

impl AppState {
    fn hit(&self) {
        self.ran.fetch_add(1, Ordering::SeqCst);
    }
}

#[action(GET "/docs/{doc_id}", requires = "docs:read", owner = "doc_id")]
async fn read_doc(auth: Authorized, State(state): State<AppState>) -> String {
    state.hit();
    auth.principal().id.clone()
}

#[action(POST "/logout", authenticated, callers = user)]
async fn logout(auth: Authorized, State(state): State<AppState>) -> Result<StatusCode, ActionError> {
    state.hit();
    let session = auth.session().ok_or_else(|| ActionError::new(Code::WrongCallerKind))?;
    state.sessions.logout(session).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// "Log out my other sessions": revoke all but the current one.
#[action(POST "/sessions/others", authenticated, callers = user)]
async fn revoke_others(auth: Authorized, State(state): State<AppState>) -> Result<StatusCode, ActionError> {
    state.hit();
    state.sessions.revoke_all(&auth.principal().id, auth.session()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[action(POST "/pay", requires = "pay:capture", callers = service, replay)]
async fn pay(_auth: Authorized, State(state): State<AppState>) -> &'static str {
    state.hit();
    "paid"
}

/// A login form's shape: public, checks a password itself (slowly, as a
/// real hash does), and refuses a wrong one with 401.
#[action(POST "/password-check", public = "test probe: checks a password itself")]
async fn check_password(State(state): State<AppState>) -> Result<&'static str, ActionError> {
    state.hit();
    tokio::time::sleep(Duration::from_millis(30)).await;
    Err(ActionError::unauthenticated())
}

pub const SVC: &str = "svc-key-0123456789";
pub const ALICE: &str = "alice-key-0123456789";

pub fn svc() -> Principal {
    let mut p = Principal::service("svc", "acme", ["pay:capture", "docs:read"]);
    p.credential_id = "key:svc".into();
    p
}

pub fn alice() -> Principal {
    let mut p = Principal::user("alice", "acme", ["customer"]);
    p.credential_id = "key:alice".into();
    p
}

/// One app instance: its own connection to the shared server.
pub struct Instance {
    router: Router,
    ran: Arc<AtomicUsize>,
    sessions: Sessions,
    pub tokens: Tokens,
}

impl Instance {
    /// An instance on `stores`, with `Actions::probing(probe_threshold, 60 s)`.
    pub fn over(
        stores: Stores<impl SessionStore, impl TokenStore, impl ReplayStore, impl DenialStore>,
        probe_threshold: u32,
    ) -> Self {
        let sessions = Sessions::new(stores.sessions);
        let tokens = Tokens::new(stores.tokens);
        let ran = Arc::new(AtomicUsize::new(0));
        // Doc 1 is alice's, doc 2 bob's.
        let docs = resolve::from_fn(|key: String| async move {
            Ok(match key.as_str() {
                "1" => Some(ObjectMeta::owned("acme", "alice")),
                "2" => Some(ObjectMeta::owned("acme", "bob")),
                _ => None,
            })
        });
        let router = Actions::new(
            RolePolicy::new().role("customer", ["docs:read"]),
            (tokens.clone(), sessions.clone()),
            Resolvers::new().with("docs", docs),
        )
        .replay_store(stores.replay)
        .denial_store(stores.denials)
        .probing(probe_threshold, Duration::from_secs(60))
        .mount(read_doc)
        .mount(logout)
        .mount(revoke_others)
        .mount(pay)
        .mount(check_password)
        .into_router(AppState { ran: ran.clone(), sessions: sessions.clone() });
        Instance { router, ran, sessions, tokens }
    }

    pub fn ran(&self) -> usize {
        self.ran.load(Ordering::SeqCst)
    }

    /// Fails the test, rather than hang it, if no answer comes within
    /// [`ANSWERS_WITHIN`]: a stopped server keeps its connections open, so
    /// a lost timeout would wait forever.
    pub async fn send(&self, request: Request<Body>) -> Answer {
        match tokio::time::timeout(ANSWERS_WITHIN, send(&self.router, request)).await {
            Ok(answer) => answer,
            Err(_) => panic!("no answer within {ANSWERS_WITHIN:?}"),
        }
    }

    /// Logs alice in on this instance: (cookie header, CSRF token).
    pub async fn login(&self) -> (String, String) {
        let new = self.sessions.login(alice()).await.expect("login");
        let cookie = new.set_cookie.to_str().expect("ascii").split(';').next().expect("cookie").to_owned();
        (cookie, new.csrf_token)
    }
}

pub struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    /// Asserts a refusal: status, `application/problem+json`, `code`.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "status; body: {}", self.text);
        assert_eq!(self.headers["content-type"], "application/problem+json", "content type; body: {}", self.text);
        let json: serde_json::Value = serde_json::from_str(&self.text).expect("problem body is JSON");
        assert_eq!(json["code"], code, "code; body: {}", self.text);
        assert_eq!(json["status"], status, "status member");
    }

    #[track_caller]
    pub fn assert_ok(&self, status: u16) {
        assert_eq!(self.status.as_u16(), status, "status; body: {}", self.text);
    }
}

async fn send(router: &Router, request: Request<Body>) -> Answer {
    let response = router.clone().oneshot(request).await.expect("router is infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = http_body_util::BodyExt::collect(response.into_body()).await.expect("body").to_bytes();
    Answer { status, headers, text: String::from_utf8_lossy(&bytes).into_owned() }
}

fn request(method: &str, uri: &str) -> axum::http::request::Builder {
    let peer: SocketAddr = "203.0.113.7:5000".parse().expect("addr");
    Request::builder().method(method).uri(uri).header("host", "app.test").extension(ConnectInfo(peer))
}

pub fn bearer(method: &str, uri: &str, key: &str) -> Request<Body> {
    request(method, uri).header("authorization", format!("Bearer {key}")).body(Body::empty()).expect("request")
}

pub fn with_cookie(method: &str, uri: &str, cookie: &str, csrf: &str) -> Request<Body> {
    request(method, uri).header("cookie", cookie).header("x-csrf-token", csrf).body(Body::empty()).expect("request")
}

pub fn pay_with(key: &str, idempotency_key: &str) -> Request<Body> {
    request("POST", "/pay")
        .header("authorization", format!("Bearer {key}"))
        .header("idempotency-key", idempotency_key)
        .body(Body::empty())
        .expect("request")
}

pub async fn seed(tokens: &Tokens) {
    tokens.issue(SVC, svc()).await.expect("issue svc key");
    tokens.issue(ALICE, alice()).await.expect("issue alice key");
}

// -------------------------------------------- two instances, one server

pub async fn logout_on_one_instance_ends_the_session_on_the_other(server: &impl Backend) {
    let (a, b) = (server.instance(0).await, server.instance(0).await);
    let (cookie, csrf) = a.login().await;
    b.send(with_cookie("GET", "/docs/1", &cookie, &csrf)).await.assert_ok(200);

    a.send(with_cookie("POST", "/logout", &cookie, &csrf)).await.assert_ok(204);

    b.send(with_cookie("GET", "/docs/1", &cookie, &csrf)).await.assert_problem(401, "unauthenticated");
    a.send(with_cookie("GET", "/docs/1", &cookie, &csrf)).await.assert_problem(401, "unauthenticated");
    assert_eq!((a.ran(), b.ran()), (1, 1));
}

pub async fn revoke_all_on_one_instance_keeps_only_the_kept_session_everywhere(server: &impl Backend) {
    let (a, b) = (server.instance(0).await, server.instance(0).await);
    let (keep, keep_csrf) = a.login().await;
    let (other_a, other_a_csrf) = a.login().await;
    let (other_b, other_b_csrf) = b.login().await;
    for (cookie, csrf) in [(&keep, &keep_csrf), (&other_a, &other_a_csrf), (&other_b, &other_b_csrf)] {
        b.send(with_cookie("GET", "/docs/1", cookie, csrf)).await.assert_ok(200);
    }
    // Bob's session must survive alice's revocation.
    let mut bob = Principal::user("bob", "acme", ["customer"]);
    bob.credential_id = "key:bob".into();
    let bob_session = b.sessions.login(bob).await.expect("login bob");
    let bob_cookie = bob_session.set_cookie.to_str().expect("ascii").split(';').next().expect("cookie").to_owned();

    // "Log out my other sessions", from the kept one, on A.
    a.send(with_cookie("POST", "/sessions/others", &keep, &keep_csrf)).await.assert_ok(204);

    for instance in [&a, &b] {
        instance.send(with_cookie("GET", "/docs/1", &keep, &keep_csrf)).await.assert_ok(200);
        for (cookie, csrf) in [(&other_a, &other_a_csrf), (&other_b, &other_b_csrf)] {
            instance.send(with_cookie("GET", "/docs/1", cookie, csrf)).await.assert_problem(401, "unauthenticated");
        }
        instance.send(with_cookie("GET", "/docs/2", &bob_cookie, &bob_session.csrf_token)).await.assert_ok(200);
    }

    // And revoke_all without `keep`, on B, ends the kept one too, on A.
    b.sessions.revoke_all("alice", None).await.expect("revoke all");
    a.send(with_cookie("GET", "/docs/1", &keep, &keep_csrf)).await.assert_problem(401, "unauthenticated");
    a.send(with_cookie("GET", "/docs/2", &bob_cookie, &bob_session.csrf_token)).await.assert_ok(200);
}

pub async fn a_key_rotated_on_one_instance_stops_working_on_the_other(server: &impl Backend) {
    let (a, b) = (server.instance(0).await, server.instance(0).await);
    seed(&a.tokens).await;
    b.send(bearer("GET", "/docs/1", SVC)).await.assert_ok(200);

    let new_key = a.tokens.rotate(svc()).await.expect("rotate");

    b.send(bearer("GET", "/docs/1", SVC)).await.assert_problem(401, "unauthenticated");
    a.send(bearer("GET", "/docs/1", SVC)).await.assert_problem(401, "unauthenticated");
    b.send(bearer("GET", "/docs/1", &new_key)).await.assert_ok(200);
    // Other credentials are untouched.
    b.send(bearer("GET", "/docs/1", ALICE)).await.assert_ok(200);

    // Plain revocation on B stops the new key on A.
    b.tokens.revoke("key:svc").await.expect("revoke");
    a.send(bearer("GET", "/docs/1", &new_key)).await.assert_problem(401, "unauthenticated");
    assert_eq!(a.ran() + b.ran(), 3);
}

pub async fn an_idempotency_key_used_on_one_instance_is_replayed_on_the_other(server: &impl Backend) {
    let (a, b) = (server.instance(0).await, server.instance(0).await);
    seed(&a.tokens).await;
    a.send(pay_with(SVC, "order-17")).await.assert_ok(200);
    b.send(pay_with(SVC, "order-17")).await.assert_problem(409, "replayed");
    a.send(pay_with(SVC, "order-17")).await.assert_problem(409, "replayed");
    b.send(pay_with(SVC, "order-18")).await.assert_ok(200);
    assert_eq!((a.ran(), b.ran()), (1, 1));
}

pub async fn concurrent_uses_of_one_key_across_instances_let_exactly_one_through(server: &impl Backend) {
    let (a, b) = (server.instance(0).await, server.instance(0).await);
    seed(&a.tokens).await;
    // Every task waits at the barrier, so the 32 requests are in flight at
    // once, on as many threads as the test's runtime has.
    let start = Arc::new(tokio::sync::Barrier::new(32));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..32 {
        let router = if i % 2 == 0 { a.router.clone() } else { b.router.clone() };
        let start = start.clone();
        tasks.spawn(async move {
            start.wait().await;
            send(&router, pay_with(SVC, "race")).await
        });
    }
    let answers = tasks.join_all().await;
    let ok = answers.iter().filter(|a| a.status == StatusCode::OK).count();
    for answer in answers.iter().filter(|a| a.status != StatusCode::OK) {
        answer.assert_problem(409, "replayed");
    }
    assert_eq!(ok, 1, "exactly one request may use the key");
    assert_eq!(a.ran() + b.ran(), 1, "exactly one body may run");
}

pub async fn denials_on_both_instances_add_up_to_one_threshold(server: &impl Backend) {
    let (a, b) = (server.instance(4).await, server.instance(4).await);
    seed(&a.tokens).await;
    // Alice probes bob's doc twice on each instance: 4 denials in all.
    for instance in [&a, &b, &a, &b] {
        instance.send(bearer("GET", "/docs/2", ALICE)).await.assert_problem(404, "not_found");
    }
    // Each instance alone saw 2 (< 4); together they reach the threshold.
    for instance in [&a, &b] {
        let stopped = instance.send(bearer("GET", "/docs/1", ALICE)).await;
        stopped.assert_problem(429, "probing_suspected");
        let retry: u64 = stopped.headers["retry-after"].to_str().expect("ascii").parse().expect("seconds");
        assert!((1..=60).contains(&retry), "retry-after {retry}");
    }
    // Another principal is not affected.
    b.send(bearer("GET", "/docs/1", SVC)).await.assert_ok(200);
    assert_eq!((a.ran(), b.ran()), (0, 1));
}

/// A burst of wrong passwords from one address, spread over two instances
/// and released together: each attempt is counted in the shared store
/// before the password is checked, so at most the threshold are checked.
pub async fn a_concurrent_burst_checks_at_most_the_threshold(server: &impl Backend) {
    let (a, b) = (Arc::new(server.instance(5).await), Arc::new(server.instance(5).await));
    let start = Arc::new(tokio::sync::Barrier::new(40));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40 {
        let instance = if i % 2 == 0 { a.clone() } else { b.clone() };
        let start = start.clone();
        tasks.spawn(async move {
            start.wait().await;
            instance.send(request("POST", "/password-check").body(Body::empty()).expect("request")).await
        });
    }
    let answers = tasks.join_all().await;
    for answer in answers.iter().filter(|a| a.status != StatusCode::UNAUTHORIZED) {
        answer.assert_problem(429, "probing_suspected");
    }
    assert_eq!(a.ran() + b.ran(), 5, "exactly the threshold of passwords were checked");
}

// ------------------------------------------------------- a hung server

/// A server that stops answering but keeps its connections open (SIGSTOP)
/// is refused with 503 after the stores' timeout, no body runs, and the app
/// recovers by itself once the server goes on.
pub async fn a_hung_server_answers_503_after_its_timeout<B: Backend>(server: &B) {
    let a = server.instance(5).await;
    seed(&a.tokens).await;
    a.send(bearer("GET", "/docs/1", SVC)).await.assert_ok(200);

    server.signal("-STOP");
    let started = Instant::now();
    a.send(bearer("GET", "/docs/1", SVC)).await.assert_problem(503, "unavailable");
    let took = started.elapsed();
    server.signal("-CONT");
    eprintln!("hung {}: 503 after {took:?} (timeout {STORE_TIMEOUT:?})", B::NAME);
    assert_one_timeout(took);
    assert_eq!(a.ran(), 1);

    let took = until_ok(&a, || bearer("GET", "/docs/1", SVC)).await;
    eprintln!("hung {}: recovered {took:?} after SIGCONT", B::NAME);
}

// ------------------------------------ one store, two connections to it

/// Of concurrent claims of one replay key over two connections, exactly one
/// wins; other keys are independent; once `ttl` has passed the key is free
/// again, and of concurrent re-claims of it, again exactly one wins.
pub async fn replay_claims_race_with_exactly_one_winner(one: impl ReplayStore, two: impl ReplayStore, ttl: Duration) {
    let (one, two) = (Arc::new(one), Arc::new(two));
    let claim_all = |n: usize, key: &'static str, claim_ttl: Duration| {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..n {
            let (one, two) = (one.clone(), two.clone());
            tasks.spawn(async move {
                let claimed =
                    if i % 2 == 0 { one.claim(key, claim_ttl).await } else { two.claim(key, claim_ttl).await };
                claimed.expect("claim")
            });
        }
        async move { tasks.join_all().await.into_iter().filter(|&won| won).count() }
    };
    assert_eq!(claim_all(64, "nonce-1", ttl).await, 1, "exactly one claim may win");
    assert!(one.is_claimed("nonce-1").await.expect("peek"));
    assert!(!one.claim("nonce-1", ttl).await.expect("claim"));
    assert!(!two.is_claimed("nonce-2").await.expect("peek"), "keys are independent");
    assert!(two.claim("nonce-2", Duration::from_secs(60)).await.expect("claim"));
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    assert!(!one.is_claimed("nonce-1").await.expect("peek"), "expired key still claimed");

    assert_eq!(claim_all(32, "nonce-1", Duration::from_secs(60)).await, 1, "exactly one re-claim may win");
    assert!(!two.claim("nonce-2", Duration::from_secs(60)).await.expect("claim"), "a live key was claimed twice");
}

/// Concurrent adds over two connections each see their own count; the
/// window is fixed from the first add (later adds do not extend it) and
/// starts anew once it has passed.
pub async fn denial_windows_add_up_atomically_and_expire(
    one: impl DenialStore,
    two: impl DenialStore,
    window: Duration,
) {
    let empty = one.current("p", window).await.expect("current");
    assert_eq!((empty.count, empty.resets_in), (0, window));

    let (one, two) = (Arc::new(one), Arc::new(two));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let (one, two) = (one.clone(), two.clone());
        tasks.spawn(async move {
            let added = if i % 2 == 0 { one.add("p", window).await } else { two.add("p", window).await };
            added.expect("add").count
        });
    }
    let mut counts = tasks.join_all().await;
    counts.sort_unstable();
    assert_eq!(counts, (1..=50).collect::<Vec<u32>>(), "every add sees its own count");
    let now = two.current("p", window).await.expect("current");
    assert_eq!(now.count, 50);
    assert!(now.resets_in <= window && now.resets_in > Duration::ZERO, "{:?}", now.resets_in);
    assert_eq!(one.current("q", window).await.expect("current").count, 0, "keys are independent");

    // The window is fixed: adds do not extend it.
    tokio::time::sleep(window / 2).await;
    let later = one.add("p", window).await.expect("add");
    assert_eq!(later.count, 51);
    assert!(later.resets_in <= window / 2, "window was extended: {:?}", later.resets_in);
    tokio::time::sleep(window / 2 + Duration::from_millis(100)).await;
    assert_eq!(one.current("p", window).await.expect("current").count, 0, "window expired");
    let reopened = two.add("p", window).await.expect("add");
    assert_eq!(reopened.count, 1);
    assert!(reopened.resets_in > window - window / 6, "{:?}", reopened.resets_in);
}

/// Sessions expire; a record whose `expires_at` passed reads as none even
/// while the store still holds it (the caller wrote one, raw, under
/// `stale`); a revoked session never comes back, whether revoked alone or
/// with all of its principal's; a session id is never taken over by another
/// principal. The ids are the hashes of `short`, `long`, `other` and
/// `taken`: what the store keeps of them afterwards (expired rows not yet
/// swept, revocation markers) is the backend's own.
pub async fn sessions_expire_and_revoked_sessions_stay_revoked(sessions: &impl SessionStore, stale: &str) {
    let (short, long) = (hash_secret("short"), hash_secret("long"));
    sessions.save(&short, record(alice(), Duration::from_millis(300))).await.expect("save");
    sessions.save(&long, record(alice(), Duration::from_secs(60))).await.expect("save");
    assert!(sessions.load(&short).await.expect("load").is_some());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(sessions.load(&short).await.expect("load").is_none(), "expired session still loads");
    assert!(sessions.load(&long).await.expect("load").is_some());
    assert!(sessions.load(stale).await.expect("load").is_none(), "a record past its expiry loads");

    // Saving again after a revocation (a re-authentication racing a logout)
    // does not bring the session back, nor does it after revoke_all's.
    let loaded = sessions.load(&long).await.expect("load").expect("live");
    sessions.revoke(&long).await.expect("revoke");
    sessions.save(&long, loaded.clone()).await.expect("save");
    assert!(sessions.load(&long).await.expect("load").is_none(), "a revoked session came back");
    let other = hash_secret("other");
    sessions.save(&other, record(alice(), Duration::from_secs(60))).await.expect("save");
    sessions.revoke_principal("alice", None).await.expect("revoke all");
    sessions.save(&other, loaded).await.expect("save");
    assert!(sessions.load(&other).await.expect("load").is_none(), "a revoked session came back");

    // A session id saved for one principal is never taken over by another.
    let taken = hash_secret("taken");
    sessions.save(&taken, record(alice(), Duration::from_secs(60))).await.expect("save");
    sessions
        .save(&taken, record(Principal::user("mallory", "acme", ["customer"]), Duration::from_secs(60)))
        .await
        .expect("save");
    assert_eq!(sessions.load(&taken).await.expect("load").expect("live").principal.id, "alice");
}

/// A session record of alice's whose `expires_at` passed a second ago, as
/// the JSON a store keeps, for a test to write raw.
pub fn expired_record_json() -> String {
    let expired =
        SessionRecord { expires_at: SystemTime::now() - Duration::from_secs(1), ..record(alice(), Duration::ZERO) };
    serde_json::to_string(&expired).expect("json")
}

// ------------------------------------------- helpers for failure tests

/// The timeout the stores under test are built with: neither guard's
/// default (1 s) nor the Redis client's own (500 ms), so a test that waits
/// for it shows that the configured value is the one applied.
pub const STORE_TIMEOUT: Duration = Duration::from_millis(1500);

/// How long a request may take to be answered at all: a bound that turns a
/// hang into a failure, not a speed check (speed is measured in `bench/`).
/// A stopped (SIGSTOP) server keeps its connections open, so without the
/// store timeout a request would wait forever; sqlx's own pool gives up
/// only after 30 s.
pub const ANSWERS_WITHIN: Duration = Duration::from_secs(10);

/// A request to a hung store was refused after `took`: not before the
/// configured timeout (it is the one that answered, not a lost connection or
/// a library default), and after one timeout, not two store calls timing
/// out in turn.
pub fn assert_one_timeout(took: Duration) {
    assert!(took >= STORE_TIMEOUT - Duration::from_millis(100) && took < 2 * STORE_TIMEOUT, "503 after {took:?}");
}

/// Every kind of request on every instance: 503 `unavailable`, no body ran.
pub async fn assert_all_unavailable(instances: &[&Instance], cookie: &str, csrf: &str) -> Duration {
    let before: Vec<usize> = instances.iter().map(|i| i.ran()).collect();
    let mut slowest = Duration::ZERO;
    for instance in instances {
        for request in [
            bearer("GET", "/docs/1", SVC),
            with_cookie("GET", "/docs/1", cookie, csrf),
            pay_with(SVC, "while-down"),
            with_cookie("POST", "/logout", cookie, csrf),
        ] {
            let started = Instant::now();
            instance.send(request).await.assert_problem(503, "unavailable");
            slowest = slowest.max(started.elapsed());
        }
    }
    let after: Vec<usize> = instances.iter().map(|i| i.ran()).collect();
    assert_eq!(before, after, "a body ran while the store was down");
    slowest
}

/// Polls until `request()` answers 200 on `instance`; returns how long it took.
pub async fn until_ok(instance: &Instance, request: impl Fn() -> Request<Body>) -> Duration {
    let started = Instant::now();
    loop {
        let answer = instance.send(request()).await;
        if answer.status == StatusCode::OK {
            return started.elapsed();
        }
        answer.assert_problem(503, "unavailable");
        assert!(started.elapsed() < Duration::from_secs(10), "no recovery within 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A session record for `principal` that expires in `ttl`.
pub fn record(principal: Principal, ttl: Duration) -> SessionRecord {
    SessionRecord { principal, csrf_token: "csrf".into(), expires_at: SystemTime::now() + ttl }
}

/// Two instances' session stores over one server, and one account source
/// (the user database both read): logins that verified alice's old
/// password race a password change made on the other instance. Every
/// session they store, before or after the change's revocation, is dead on
/// both instances once the change is done; a role change reaches the
/// sessions that live on. Run on a multi-threaded runtime: the logins and
/// the change are released together by a barrier.
pub async fn a_password_change_ends_racing_logins_everywhere_and_roles_apply_at_once(
    one: impl SessionStore,
    two: impl SessionStore,
) {
    use guard_runtime::authn::{Account, Authentication, Authenticator, MemoryAccounts, NewSession};

    let alice_now = |roles: &[&str], credential_version| Account {
        tenant: "acme".into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        credential_version,
    };
    let accounts = MemoryAccounts::new();
    accounts.set("alice", alice_now(&["customer"], 1)).expect("set");
    let a = Sessions::new(one).accounts(accounts.clone());
    let b = Sessions::new(two).accounts(accounts.clone());
    let roles = |sessions: Sessions, new: &NewSession| {
        let cookie = new.set_cookie.to_str().expect("ascii").split(';').next().expect("cookie").to_owned();
        async move {
            let parts = Request::get("/").header("cookie", cookie).body(()).expect("request").into_parts().0;
            match sessions.authenticate(&parts).await.expect("store") {
                Authentication::Authenticated(found) => Some(found.principal.roles.clone()),
                _ => None,
            }
        }
    };
    // Connections made now, so that the race below is one of requests,
    // not of connection setups.
    for sessions in [&a, &b] {
        sessions.revoke_all("nobody", None).await.expect("warm up");
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(11));
    let logins = (0..10u64)
        .map(|i| {
            let (sessions, barrier) = (if i % 2 == 0 { a.clone() } else { b.clone() }, barrier.clone());
            tokio::spawn(async move {
                // The version read with the old hash this login verified.
                let mut principal = alice();
                principal.credential_version = 1;
                barrier.wait().await;
                tokio::time::sleep(Duration::from_millis(2 * i)).await;
                sessions.login(principal).await.expect("login")
            })
        })
        .collect::<Vec<_>>();
    barrier.wait().await;
    tokio::time::sleep(Duration::from_millis(9)).await;
    accounts.set("alice", alice_now(&["customer"], 2)).expect("set");
    b.revoke_all("alice", None).await.expect("revoke all");
    for login in logins {
        let session = login.await.expect("join");
        for instance in [&a, &b] {
            assert_eq!(roles(instance.clone(), &session).await, None, "a session of the old password lives");
        }
    }
    let mut principal = alice();
    principal.credential_version = 2;
    let fresh = a.login(principal).await.expect("login");
    assert_eq!(roles(b.clone(), &fresh).await, Some(vec!["customer".to_owned()]));
    accounts.set("alice", alice_now(&["support"], 2)).expect("set");
    assert_eq!(roles(b.clone(), &fresh).await, Some(vec!["support".to_owned()]));
    accounts.remove("alice").expect("disable");
    assert_eq!(roles(a.clone(), &fresh).await, None);
}
