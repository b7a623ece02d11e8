//! Repeated denials answer 429 `probing_suspected`, counted per principal
//! for authenticated callers and per client address otherwise, so one
//! prober never locks out another user.

use axum::body::Body;
use guard_runtime::audit::Decision;

use crate::app::*;

#[tokio::test]
async fn a_probing_principal_is_stopped_and_others_keep_working() {
    let app = app_with(Config { probe_threshold: 3, ..Config::default() }).await;
    for doc in ["2", "3", "999"] {
        app.send(bearer("GET", &format!("/docs/{doc}"), ALICE).body(Body::empty()).expect("request"))
            .await
            .assert_problem(404, "not_found");
    }
    // Now even alice's own doc is refused.
    let stopped = app.send(bearer("GET", "/docs/1", ALICE).body(Body::empty()).expect("request")).await;
    stopped.assert_problem(429, "probing_suspected");
    let retry: u64 = stopped.headers["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=60).contains(&retry), "retry-after {retry}");
    assert_eq!(app.ran.count(), 0);

    // Bob, from the same address, is not affected.
    let bob = app.send(bearer("GET", "/docs/2", BOB).body(Body::empty()).expect("request")).await;
    assert_eq!(bob.status, 200);
    assert_eq!(app.ran.count(), 1);

    let records = app.audit_records().await;
    assert!(records
        .iter()
        .any(|r| r.code == "probing_suspected" && r.decision == Decision::Deny && r.principal() == Some("alice")));
}

#[tokio::test]
async fn unauthenticated_probing_is_counted_by_address_only() {
    let app = app_with(Config { probe_threshold: 3, ..Config::default() }).await;
    for _ in 0..3 {
        app.send(bearer("GET", "/docs/1", "stolen?").body(Body::empty()).expect("request"))
            .await
            .assert_problem(401, "unauthenticated");
    }
    app.send(request("GET", "/docs/1").body(Body::empty()).expect("request"))
        .await
        .assert_problem(429, "probing_suspected");
    // A forged forwarding header does not get the prober a fresh count.
    let forged =
        request("GET", "/docs/1").header("x-forwarded-for", "198.51.100.1").body(Body::empty()).expect("request");
    app.send(forged).await.assert_problem(429, "probing_suspected");
    // A valid user behind the same address is counted as itself.
    let alice = app.send(bearer("GET", "/docs/1", ALICE).body(Body::empty()).expect("request")).await;
    assert_eq!(alice.status, 200);
    assert_eq!(app.ran.count(), 1);
}

#[tokio::test]
async fn input_errors_do_not_count_as_probing() {
    let app = app_with(Config { probe_threshold: 2, ..Config::default() }).await;
    for _ in 0..4 {
        let answer = app
            .send(
                bearer("POST", "/docs/1", ALICE)
                    .header("content-type", "application/json")
                    .body(Body::from("{"))
                    .expect("request"),
            )
            .await;
        answer.assert_problem(400, "bad_request");
    }
    let ok = app.send(bearer("GET", "/docs/1", ALICE).body(Body::empty()).expect("request")).await;
    assert_eq!(ok.status, 200);
}

/// A burst of wrong passwords from one address, all at once on four
/// threads: each attempt is counted before the password is checked, so at
/// most the threshold are checked, and the rest answer 429 unchecked.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_concurrent_burst_checks_at_most_the_threshold() {
    let app = std::sync::Arc::new(app_with(Config { probe_threshold: 5, ..Config::default() }).await);
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(40));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let (app, start) = (app.clone(), start.clone());
        tasks.spawn(async move {
            start.wait().await;
            app.send(request("POST", "/password-check").body(Body::empty()).expect("request")).await
        });
    }
    let answers = tasks.join_all().await;
    let checked = answers.iter().filter(|a| a.status == 401).count();
    for answer in answers.iter().filter(|a| a.status != 401) {
        answer.assert_problem(429, "probing_suspected");
    }
    assert_eq!(checked, 5, "exactly the threshold of passwords were checked");
    assert_eq!(app.ran.count(), 5);
}

/// Allowed requests do not count: their reservation is taken back.
#[tokio::test]
async fn allowed_requests_never_add_up_to_a_lockout() {
    let app = app_with(Config { probe_threshold: 2, ..Config::default() }).await;
    for _ in 0..10 {
        let answer = app.send(bearer("GET", "/docs/1", ALICE).body(Body::empty()).expect("request")).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
    assert_eq!(app.ran.count(), 10);
}
