//! The guard's cost per request, against a bare axum handler measured in the
//! same run (only ratios within one run mean anything on a shared machine).
//!
//! `cargo bench -p guard-runtime --bench pipeline`
//!
//! Every request goes through the router with `tower::ServiceExt::oneshot`,
//! so `guarded - bare` is what the guard adds: authentication, permission
//! (wildcard and agent intersection), owner resolution and the audit record.
//! Both sides get the same request (the bare handler ignores the
//! `Authorization` header) and run the same body, which reads the path.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::Path;
use axum::http::{Method, Request};
use axum::routing::get;
use axum::Router;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use guard_runtime::authn::{
    hash_secret, MemorySessionStore, MemoryTokenStore, SessionRecord, SessionStore, Sessions, Tokens,
};
use guard_runtime::{
    action, Actions, AuditSink, Authorized, DecisionRecord, Delegation, ObjectMeta, Principal, Resolver, Resolvers,
    RolePolicy, StoreError, StoreFuture,
};
use tower::ServiceExt;

/// Discards records: isolates the pipeline from the sink's I/O.
struct NullSink;

impl AuditSink for NullSink {
    fn write<'a>(&'a self, batch: &'a [DecisionRecord]) -> StoreFuture<'a, Result<(), StoreError>> {
        black_box(batch);
        StoreFuture::ready(Ok(()))
    }
}

/// A resolver over a prebuilt map (foldhash, as a fast in-process map
/// would be): an in-process hit.
struct MapResolver(HashMap<String, ObjectMeta, foldhash::fast::RandomState>);

impl Resolver for MapResolver {
    fn resolve<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Result<Option<ObjectMeta>, StoreError>> {
        StoreFuture::ready(Ok(self.0.get(key).cloned()))
    }
}

#[action(requires = "orders:read", owner = "id")]
async fn read_order(_auth: Authorized, Path(id): Path<String>) -> String {
    id
}

#[action(requires = "orders:write", owner = "id")]
async fn touch_order(_auth: Authorized, Path(id): Path<String>) -> String {
    id
}

async fn bare(Path(id): Path<String>) -> String {
    id
}

const AGENT_TOKEN: &str = "agent-token";
const SESSION_ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A guarded app with `live` extra keys and sessions and `actions` routes.
async fn guarded(live: usize, actions: usize) -> Router {
    let tokens = Tokens::new(MemoryTokenStore::new());
    let session_store = MemorySessionStore::new();
    let agent = Principal::agent(
        "assistant",
        "acme",
        ["orders:*"],
        Delegation { user: "alice".into(), roles: vec!["customer".into()] },
    );
    tokens.issue(AGENT_TOKEN, agent).await.expect("seed");
    for i in 0..live {
        tokens
            .issue(&format!("key-{i}"), Principal::service(format!("svc-{i}"), "acme", ["orders:read"]))
            .await
            .expect("seed");
        let record = SessionRecord {
            principal: Principal::user(format!("user-{i}"), "acme", ["customer"]),
            csrf_token: "t".into(),
            expires_at: SystemTime::now() + Duration::from_secs(3600),
        };
        session_store.save(&hash_secret(&format!("session-{i}")), record).await.expect("seed");
    }
    let alice = SessionRecord {
        principal: Principal::user("alice", "acme", ["customer"]),
        csrf_token: "csrf".into(),
        expires_at: SystemTime::now() + Duration::from_secs(3600),
    };
    session_store.save(&hash_secret(SESSION_ID), alice).await.expect("seed");
    let sessions = Sessions::new(session_store);
    let orders = MapResolver([("1".to_owned(), ObjectMeta::owned("acme", "alice"))].into_iter().collect());
    let policy = RolePolicy::new().role("customer", ["orders:read", "orders:write"]);
    let mut app = Actions::new(policy, (tokens, sessions), Resolvers::new().with("orders", orders))
        .audit(NullSink, 4096)
        .mount_at(Method::GET, "/orders/{id}", read_order)
        .mount_at(Method::POST, "/orders/{id}", touch_order);
    for i in 1..actions {
        app = app.mount_at(Method::GET, &format!("/extra{i}/{{id}}"), read_order);
    }
    app.into_router(())
}

fn get_as_agent() -> Request<Body> {
    Request::get("/orders/1")
        .header("authorization", format!("Bearer {AGENT_TOKEN}"))
        .body(Body::empty())
        .expect("request")
}

fn post_with_session() -> Request<Body> {
    Request::post("/orders/1")
        .header("cookie", format!("guard_session={SESSION_ID}"))
        .header("x-csrf-token", "csrf")
        .header("host", "app.test")
        .header("origin", "http://app.test")
        .body(Body::empty())
        .expect("request")
}

async fn call(router: &Router, request: Request<Body>) {
    let response = router.clone().oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), 200);
    black_box(response);
}

fn pipeline(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let bare_router = Router::new().route("/orders/{id}", get(bare));
    let app = rt.block_on(guarded(10, 1));

    let mut group = c.benchmark_group("request");
    group.bench_function("bare axum", |b| b.to_async(&rt).iter(|| call(&bare_router, get_as_agent())));
    group.bench_function("guarded: agent bearer, wildcard + intersection, owner, audit", |b| {
        b.to_async(&rt).iter(|| call(&app, get_as_agent()))
    });
    group.bench_function("guarded: session cookie + CSRF, owner, audit", |b| {
        b.to_async(&rt).iter(|| call(&app, post_with_session()))
    });
    group.finish();

    let mut group = c.benchmark_group("live credentials");
    for live in [10, 10_000, 1_000_000] {
        let app = rt.block_on(guarded(live, 1));
        group.bench_with_input(BenchmarkId::from_parameter(live), &app, |b, app| {
            b.to_async(&rt).iter(|| call(app, get_as_agent()))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("mounted actions");
    for actions in [1, 100, 1_000] {
        let app = rt.block_on(guarded(10, actions));
        group.bench_with_input(BenchmarkId::from_parameter(actions), &app, |b, app| {
            b.to_async(&rt).iter(|| call(app, get_as_agent()))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = pipeline
}
criterion_main!(benches);
