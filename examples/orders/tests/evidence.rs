//! The reference app's evidence and control (issue 21): its audit log is a
//! hash chain that `orders-example verify-audit` checks, a durable allow
//! survives `kill -9` under a write load, and a plain route added to its
//! router is refused.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use axum::routing::post;
use common::*;
use guard_runtime::testkit::{AuditSource, Fixtures, Sweep};
use orders_example::config::DbLocation;
use orders_example::store_choice::Stores;
use orders_example::{app, db};
use serde_json::{json, Value};
use tower::ServiceExt;

/// `orders-example verify-audit ARGS`: exit code and stdout.
fn verify_audit(args: &[&str]) -> (i32, String) {
    let mut all = vec!["verify-audit"];
    all.extend_from_slice(args);
    let output = command(&all).output().expect("run verify-audit");
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stdout).into_owned())
}

#[tokio::test]
async fn verify_audit_passes_the_apps_log_and_names_the_first_broken_line() {
    let app = App::start(&["--audit-chain"]);
    let alice = app.user("alice").await;
    for item in ["lamp", "desk", "chair"] {
        app.create_order(&alice, item).await;
    }
    app.get("/orders/999999", &alice).await.assert_problem(404, "not_found");
    let dir = app.stop();
    let log = dir.path().join("audit.jsonl");
    let path = log.display().to_string();
    let (code, out) = verify_audit(&[&path]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("chain holds") && out.contains("sha256 links"), "{out}");

    let text = std::fs::read_to_string(&log).expect("log");
    let lines: Vec<&str> = text.lines().collect();
    let write = |lines: &[String]| std::fs::write(&log, lines.join("\n") + "\n").expect("write");
    let owned = || lines.iter().map(|l| l.to_string()).collect::<Vec<String>>();
    // Edited: a deny turned into an allow, found at the next line.
    let mut edited = owned();
    edited[2] = edited[2].replace("\"decision\":\"allow\"", "\"decision\":\"deny\"");
    assert_ne!(edited[2], lines[2], "line 3 is an allow");
    write(&edited);
    let (code, out) = verify_audit(&[&path]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("line 4: broken link") && out.contains("line 3 was edited"), "{out}");
    // Deleted.
    let mut deleted = owned();
    deleted.remove(2);
    write(&deleted);
    assert!(verify_audit(&[&path]).1.contains("line 3: broken link"));
    // Reordered.
    let mut reordered = owned();
    reordered.swap(2, 3);
    write(&reordered);
    assert!(verify_audit(&[&path]).1.contains("line 3: broken link"));
    // Truncated tail.
    std::fs::write(&log, &text[..text.len() - 5]).expect("write");
    let (code, out) = verify_audit(&[&path]);
    assert_eq!(code, 1);
    assert!(out.contains(&format!("line {}: truncated", lines.len())), "{out}");
    // A file that is not there: a usage error.
    assert_eq!(verify_audit(&["/nonexistent/audit.jsonl"]).0, 2);
}

