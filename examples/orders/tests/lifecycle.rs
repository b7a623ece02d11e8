//! Flags, restarts, probing limits and concurrency.

mod common;

use std::process::Stdio;

use common::*;
use serde_json::json;

fn run_with(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = command(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::null()).output().expect("run binary")
}

#[test]
fn bad_flags_fail_with_one_line_and_exit_2_writing_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("never.db");
    let db = db.to_str().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, b"").unwrap();
    let under_file = file.join("x.db");
    type Env<'a> = Vec<(&'a str, &'a str)>;
    let cases: Vec<(Vec<&str>, Env)> = vec![
        (vec!["--bogus"], vec![]),
        (vec!["--db", db, "--addr", "not-an-address"], vec![]),
        (vec!["--db", db, "--probe-threshold", "abc"], vec![]),
        (vec!["--db", db, "--probe-threshold", "-1"], vec![]),
        (vec!["--db", db, "--reauth-window", "soon"], vec![]),
        (vec!["--db", db, "--reauth-window", "0"], vec![]),
        (vec!["--db", "/nonexistent-dir/sub/x.db"], vec![]),
        (vec!["--db", dir.path().to_str().unwrap()], vec![]),
        (vec!["--db", under_file.to_str().unwrap()], vec![]),
        (vec!["--db", db, "--audit-log", "/nonexistent-dir/audit.jsonl"], vec![]),
        // The log's options without a log.
        (vec!["--db", db, "--audit-chain"], vec![]),
        (vec!["--db", db, "--audit-durable"], vec![]),
        (vec!["--db", db], vec![("ORDERS_AUDIT_CHAIN", "true")]),
        (vec!["--db", db], vec![("ORDERS_PROBE_THRESHOLD", "many")]),
        (vec!["--db", db], vec![("ORDERS_ADDR", "nowhere")]),
        (vec![], vec![("ORDERS_DB", "/nonexistent-dir/x.db")]),
    ];
    for (args, env) in cases {
        let out = run_with(&args, &env);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: stderr is not one line: {stderr:?}");
        assert!(out.stdout.is_empty(), "{args:?}: wrote to stdout");
    }
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("file")], "a failed start left files behind");
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 0);
}

#[tokio::test]
async fn in_memory_database_works() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let app = App::start_in(dir, &["--db", ":memory:", "--probe-threshold", "0"]);
    let alice = app.user("alice").await;
    app.create_order(&alice, "lamp").await;
    assert_eq!(app.get("/orders", &alice).await.assert_ok(200).as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn state_survives_a_restart() {
    let app = App::start(&[]);
    let alice = app.user("alice").await;
    let carol = app.user("carol").await;
    let bob = app.user("bob").await;
    let order = app.create_order(&alice, "lamp").await;
    let helper_order = app
        .post("/orders", &Caller::bearer(HELPER), json!({ "item": "pen", "quantity": 1, "address": "x" }))
        .await
        .assert_ok(201);
    app.post(
        "/account/password",
        &alice,
        json!({ "current_password": "alice-pass", "new_password": "alice-new-pass" }),
    )
    .await
    .assert_ok(204);
    let key = app.post_empty("/admin/service-accounts/svc-billing/rotate-key", &carol).await.assert_ok(200)["api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post_empty("/logout", &bob).await.assert_ok(204);
    let dir = app.stop();

    let app = App::start_in(dir, &["--probe-threshold", "0"]);
    // Orders, with their owners.
    let svc = Caller::bearer(&key);
    // The billing service sees it without the address (it lacks
    // orders:read_address); an admin sees all of it.
    let mut without_address = order.clone();
    without_address.as_object_mut().expect("an order").remove("address");
    assert_eq!(app.get(&format!("/orders/{}", order["id"]), &svc).await.assert_ok(200), without_address);
    assert_eq!(app.read_as_admin(&order["id"]).await, order);
    assert_eq!(app.get(&format!("/orders/{}", helper_order["id"]), &svc).await.assert_ok(200)["owner"], "bob");
    // The changed password.
    app.login_raw("alice", "alice-pass").await.assert_problem(401, "unauthenticated");
    app.login("alice", "alice-new-pass").await;
    // The rotated key.
    app.get("/orders", &Caller::bearer(SVC_KEY)).await.assert_problem(401, "unauthenticated");
    // The revoked session; a live one is still live.
    app.get("/orders", &bob).await.assert_problem(401, "unauthenticated");
    app.get("/orders", &alice).await.assert_ok(200);
    app.get("/orders", &carol).await.assert_ok(200);
    // The demo principals are not re-seeded over the changes.
    app.get("/orders", &Caller::bearer(ASSISTANT)).await.assert_ok(200);
}

#[tokio::test]
async fn probers_are_slowed_down_without_hurting_others() {
    let app = App::start(&["--probe-threshold", "3"]);
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let order = app.create_order(&alice, "lamp").await;
    let path = format!("/orders/{}", order["id"]);
    for _ in 0..3 {
        app.get(&path, &bob).await.assert_problem(404, "not_found");
    }
    let limited = app.get(&path, &bob).await;
    limited.assert_problem(429, "probing_suspected");
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "retry-after {retry}");
    // Even bob's legitimate requests wait now; alice is untouched.
    app.get("/orders", &bob).await.assert_problem(429, "probing_suspected");
    app.get(&path, &alice).await.assert_ok(200);
    app.get("/orders", &Caller::bearer(SVC_KEY)).await.assert_ok(200);

    // Unauthenticated: counted per client address, not per forgeable header.
    for _ in 0..3 {
        app.login_raw("alice", "guess").await.assert_problem(401, "unauthenticated");
    }
    let login = send(
        app.client
            .post(app.url("/login"))
            .header("x-forwarded-for", "203.0.113.9")
            .json(&json!({ "username": "alice", "password": "alice-pass" })),
    )
    .await;
    login.assert_problem(429, "probing_suspected");
    app.get(&path, &alice).await.assert_ok(200);
}

#[tokio::test]
async fn the_default_probe_threshold_is_20() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let app = App::start_in(dir, &[]);
    let bob = app.user("bob").await;
    for _ in 0..20 {
        app.get("/orders/424242", &bob).await.assert_problem(404, "not_found");
    }
    app.get("/orders/424242", &bob).await.assert_problem(429, "probing_suspected");
}

#[tokio::test]
async fn concurrent_users_never_get_each_others_answers() {
    let app = std::sync::Arc::new(App::start(&[]));
    let mut users = Vec::new();
    for name in ["alice", "bob", "dave"] {
        let caller = app.user(name).await;
        let order = app.create_order(&caller, &format!("{name}-item")).await;
        users.push((name, caller, order));
    }
    let mut tasks = Vec::new();
    for i in 0..300 {
        let app = app.clone();
        let (name, caller, order) = users[i % 3].clone();
        tasks.push(tokio::spawn(async move {
            let resp = if i % 2 == 0 {
                app.get(&format!("/orders/{}", order["id"]), &caller).await
            } else {
                app.get("/orders", &caller).await
            };
            let body = resp.assert_ok(200);
            let orders = if body.is_array() { body.as_array().unwrap().clone() } else { vec![body] };
            assert!(!orders.is_empty());
            for o in orders {
                assert_eq!(o["owner"], name, "{name} got {o}");
                assert_eq!(o["item"], format!("{name}-item"));
            }
        }));
    }
    for task in tasks {
        task.await.expect("request task");
    }
}
