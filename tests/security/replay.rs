//! Steps 5 and 10: the replay header must be present and well-formed (400),
//! is claimed only once every other check passed, and only once (409).

use axum::body::Body;
use std::sync::Arc;

use crate::app::*;

fn pay(doc: &str, token: &str) -> axum::http::request::Builder {
    bearer("POST", &format!("/pay/{doc}"), token)
}

#[tokio::test]
async fn missing_or_malformed_key_is_400() {
    let app = app().await;
    let long = "k".repeat(256);
    let cases = [
        pay("1", SVC),
        pay("1", SVC).header("idempotency-key", ""),
        pay("1", SVC).header("idempotency-key", "has space"),
        pay("1", SVC).header("idempotency-key", long.as_str()),
        pay("1", SVC).header("idempotency-key", "a").header("idempotency-key", "b"),
    ];
    for builder in cases {
        app.send(builder.body(Body::empty()).expect("request")).await.assert_problem(400, "bad_request");
    }
    assert_eq!(app.ran.count(), 0);
}

#[tokio::test]
async fn second_use_is_409() {
    let app = app().await;
    let first = app.send(pay("1", SVC).header("idempotency-key", "k-1").body(Body::empty()).expect("request")).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let second = app.send(pay("1", SVC).header("idempotency-key", "k-1").body(Body::empty()).expect("request")).await;
    second.assert_problem(409, "replayed");
    assert_eq!(app.ran.count(), 1);
}

#[tokio::test]
async fn a_denied_request_never_burns_the_key() {
    let app = app().await;
    // Denied at the tenant step (doc 3 is globex's), after the header check.
    let denied = app.send(pay("3", SVC).header("idempotency-key", "k-2").body(Body::empty()).expect("request")).await;
    denied.assert_problem(404, "not_found");
    // Denied at the caller step.
    let wrong_kind =
        app.send(pay("1", ALICE).header("idempotency-key", "k-2").body(Body::empty()).expect("request")).await;
    wrong_kind.assert_problem(403, "wrong_caller_kind");
    assert_eq!(app.ran.count(), 0);
    let allowed = app.send(pay("1", SVC).header("idempotency-key", "k-2").body(Body::empty()).expect("request")).await;
    assert_eq!(allowed.status, 200, "the denied requests consumed the key: {}", allowed.text);
    assert_eq!(app.ran.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_uses_of_one_key_let_exactly_one_through() {
    let app = Arc::new(app().await);
    // Each request is its own task on a four-thread runtime, released
    // together by the barrier: the claims really race.
    let start = Arc::new(tokio::sync::Barrier::new(32));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let (app, start) = (app.clone(), start.clone());
        tasks.spawn(async move {
            start.wait().await;
            app.send(pay("1", SVC).header("idempotency-key", "race").body(Body::empty()).expect("request")).await
        });
    }
    let answers = tasks.join_all().await;
    let ok = answers.iter().filter(|a| a.status == 200).count();
    for refused in answers.iter().filter(|a| a.status != 200) {
        refused.assert_problem(409, "replayed");
    }
    assert_eq!(ok, 1);
    assert_eq!(app.ran.count(), 1);
}
