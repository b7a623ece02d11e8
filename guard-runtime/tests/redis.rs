//! The Redis stores against a real `redis-server`: two app instances share
//! sessions, keys, replay keys and denial counters; a dead or hung Redis
//! answers 503 `unavailable` without running any body, and recovery needs
//! no restart of the app.
//!
//! Every test starts its own `redis-server` on a free loopback port (and
//! kills it on drop). Run with
//! `cargo test -p guard-runtime --features redis --test redis`; needs
//! `redis-server` on `PATH` (`apt-get install -y redis-server`).
#![cfg(feature = "redis")]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use guard_runtime::authn::{hash_secret, SessionRecord, SessionStore, Sessions, TokenStore, Tokens};
use guard_runtime::store::redis::{RedisStores, RedisStoresBuilder};
use guard_runtime::store::{DenialStore, ReplayStore};
use guard_runtime::{
    action, resolve, ActionError, Actions, Authorized, Code, ObjectMeta, Principal, Resolvers, RolePolicy,
};
use tower::ServiceExt;

// ---------------------------------------------------------------- server

/// A `redis-server` child on a loopback port, killed on drop.
struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0").expect("bind a free port").local_addr().expect("addr").port();
        let mut server = RedisServer { port, child: None };
        server.spawn();
        server
    }

    /// A free port with no server on it yet (for [`RedisServer::spawn`] later).
    fn not_started() -> Self {
        let port = TcpListener::bind("127.0.0.1:0").expect("bind a free port").local_addr().expect("addr").port();
        RedisServer { port, child: None }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Starts the server on this port and waits until it answers PING.
    fn spawn(&mut self) {
        assert!(self.child.is_none(), "already running");
        let spawned = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "`redis-server` is not on PATH: these tests need a real Redis. \
                 Install it (Debian/Ubuntu: `apt-get install -y redis-server`) and run again."
            ),
            Err(e) => panic!("could not start redis-server: {e}"),
        };
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ping(self.port) {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("redis-server on port {} exited at once: {status}", self.port);
            }
            assert!(Instant::now() < deadline, "redis-server on port {} did not answer PING in 10 s", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let status = Command::new("kill").args([signal, &pid]).status().expect("run kill");
        assert!(status.success(), "kill {signal} {pid}");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), Duration::from_secs(1))
    else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut buf = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok() && stream.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

/// A raw connection for poking at what the stores wrote.
async fn raw(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url()).expect("url").get_multiplexed_async_connection().await.expect("raw connection")
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

const SVC: &str = "svc-key-0123456789";
const ALICE: &str = "alice-key-0123456789";

fn svc() -> Principal {
    let mut p = Principal::service("svc", "acme", ["pay:capture", "docs:read"]);
    p.credential_id = "key:svc".into();
    p
}

fn alice() -> Principal {
    let mut p = Principal::user("alice", "acme", ["customer"]);
    p.credential_id = "key:alice".into();
    p
}

/// One app instance: its own connection to the shared Redis.
struct Instance {
    router: Router,
    ran: Arc<AtomicUsize>,
    sessions: Sessions,
    tokens: Tokens,
}

impl Instance {
    async fn connect(server: &RedisServer, probe_threshold: u32) -> Self {
        let stores = builder(server).connect().await.expect("connect to redis");
        Instance::over(&stores, probe_threshold)
    }

    fn over(stores: &RedisStores, probe_threshold: u32) -> Self {
        let sessions = Sessions::new(stores.sessions());
        let tokens = Tokens::new(stores.tokens());
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
        .replay_store(stores.replay())
        .denial_store(stores.denials())
        .probing(probe_threshold, Duration::from_secs(60))
        .mount(read_doc)
        .mount(logout)
        .mount(revoke_others)
        .mount(pay)
        .into_router(AppState { ran: ran.clone(), sessions: sessions.clone() });
        Instance { router, ran, sessions, tokens }
    }

    fn ran(&self) -> usize {
        self.ran.load(Ordering::SeqCst)
    }

    async fn send(&self, request: Request<Body>) -> Answer {
        send(&self.router, request).await
    }

    /// Logs alice in on this instance: (cookie header, CSRF token).
    async fn login(&self) -> (String, String) {
        let new = self.sessions.login(alice()).await.expect("login");
        let cookie = new.set_cookie.to_str().expect("ascii").split(';').next().expect("cookie").to_owned();
        (cookie, new.csrf_token)
    }
}

