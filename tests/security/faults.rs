//! Step 10: a store, resolver or audit sink that fails denies with 503, and
//! the body never runs.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use guard_runtime::authn::{SessionRecord, SessionStore, TokenRecord, TokenStore};
use guard_runtime::store::{DenialStore, DenialWindow, ReplayStore};
use guard_runtime::{AuditSink, DecisionRecord, ObjectMeta, Resolver, StoreError, StoreFuture};

use crate::app::*;

struct Broken;

fn failure() -> StoreError {
    StoreError::new("test store", "injected failure")
}

fn fail<'a, T>() -> StoreFuture<'a, Result<T, StoreError>> {
    StoreFuture::ready(Err(failure()))
}

impl SessionStore for Broken {
    fn load<'a>(&'a self, _: &'a str) -> StoreFuture<'a, Result<Option<SessionRecord>, StoreError>> {
        fail()
    }
    fn save<'a>(&'a self, _: &'a str, _: SessionRecord) -> StoreFuture<'a, Result<(), StoreError>> {
        fail()
    }
    fn revoke<'a>(&'a self, _: &'a str) -> StoreFuture<'a, Result<(), StoreError>> {
        fail()
    }
    fn revoke_principal<'a>(&'a self, _: &'a str, _: Option<&'a str>) -> StoreFuture<'a, Result<(), StoreError>> {
        fail()
    }
}

impl TokenStore for Broken {
    fn find<'a>(&'a self, _: &'a str) -> StoreFuture<'a, Result<Option<TokenRecord>, StoreError>> {
        fail()
    }
    fn insert(&self, _: TokenRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        fail()
    }
    fn revoke<'a>(&'a self, _: &'a str) -> StoreFuture<'a, Result<(), StoreError>> {
        fail()
    }
}

impl ReplayStore for Broken {
    fn is_claimed<'a>(&'a self, _: &'a str) -> StoreFuture<'a, Result<bool, StoreError>> {
        fail()
    }

    fn claim<'a>(&'a self, _: &'a str, _: Duration) -> StoreFuture<'a, Result<bool, StoreError>> {
        fail()
    }
}

impl DenialStore for Broken {
    fn current<'a>(&'a self, _: &'a str, _: Duration) -> StoreFuture<'a, Result<DenialWindow, StoreError>> {
        fail()
    }
    fn add<'a>(&'a self, _: &'a str, _: Duration) -> StoreFuture<'a, Result<DenialWindow, StoreError>> {
        fail()
    }
    fn release<'a>(&'a self, _: &'a str, _: Duration) -> StoreFuture<'a, Result<(), StoreError>> {
        fail()
    }
}

impl Resolver for Broken {
    fn resolve<'a>(&'a self, _: &'a str) -> StoreFuture<'a, Result<Option<ObjectMeta>, StoreError>> {
        fail()
    }
}

impl AuditSink for Broken {
    fn write<'a>(&'a self, _: &'a [DecisionRecord]) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::ready(Err(failure()))
    }
}

async fn assert_unavailable(app: &TestApp, request: axum::http::Request<Body>) {
    app.send(request).await.assert_problem(503, "unavailable");
    assert_eq!(app.ran.count(), 0, "the body ran although a store failed");
}

fn read_doc() -> axum::http::Request<Body> {
    bearer("GET", "/docs/1", ALICE).body(Body::empty()).expect("request")
}

#[tokio::test]
async fn a_failing_token_store_is_503_not_401() {
    let app = app_with(Config { tokens: Arc::new(Broken), ..Config::default() }).await;
    assert_unavailable(&app, read_doc()).await;
}

#[tokio::test]
async fn a_failing_session_store_is_503() {
    let app = app_with(Config { sessions: Box::new(|| Arc::new(Broken)), ..Config::default() }).await;
    let cookie = format!("guard_session={}", "a".repeat(64));
    assert_unavailable(&app, request("GET", "/docs/1").header("cookie", cookie).body(Body::empty()).expect("request"))
        .await;
}

#[tokio::test]
async fn a_failing_resolver_is_503() {
    let app = app_with(Config { resolver: Arc::new(Broken), ..Config::default() }).await;
    assert_unavailable(&app, read_doc()).await;
}

#[tokio::test]
async fn a_failing_replay_store_is_503() {
    let app = app_with(Config { replay: Arc::new(Broken), ..Config::default() }).await;
    let request = bearer("POST", "/pay/1", SVC).header("idempotency-key", "k").body(Body::empty()).expect("request");
    assert_unavailable(&app, request).await;
}

#[tokio::test]
async fn a_failing_denial_store_is_503() {
    let app = app_with(Config { denials: Arc::new(Broken), probe_threshold: 5, ..Config::default() }).await;
    assert_unavailable(&app, read_doc()).await;
}

#[tokio::test]
async fn a_failing_audit_sink_stops_the_guard() {
    let app = app_with(Config { sink: Some(Arc::new(Broken)), ..Config::default() }).await;
    // The first decision (a deny) is queued; the writer finds the sink
    // broken, keeps the record for a retry, and from then on every request
    // is refused until the sink recovers.
    app.send(bearer("GET", "/docs/999", ALICE).body(Body::empty()).expect("request"))
        .await
        .assert_problem(404, "not_found");
    tokio::time::sleep(Duration::from_millis(50)).await;
    for _ in 0..3 {
        assert_unavailable(&app, read_doc()).await;
    }
}

/// The audit writer is gone (its runtime ended) while the replay store
/// works: the request is refused with 503, and its key is still unused, so
/// the client's retry on a healthy instance goes through. A 503 never burns
/// a key.
#[test]
fn a_refusal_from_the_audit_queue_never_burns_a_replay_key() {
    let replay = guard_runtime::store::MemoryReplayStore::new();
    let config = || Config { replay: Arc::new(replay.clone()), ..Config::default() };
    let first = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let app = first.block_on(async {
        let app = app_with(config()).await;
        // The first record (a refusal: no body runs) starts the audit
        // writer on this runtime.
        app.send(bearer("GET", "/docs/999", ALICE).body(Body::empty()).expect("request")).await;
        app
    });
    drop(first);
    let second = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    second.block_on(async {
        let pay = || bearer("POST", "/pay/1", SVC).header("idempotency-key", "k-1").body(Body::empty());
        assert_unavailable(&app, pay().expect("request")).await;
        let healthy = app_with(config()).await;
        let retried = healthy.send(pay().expect("request")).await;
        assert_eq!(retried.status, 200, "the key was burned by a 503: {}", retried.text);
        assert_eq!(healthy.ran.count(), 1);
    });
}