#[tokio::test]
async fn a_keyed_log_verifies_only_with_the_key_file() {
    let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
    let key = dir.path().join("audit.key");
    std::fs::write(&key, "0123456789abcdef0123456789abcdef0123456789abcdef\n").expect("key");
    let other = dir.path().join("other.key");
    std::fs::write(&other, "fedcba9876543210fedcba9876543210fedcba9876543210\n").expect("key");
    let key_arg = key.display().to_string();
    let app = App::start_in(dir.clone(), &["--audit-hmac-key-file", &key_arg, "--probe-threshold", "0"]);
    let alice = app.user("alice").await;
    app.create_order(&alice, "lamp").await;
    let dir = app.stop();
    let log = dir.path().join("audit.jsonl").display().to_string();
    let (code, out) = verify_audit(&[&log, "--hmac-key-file", &key_arg]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("hmac-sha256 links"), "{out}");
    let (code, out) = verify_audit(&[&log]);
    assert_eq!(code, 1);
    assert!(out.contains("line 1: wrong key"), "{out}");
    let (code, out) = verify_audit(&[&log, "--hmac-key-file", &other.display().to_string()]);
    assert_eq!(code, 1);
    assert!(out.contains("line 2: broken link"), "{out}");
    // A short key is refused at startup: exit 2, nothing served.
    std::fs::write(&other, "short").expect("key");
    let status =
        command(&["--db", ":memory:", "--audit-log", &log, "--audit-hmac-key-file", &other.display().to_string()])
            .output()
            .expect("run");
    assert_eq!(status.status.code(), Some(2), "{}", String::from_utf8_lossy(&status.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_kill_9_under_a_write_load_every_created_order_has_its_allow_record() {
    let app = App::start(&["--audit-durable", "--audit-chain"]);
    let (base, dir) = (app.base.clone(), app.dir.clone());
    let created = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    for worker in 0..16 {
        let (base, created, stop) = (base.clone(), created.clone(), stop.clone());
        load.push(tokio::spawn(async move {
            let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("client");
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                i += 1;
                let sent = client
                    .post(format!("{base}/orders"))
                    .bearer_auth(HELPER)
                    .json(&json!({ "item": format!("w{worker}-{i}"), "quantity": 1, "address": "1 Main St" }))
                    .send()
                    .await;
                match sent {
                    Ok(resp) if resp.status() == 201 => {
                        created.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(resp) => panic!("a create was answered {}", resp.status()),
                    Err(_) => return, // the server is gone
                }
            }
        }));
    }
    // Kill in the middle of the load: requests are in flight.
    while created.load(Ordering::SeqCst) < 300 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(app); // SIGKILL: no graceful shutdown, no final flush
    stop.store(true, Ordering::SeqCst);
    for task in load {
        task.await.expect("load task");
    }
    let answered = created.load(Ordering::SeqCst);

    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("x.db").display()))
        .await
        .expect("open the database");
    let in_db: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE owner = 'bob'").fetch_one(&pool).await.expect("count");
    let text = std::fs::read_to_string(dir.path().join("audit.jsonl")).expect("audit log");
    // A batch the kill cut off mid-write leaves half a line: no body waited
    // on it, so only whole lines count.
    let allows = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["action"] == "create_order" && r["decision"] == "allow")
        .count();
    assert!(in_db as usize >= answered, "{in_db} orders stored, {answered} answered 201");
    assert!(
        in_db as usize <= allows,
        "{in_db} orders were created but only {allows} create_order allow records reached the disk"
    );
    // The chain holds up to the last whole line.
    let (code, out) = verify_audit(&[&dir.path().join("audit.jsonl").display().to_string()]);
    assert!(code == 0 || out.contains("truncated"), "{out}");
}

#[tokio::test]
async fn a_plain_route_added_to_the_orders_router_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (pool, _) = db::open(&DbLocation::Memory).await.expect("database");
    let log = dir.path().join("audit.jsonl");
    let settings = app::Settings { audit_log: Some(log.clone()), probe_threshold: 0, ..app::Settings::default() };
    let (router, accounted, audit) = app::assemble(pool.clone(), &settings, &Stores::in_process(&pool));
    // What a careless change would add: an export with no guard at all.
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    let router = router.route(
        "/orders/export",
        post(move || async move {
            flag.store(true, Ordering::SeqCst);
            "every order"
        }),
    );
    let app = accounted.clone().apply(router);
    let send = |method: &str, path: &str| {
        let request = Request::builder().method(method).uri(path).body(Body::empty()).expect("request");
        app.clone().oneshot(request)
    };
    let answer = send("POST", "/orders/export").await.expect("answer");
    assert_eq!(answer.status(), 403);
    let body = axum::body::to_bytes(answer.into_body(), 1 << 16).await.expect("body");
    let body: Value = serde_json::from_slice(&body).expect("problem");
    assert_eq!(body["code"], "unguarded_route", "{body}");
    assert!(!ran.load(Ordering::SeqCst), "the unguarded handler ran");
    // The app's own routes still serve: the public index, health and API
    // description are actions; an unknown path is 404.
    for path in ["/", "/api", "/health"] {
        assert_eq!(send("GET", path).await.expect("answer").status(), 200, "{path}");
    }
    assert_eq!(send("GET", "/nowhere").await.expect("answer").status(), 404);
    audit.flush().await.expect("flush");
    let refused: Vec<Value> = read_audit(&log).into_iter().filter(|r| r["code"] == "unguarded_route").collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["resource"], "routes/POST /orders/export");
    assert_eq!(refused[0]["decision"], "deny");

    // The sweep finds the route by itself (no action attacked: the route
    // check only), and fails its report with it.
    let fixtures = Fixtures::new(app::policy()).audit(AuditSource::json_lines(&log, audit.clone()));
    let report = Sweep::new(app.clone(), &[]).accounted(&accounted).fixtures(fixtures).run().await;
    let found: Vec<String> = report
        .unguarded_routes()
        .map(|row| format!("{} → {}", row.route, row.got.as_ref().map(ToString::to_string).unwrap_or_default()))
        .collect();
    assert_eq!(found, ["POST /orders/export → 403 unguarded_route"], "{report}");
    assert!(!report.all_held() && report.problems().is_empty(), "{report}");
    assert!(!ran.load(Ordering::SeqCst), "the sweep's probe was refused too");
}