fn builder(server: &RedisServer) -> RedisStoresBuilder {
    RedisStores::builder(server.url()).timeout(Duration::from_millis(500))
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    /// Asserts a refusal: status, `application/problem+json`, `code`.
    #[track_caller]
    fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "status; body: {}", self.text);
        assert_eq!(self.headers["content-type"], "application/problem+json", "content type; body: {}", self.text);
        let json: serde_json::Value = serde_json::from_str(&self.text).expect("problem body is JSON");
        assert_eq!(json["code"], code, "code; body: {}", self.text);
        assert_eq!(json["status"], status, "status member");
    }

    #[track_caller]
    fn assert_ok(&self, status: u16) {
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

fn bearer(method: &str, uri: &str, key: &str) -> Request<Body> {
    request(method, uri).header("authorization", format!("Bearer {key}")).body(Body::empty()).expect("request")
}

fn with_cookie(method: &str, uri: &str, cookie: &str, csrf: &str) -> Request<Body> {
    request(method, uri).header("cookie", cookie).header("x-csrf-token", csrf).body(Body::empty()).expect("request")
}

fn pay_with(key: &str, idempotency_key: &str) -> Request<Body> {
    request("POST", "/pay")
        .header("authorization", format!("Bearer {key}"))
        .header("idempotency-key", idempotency_key)
        .body(Body::empty())
        .expect("request")
}

async fn seed(tokens: &Tokens) {
    tokens.issue(SVC, svc()).await.expect("issue svc key");
    tokens.issue(ALICE, alice()).await.expect("issue alice key");
}

// ------------------------------------------------- two instances, one Redis

#[tokio::test]
async fn logout_on_one_instance_ends_the_session_on_the_other() {
    let server = RedisServer::start();
    let (a, b) = (Instance::connect(&server, 0).await, Instance::connect(&server, 0).await);
    let (cookie, csrf) = a.login().await;
    b.send(with_cookie("GET", "/docs/1", &cookie, &csrf)).await.assert_ok(200);

    a.send(with_cookie("POST", "/logout", &cookie, &csrf)).await.assert_ok(204);

    b.send(with_cookie("GET", "/docs/1", &cookie, &csrf)).await.assert_problem(401, "unauthenticated");
    a.send(with_cookie("GET", "/docs/1", &cookie, &csrf)).await.assert_problem(401, "unauthenticated");
    assert_eq!((a.ran(), b.ran()), (1, 1));
}

#[tokio::test]
async fn revoke_all_on_one_instance_keeps_only_the_kept_session_everywhere() {
    let server = RedisServer::start();
    let (a, b) = (Instance::connect(&server, 0).await, Instance::connect(&server, 0).await);
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

#[tokio::test]
async fn a_key_rotated_on_one_instance_stops_working_on_the_other() {
    let server = RedisServer::start();
    let (a, b) = (Instance::connect(&server, 0).await, Instance::connect(&server, 0).await);
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

#[tokio::test]
async fn an_idempotency_key_used_on_one_instance_is_replayed_on_the_other() {
    let server = RedisServer::start();
    let (a, b) = (Instance::connect(&server, 0).await, Instance::connect(&server, 0).await);
    seed(&a.tokens).await;
    a.send(pay_with(SVC, "order-17")).await.assert_ok(200);
    b.send(pay_with(SVC, "order-17")).await.assert_problem(409, "replayed");
    a.send(pay_with(SVC, "order-17")).await.assert_problem(409, "replayed");
    b.send(pay_with(SVC, "order-18")).await.assert_ok(200);
    assert_eq!((a.ran(), b.ran()), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_uses_of_one_key_across_instances_let_exactly_one_through() {
    let server = RedisServer::start();
    let (a, b) = (Instance::connect(&server, 0).await, Instance::connect(&server, 0).await);
    seed(&a.tokens).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..32 {
        let router = if i % 2 == 0 { a.router.clone() } else { b.router.clone() };
        tasks.spawn(async move { send(&router, pay_with(SVC, "race")).await });
    }
    let answers = tasks.join_all().await;
    let ok = answers.iter().filter(|a| a.status == StatusCode::OK).count();
    for answer in answers.iter().filter(|a| a.status != StatusCode::OK) {
        answer.assert_problem(409, "replayed");
    }
    assert_eq!(ok, 1, "exactly one request may use the key");
    assert_eq!(a.ran() + b.ran(), 1, "exactly one body may run");
}

#[tokio::test]
async fn denials_on_both_instances_add_up_to_one_threshold() {
    let server = RedisServer::start();
    let (a, b) = (Instance::connect(&server, 4).await, Instance::connect(&server, 4).await);
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

// ------------------------------------------------------- Redis failures

/// Every kind of request on every instance: 503 `unavailable`, no body, fast.
async fn assert_all_unavailable(instances: &[&Instance], cookie: &str, csrf: &str, limit: Duration) -> Duration {
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
    assert!(slowest < limit, "a 503 took {slowest:?} (limit {limit:?})");
    slowest
}

/// Polls until `request()` answers 200 on `instance`; returns how long it took.
async fn until_ok(instance: &Instance, request: impl Fn() -> Request<Body>) -> Duration {
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

#[tokio::test]
async fn a_dead_store_is_503_and_recovery_needs_no_restart() {
    let mut server = RedisServer::start();
    let (a, b) = (Instance::connect(&server, 5).await, Instance::connect(&server, 5).await);
    seed(&a.tokens).await;
    let (cookie, csrf) = a.login().await;
    b.send(bearer("GET", "/docs/1", SVC)).await.assert_ok(200);
    b.send(with_cookie("GET", "/docs/1", &cookie, &csrf)).await.assert_ok(200);
    let ran = a.ran() + b.ran();

    server.kill();
    let slowest = assert_all_unavailable(&[&a, &b], &cookie, &csrf, Duration::from_secs(2)).await;
    eprintln!("dead redis: slowest 503 took {slowest:?}");
    // Again, once the first failures have started reconnection attempts.
    assert_all_unavailable(&[&a, &b], &cookie, &csrf, Duration::from_secs(2)).await;
    assert_eq!(a.ran() + b.ran(), ran);

    // A fresh server on the same port (empty: nothing was persisted).
    server.spawn();
    let fresh = RedisStores::connect(&server.url()).await.expect("connect to the new server");
    seed(&Tokens::new(fresh.tokens())).await;
    for instance in [&a, &b] {
        let took = until_ok(instance, || bearer("GET", "/docs/1", SVC)).await;
        eprintln!("recovered in {took:?}");
        for _ in 0..5 {
            instance.send(bearer("GET", "/docs/1", SVC)).await.assert_ok(200);
        }
        let (cookie, csrf) = instance.login().await;
        instance.send(with_cookie("GET", "/docs/1", &cookie, &csrf)).await.assert_ok(200);
    }
    a.send(pay_with(SVC, "after-restart")).await.assert_ok(200);
    b.send(pay_with(SVC, "after-restart")).await.assert_problem(409, "replayed");
    assert_eq!(a.ran() + b.ran(), ran + 2 * (1 + 5 + 1) + 1);
}

#[tokio::test]
async fn a_hung_store_answers_503_within_the_timeout() {
    let server = RedisServer::start();
    let a = Instance::connect(&server, 5).await;
    seed(&a.tokens).await;
    a.send(bearer("GET", "/docs/1", SVC)).await.assert_ok(200);

    server.signal("-STOP");
    let started = Instant::now();
    a.send(bearer("GET", "/docs/1", SVC)).await.assert_problem(503, "unavailable");
    let took = started.elapsed();
    server.signal("-CONT");
    eprintln!("hung redis: 503 after {took:?} (timeout 500 ms)");
    assert!(took >= Duration::from_millis(400) && took < Duration::from_millis(1500), "503 after {took:?}");
    assert_eq!(a.ran(), 1);

    let took = until_ok(&a, || bearer("GET", "/docs/1", SVC)).await;
    eprintln!("hung redis: recovered {took:?} after SIGCONT");
}

#[tokio::test]
async fn an_app_started_before_redis_serves_once_redis_is_up() {
    let mut server = RedisServer::not_started();
    let stores = builder(&server).connect_lazy().expect("lazy stores");
    let a = Instance::over(&stores, 0);
    let started = Instant::now();
    a.send(bearer("GET", "/docs/1", SVC)).await.assert_problem(503, "unavailable");
    assert!(started.elapsed() < Duration::from_secs(1), "503 took {:?}", started.elapsed());
    assert!(RedisStores::connect(&server.url()).await.is_err(), "eager connect must fail while Redis is down");

    server.spawn();
    seed(&Tokens::new(RedisStores::connect(&server.url()).await.expect("connect").tokens())).await;
    until_ok(&a, || bearer("GET", "/docs/1", SVC)).await;
    assert_eq!(a.ran(), 1);
}

// ------------------------------------------------------------ unit level

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replay_claims_race_with_exactly_one_winner() {
    let server = RedisServer::start();
    let (one, two) = (
        RedisStores::connect(&server.url()).await.expect("connect"),
        builder(&server).connect().await.expect("connect"),
    );
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..64 {
        let store = if i % 2 == 0 { one.replay() } else { two.replay() };
        tasks.spawn(async move { store.claim("nonce-1", Duration::from_millis(300)).await.expect("claim") });
    }
    let won = tasks.join_all().await.into_iter().filter(|&won| won).count();
    assert_eq!(won, 1);
    assert!(!one.replay().claim("nonce-1", Duration::from_millis(300)).await.expect("claim"));
    // Other keys are independent; the key is free again once its ttl passed.
    assert!(two.replay().claim("nonce-2", Duration::from_secs(60)).await.expect("claim"));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(two.replay().claim("nonce-1", Duration::from_secs(60)).await.expect("claim"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn denial_windows_add_up_atomically_and_expire() {
    let server = RedisServer::start();
    let (one, two) = (
        RedisStores::connect(&server.url()).await.expect("connect"),
        RedisStores::connect(&server.url()).await.expect("connect"),
    );
    let window = Duration::from_millis(600);
    let empty = one.denials().current("p", window).await.expect("current");
    assert_eq!((empty.count, empty.resets_in), (0, window));

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let store = if i % 2 == 0 { one.denials() } else { two.denials() };
        tasks.spawn(async move { store.add("p", window).await.expect("add").count });
    }
    let mut counts = tasks.join_all().await;
    counts.sort_unstable();
    assert_eq!(counts, (1..=50).collect::<Vec<u32>>(), "every add sees its own count");
    let now = two.denials().current("p", window).await.expect("current");
    assert_eq!(now.count, 50);
    assert!(now.resets_in <= window && now.resets_in > Duration::ZERO, "{:?}", now.resets_in);
    assert_eq!(one.denials().current("q", window).await.expect("current").count, 0, "keys are independent");

    // The window is fixed: adds do not extend it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let later = one.denials().add("p", window).await.expect("add");
    assert_eq!(later.count, 51);
    assert!(later.resets_in <= Duration::from_millis(300), "window was extended: {:?}", later.resets_in);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(one.denials().current("p", window).await.expect("current").count, 0, "window expired");
    let reopened = two.denials().add("p", window).await.expect("add");
    assert_eq!(reopened.count, 1);
    assert!(reopened.resets_in > Duration::from_millis(500));
}

fn record(principal: Principal, ttl: Duration) -> SessionRecord {
    SessionRecord { principal, csrf_token: "csrf".into(), expires_at: SystemTime::now() + ttl }
}

#[tokio::test]
async fn sessions_expire_and_revoked_sessions_stay_revoked() {
    let server = RedisServer::start();
    let stores = RedisStores::connect(&server.url()).await.expect("connect");
    let sessions = stores.sessions();
    let (short, long) = (hash_secret("short"), hash_secret("long"));
    sessions.save(&short, record(alice(), Duration::from_millis(300))).await.expect("save");
    sessions.save(&long, record(alice(), Duration::from_secs(60))).await.expect("save");
    assert!(sessions.load(&short).await.expect("load").is_some());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(sessions.load(&short).await.expect("load").is_none(), "expired session still loads");
    assert!(sessions.load(&long).await.expect("load").is_some());

    // A record whose `expires_at` passed reads as None even if Redis still has it.
    let stale = hash_secret("stale");
    let mut conn = raw(&server).await;
    let json = serde_json::to_string(&SessionRecord {
        expires_at: SystemTime::now() - Duration::from_secs(1),
        ..record(alice(), Duration::ZERO)
    })
    .expect("json");
    let _: () =
        redis::cmd("SET").arg(format!("guard:session:{stale}")).arg(json).query_async(&mut conn).await.expect("set");
    assert!(sessions.load(&stale).await.expect("load").is_none());

    // Saving again after a revocation (a re-authentication racing a logout)
    // does not bring the session back.
    let loaded = sessions.load(&long).await.expect("load").expect("live");
    sessions.revoke(&long).await.expect("revoke");
    sessions.save(&long, loaded).await.expect("save");
    assert!(sessions.load(&long).await.expect("load").is_none(), "a revoked session came back");

    // A session id saved for one principal is never taken over by another.
    let taken = hash_secret("taken");
    sessions.save(&taken, record(alice(), Duration::from_secs(60))).await.expect("save");
    sessions
        .save(&taken, record(Principal::user("mallory", "acme", ["customer"]), Duration::from_secs(60)))
        .await
        .expect("save");
    assert_eq!(sessions.load(&taken).await.expect("load").expect("live").principal.id, "alice");
}

#[tokio::test]
async fn garbage_in_redis_is_an_error_never_missing() {
    let server = RedisServer::start();
    let stores = RedisStores::connect(&server.url()).await.expect("connect");
    let a = Instance::over(&stores, 5);
    let mut conn = raw(&server).await;
    let set = |key: String, value: &'static str| {
        let mut conn = conn.clone();
        async move {
            let _: () = redis::cmd("SET").arg(key).arg(value).query_async(&mut conn).await.expect("set");
        }
    };
    let session = "ab".repeat(32);
    set(format!("guard:session:{}", hash_secret(&session)), "{not json").await;
    set(format!("guard:token:{}", hash_secret(SVC)), "[1,2,3]").await;
    set("guard:denials:k".into(), "many").await;

    assert!(stores.sessions().load(&hash_secret(&session)).await.is_err());
    assert!(stores.tokens().find(&hash_secret(SVC)).await.is_err());
    assert!(stores.denials().current("k", Duration::from_secs(60)).await.is_err());
    assert!(stores.denials().add("k", Duration::from_secs(60)).await.is_err());
    assert!(stores.sessions().save(&hash_secret(&session), record(alice(), Duration::from_secs(60))).await.is_err());

    a.send(bearer("GET", "/docs/1", SVC)).await.assert_problem(503, "unavailable");
    a.send(with_cookie("GET", "/docs/1", &format!("guard_session={session}"), "x"))
        .await
        .assert_problem(503, "unavailable");
    assert_eq!(a.ran(), 0);

    // Garbage under a denial counter of a real principal: 503, not "no denials".
    a.tokens.issue(ALICE, alice()).await.expect("issue");
    set("guard:denials:principal:acme/alice".into(), "x").await;
    a.send(bearer("GET", "/docs/1", ALICE)).await.assert_problem(503, "unavailable");
    assert_eq!(a.ran(), 0);
    let _: () = redis::cmd("DEL").arg("guard:denials:principal:acme/alice").query_async(&mut conn).await.expect("del");
    a.send(bearer("GET", "/docs/1", ALICE)).await.assert_ok(200);
}

#[tokio::test]
async fn the_prefix_separates_apps_sharing_one_redis() {
    let server = RedisServer::start();
    let shop = RedisStores::builder(server.url()).prefix("shop:").connect().await.expect("connect");
    let blog = RedisStores::builder(server.url()).prefix("blog:").connect().await.expect("connect");
    assert_eq!(shop.prefix(), "shop:");
    let hash = hash_secret("s");
    shop.sessions().save(&hash, record(alice(), Duration::from_secs(60))).await.expect("save");
    assert!(shop.sessions().load(&hash).await.expect("load").is_some());
    assert!(blog.sessions().load(&hash).await.expect("load").is_none());
    assert!(shop.replay().claim("k", Duration::from_secs(60)).await.expect("claim"));
    assert!(blog.replay().claim("k", Duration::from_secs(60)).await.expect("claim"));
    let mut conn = raw(&server).await;
    let keys: Vec<String> = redis::cmd("KEYS").arg("shop:*").query_async(&mut conn).await.expect("keys");
    assert!(keys.contains(&format!("shop:session:{hash}")), "{keys:?}");
}
