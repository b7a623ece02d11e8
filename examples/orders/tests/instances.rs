//! Two instances of the app on one shared store and one SQLite file,
//! every scenario run on Redis (`--store redis://…`, module `redis`) and on
//! PostgreSQL (`--store postgres://…`, module `postgres`): sessions,
//! revocations, rotated keys, idempotency keys, denial counters and
//! approval requests are shared; a dead store answers 503 `unavailable` without running any body,
//! and a restarted store needs no app restart.
//!
//! Every test starts its own server on a free loopback port, killed on drop
//! (`tests/common/servers.rs`): `redis-server` must be on `PATH`
//! (`apt-get install -y redis-server`); PostgreSQL's `initdb` and
//! `postgres` in `/usr/lib/postgresql/*/bin`, on `PATH` or in `GUARD_PG_BIN`
//! (`apt-get install -y postgresql`).

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::servers::{PgServer, RedisServer, StoreServer};
use common::*;
use serde_json::{json, Value};

/// Every scenario, once per kind of store: `redis::…` and `postgres::…`.
macro_rules! on_every_store {
    ($($scenario:ident),* $(,)?) => {
        mod redis {
            $(#[tokio::test]
            async fn $scenario() {
                super::$scenario::<super::RedisServer>().await
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $scenario() {
                super::$scenario::<super::PgServer>().await
            })*
        }
    };
}

on_every_store!(
    a_logout_on_one_instance_ends_the_session_on_the_other,
    a_password_change_on_one_instance_revokes_the_other_sessions_everywhere,
    a_role_change_and_a_disable_on_one_instance_apply_on_the_other_at_once,
    a_key_rotated_on_one_instance_stops_working_on_the_other_at_once,
    an_idempotency_key_used_on_one_instance_is_refused_on_the_other,
    one_key_sent_32_times_at_once_to_both_instances_wins_exactly_once,
    denials_on_both_instances_add_up_to_one_limit,
    a_refund_asked_on_one_instance_is_approved_and_run_once_across_both,
    a_dead_store_answers_503_runs_nothing_and_recovery_needs_no_restart,
    an_unreachable_store_at_startup_is_no_crash,
);

// ---------------------------------------------------------------- apps

/// Two app instances on one store and one SQLite file.
struct Pair {
    a: App,
    b: App,
    /// Holds the shared database file.
    _db_dir: tempfile::TempDir,
}

impl Pair {
    /// On `store`, which may be not started yet: the apps start anyway.
    fn start(store: &impl StoreServer, extra: &[&str]) -> Pair {
        let db_dir = tempfile::tempdir().expect("tempdir");
        let db = db_dir.path().join("shared.db").display().to_string();
        let url = store.url();
        let mut args = vec!["--store", url.as_str(), "--db", db.as_str()];
        if !extra.contains(&"--probe-threshold") {
            args.extend(["--probe-threshold", "0"]);
        }
        args.extend(extra);
        // Each instance has its own audit log and stderr; A starts (and
        // seeds the database) before B opens it.
        let a = App::start_in(Arc::new(tempfile::tempdir().expect("tempdir")), &args);
        let b = App::start_in(Arc::new(tempfile::tempdir().expect("tempdir")), &args);
        Pair { a, b, _db_dir: db_dir }
    }
}

async fn new_order(app: &App, caller: &Caller, item: &str) -> String {
    let order = app.post("/orders", caller, json!({ "item": item, "quantity": 1, "address": "1 Main St" })).await;
    id_of(&order.assert_ok(201))
}

fn id_of(order: &Value) -> String {
    match &order["id"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

async fn capture(app: &App, key: &str, order: &str, idempotency_key: &str) -> Resp {
    send(
        app.request(reqwest::Method::POST, &format!("/payments/{order}/capture"), &Caller::bearer(key))
            .header("idempotency-key", idempotency_key),
    )
    .await
}

/// Asks `probe` every 100 ms until it gives 200 or `within` passes.
async fn eventually_ok(what: &str, within: Duration, mut probe: impl AsyncFnMut() -> Resp) -> Resp {
    let deadline = Instant::now() + within;
    loop {
        let resp = probe().await;
        if resp.status == 200 || Instant::now() > deadline {
            assert_eq!(resp.status, 200, "{what}: still failing after {within:?}: {}", resp.text());
            return resp;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------- tests

async fn a_logout_on_one_instance_ends_the_session_on_the_other<S: StoreServer>() {
    let store = S::start();
    let Pair { a, b, .. } = &Pair::start(&store, &[]);
    let alice = a.user("alice").await;
    b.get("/orders", &alice).await.assert_ok(200);
    a.post_empty("/logout", &alice).await.assert_ok(204);
    b.get("/orders", &alice).await.assert_problem(401, "unauthenticated");
    a.get("/orders", &alice).await.assert_problem(401, "unauthenticated");
}

/// Bob's sessions and his agent's token (its record in the shared store
/// still says "customer") follow the role an admin set on the other
/// instance, on their next request; a disable stops them all.
async fn a_role_change_and_a_disable_on_one_instance_apply_on_the_other_at_once<S: StoreServer>() {
    let store = S::start();
    let Pair { a, b, .. } = &Pair::start(&store, &[]);
    let carol = a.user("carol").await;
    let bob = b.user("bob").await;
    let helper = Caller::bearer(HELPER);
    new_order(b, &bob, "before").await;
    new_order(b, &helper, "before").await;

    let support = json!({ "role": "support" });
    a.post("/admin/users/bob/role", &carol, support).await.assert_ok(200);
    for caller in [&bob, &helper] {
        let refused = b.post("/orders", caller, json!({ "item": "after", "quantity": 1, "address": "x" })).await;
        refused.assert_problem(403, "forbidden");
    }
    b.get("/orders", &bob).await.assert_ok(200);

    a.post_empty("/admin/users/bob/disable", &carol).await.assert_ok(204);
    for caller in [&bob, &helper] {
        b.get("/orders", caller).await.assert_problem(401, "unauthenticated");
        a.get("/orders", caller).await.assert_problem(401, "unauthenticated");
    }
    b.login_raw("bob", "bob-pass").await.assert_problem(401, "unauthenticated");
    b.get("/orders", &carol).await.assert_ok(200);
}

async fn a_password_change_on_one_instance_revokes_the_other_sessions_everywhere<S: StoreServer>() {
    let store = S::start();
    let Pair { a, b, .. } = &Pair::start(&store, &[]);
    let on_a = a.user("alice").await;
    let on_b = b.user("alice").await;
    let bob = b.user("bob").await;
    b.get("/orders", &on_b).await.assert_ok(200);
    a.post("/account/password", &on_a, json!({ "current_password": "alice-pass", "new_password": "alice-new-pass" }))
        .await
        .assert_ok(204);
    b.get("/orders", &on_b).await.assert_problem(401, "unauthenticated");
    a.get("/orders", &on_b).await.assert_problem(401, "unauthenticated");
    // The session that changed it is kept, on both; other users keep theirs.
    b.get("/orders", &on_a).await.assert_ok(200);
    b.get("/orders", &bob).await.assert_ok(200);
    // The password itself lives in the shared SQLite file.
    b.login_raw("alice", "alice-pass").await.assert_problem(401, "unauthenticated");
    b.login("alice", "alice-new-pass").await;
}

async fn a_key_rotated_on_one_instance_stops_working_on_the_other_at_once<S: StoreServer>() {
    let store = S::start();
    let Pair { a, b, .. } = &Pair::start(&store, &[]);
    let old = Caller::bearer(SVC_KEY);
    b.get("/orders", &old).await.assert_ok(200);
    let carol = a.user("carol").await;
    let rotated = a.post_empty("/admin/service-accounts/svc-billing/rotate-key", &carol).await.assert_ok(200);
    let new = Caller::bearer(rotated["api_key"].as_str().expect("api_key"));
    b.get("/orders", &old).await.assert_problem(401, "unauthenticated");
    a.get("/orders", &old).await.assert_problem(401, "unauthenticated");
    b.get("/orders", &new).await.assert_ok(200);
    // Agents were copied into the store with their user's roles: alice's agent
    // reads alice's orders and no one else's, on either instance.
    let alice = a.user("alice").await;
    let bob = a.user("bob").await;
    let mine = new_order(a, &alice, "lamp").await;
    let bobs = new_order(a, &bob, "pen").await;
    b.get(&format!("/orders/{mine}"), &Caller::bearer(ASSISTANT)).await.assert_ok(200);
    b.get(&format!("/orders/{bobs}"), &Caller::bearer(ASSISTANT)).await.assert_problem(404, "not_found");
}

async fn an_idempotency_key_used_on_one_instance_is_refused_on_the_other<S: StoreServer>() {
    let store = S::start();
    let Pair { a, b, .. } = &Pair::start(&store, &[]);
    let helper = Caller::bearer(HELPER);
    let first = new_order(a, &helper, "lamp").await;
    let second = new_order(a, &helper, "pen").await;
    capture(a, SVC_KEY, &first, "key-0001").await.assert_ok(200);
    capture(b, SVC_KEY, &first, "key-0001").await.assert_problem(409, "replayed");
    // Keys are per service account and action, not per order.
    capture(b, SVC_KEY, &second, "key-0001").await.assert_problem(409, "replayed");
    let order = b.get(&format!("/orders/{second}"), &helper).await.assert_ok(200);
    assert_eq!(order["status"], "new", "a refused capture changed the order");
}

async fn one_key_sent_32_times_at_once_to_both_instances_wins_exactly_once<S: StoreServer>() {
    let store = S::start();
    let pair = Arc::new(Pair::start(&store, &[]));
    let helper = Caller::bearer(HELPER);
    let on = |i: usize| if i.is_multiple_of(2) { &pair.a } else { &pair.b };
    // One order per request, so every request passes the workflow check and
    // only the atomic claim tells them apart.
    let mut orders = Vec::new();
    for i in 0..32 {
        orders.push(new_order(on(i), &helper, &format!("item {i}")).await);
    }
    let tasks: Vec<_> = orders
        .iter()
        .enumerate()
        .map(|(i, order)| {
            let (pair, order) = (pair.clone(), order.clone());
            tokio::spawn(async move {
                let app = if i.is_multiple_of(2) { &pair.a } else { &pair.b };
                capture(app, SVC_KEY, &order, "shared-key-32").await
            })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        let resp = task.await.expect("task");
        if resp.status == 200 {
            won += 1;
        } else {
            resp.assert_problem(409, "replayed");
        }
    }
    assert_eq!(won, 1, "exactly one of 32 concurrent uses of one key may succeed");
    let mut captured = 0;
    for order in &orders {
        let order = pair.a.get(&format!("/orders/{order}"), &helper).await.assert_ok(200);
        captured += usize::from(order["status"] == "captured");
    }
    assert_eq!(captured, 1, "bodies that ran");
}

/// Carol asks for a refund on A; Frank, the second admin, sees and approves
/// it on B; Carol's retry runs on B, once: a retry on A is refused.
async fn a_refund_asked_on_one_instance_is_approved_and_run_once_across_both<S: StoreServer>() {
    let store = S::start();
    let Pair { a, b, .. } = &Pair::start(&store, &[]);
    let alice = a.user("alice").await;
    let order = new_order(a, &alice, "lamp").await;
    capture(a, SVC_KEY, &order, "refund-capture-1").await.assert_ok(200);
    let (carol, frank) = (a.user("carol").await, b.user("frank").await);
    let path = format!("/orders/{order}/refund");
    let body = json!({ "reason": "arrived broken" });
    let asked = a.post(&path, &carol, body.clone()).await.assert_ok(202);
    let id = asked["id"].as_str().expect("an approval id").to_owned();
    assert_eq!((asked["requester"].as_str(), asked["state"].as_str()), (Some("carol"), Some("pending")));

    let retry = |app: &App| {
        let request = app.request(reqwest::Method::POST, &path, &carol).header("approval-id", id.as_str()).json(&body);
        send(request)
    };
    retry(b).await.assert_problem(403, "approval_pending");
    b.post_empty(&format!("/approvals/{id}/approve"), &carol).await.assert_problem(403, "forbidden");
    let listed = b.get("/approvals", &frank).await.assert_ok(200);
    assert_eq!(listed.as_array().map(|l| l.iter().any(|r| r["id"] == id.as_str())), Some(true), "{listed}");
    let approved = b.post_empty(&format!("/approvals/{id}/approve"), &frank).await.assert_ok(200);
    assert_eq!(approved["decided_by"], "frank");

    let refund = retry(b).await.assert_ok(201);
    assert_eq!((refund["refunded_by"].as_str(), refund["approval_id"].as_str()), (Some("carol"), Some(id.as_str())));
    retry(a).await.assert_problem(409, "approval_used");
    retry(b).await.assert_problem(409, "approval_used");
    a.post_empty(&format!("/approvals/{id}/deny"), &frank).await.assert_problem(409, "approval_used");
}

async fn denials_on_both_instances_add_up_to_one_limit<S: StoreServer>() {
    let store = S::start();
    let Pair { a, b, .. } = &Pair::start(&store, &["--probe-threshold", "4"]);
    let assistant = Caller::bearer(ASSISTANT);
    for app in [a, a, b, b] {
        app.get("/orders/999999", &assistant).await.assert_problem(404, "not_found");
    }
    a.get("/orders", &assistant).await.assert_problem(429, "probing_suspected");
    b.get("/orders", &assistant).await.assert_problem(429, "probing_suspected");
    // Counted per principal: another caller is untouched on both.
    a.get("/orders", &Caller::bearer(HELPER)).await.assert_ok(200);
    b.get("/orders", &Caller::bearer(HELPER)).await.assert_ok(200);
}

async fn a_dead_store_answers_503_runs_nothing_and_recovery_needs_no_restart<S: StoreServer>() {
    let mut store = S::start();
    let Pair { a, b, .. } = &Pair::start(&store, &["--probe-threshold", "20"]);
    let helper = Caller::bearer(HELPER);
    let alice = a.user("alice").await;
    let order = new_order(a, &helper, "lamp").await;
    let alices = new_order(a, &alice, "book").await;
    // A rotation before the outage: it must survive the store losing its data.
    let carol = a.user("carol").await;
    let rotated = a.post_empty("/admin/service-accounts/svc-billing/rotate-key", &carol).await.assert_ok(200);
    let svc = Caller::bearer(rotated["api_key"].as_str().expect("api_key"));
    let before = b.get("/orders", &helper).await.assert_ok(200).as_array().expect("list").len();

    store.stop();
    for app in [a, b] {
        app.get("/orders", &helper).await.assert_problem(503, "unavailable");
        app.get(&format!("/orders/{alices}"), &Caller::bearer(ASSISTANT)).await.assert_problem(503, "unavailable");
        app.post("/orders", &helper, json!({ "item": "ghost", "quantity": 1, "address": "x" }))
            .await
            .assert_problem(503, "unavailable");
        app.get("/orders", &alice).await.assert_problem(503, "unavailable");
        app.post("/orders", &alice, json!({ "item": "ghost", "quantity": 1, "address": "x" }))
            .await
            .assert_problem(503, "unavailable");
        app.login_raw("bob", "bob-pass").await.assert_problem(503, "unavailable");
        capture(app, svc_key(&svc), &order, "outage-key").await.assert_problem(503, "unavailable");
    }

    // Same port (Redis comes back empty, PostgreSQL with its data): no app restart.
    store.spawn();
    for app in [a, b] {
        eventually_ok("helper lists orders", Duration::from_secs(10), async || app.get("/orders", &helper).await).await;
    }
    let after = b.get("/orders", &helper).await.assert_ok(200).as_array().expect("list").len();
    assert_eq!(after, before, "an order was created while the store was down");
    // The key the outage refused was never spent; the order was not touched.
    assert_eq!(a.get(&format!("/orders/{order}"), &helper).await.assert_ok(200)["status"], "new");
    capture(b, svc_key(&svc), &order, "outage-key").await.assert_ok(200);
    capture(a, svc_key(&svc), &order, "outage-key").await.assert_problem(409, "replayed");
    // Keys kept, or copied back from SQLite's record: the rotated one, not the demo one.
    a.get("/orders", &Caller::bearer(SVC_KEY)).await.assert_problem(401, "unauthenticated");
    b.get(&format!("/orders/{alices}"), &Caller::bearer(ASSISTANT)).await.assert_ok(200);
    b.get(&format!("/orders/{order}"), &Caller::bearer(ASSISTANT)).await.assert_problem(404, "not_found");
    // Sessions live only in the store: kept by PostgreSQL; gone with
    // Redis's data, so log in again.
    if S::KEEPS_DATA {
        a.get("/orders", &alice).await.assert_ok(200);
    } else {
        a.get("/orders", &alice).await.assert_problem(401, "unauthenticated");
    }
    let alice = b.user("alice").await;
    a.get("/orders", &alice).await.assert_ok(200);
}

fn svc_key(caller: &Caller) -> &str {
    match caller {
        Caller::Bearer(key) => key,
        _ => unreachable!("a bearer caller"),
    }
}

async fn an_unreachable_store_at_startup_is_no_crash<S: StoreServer>() {
    let mut store = S::not_started();
    let Pair { a, b, .. } = &Pair::start(&store, &["--probe-threshold", "20"]);
    let helper = Caller::bearer(HELPER);
    a.get("/orders", &helper).await.assert_problem(503, "unavailable");
    b.login_raw("alice", "alice-pass").await.assert_problem(503, "unavailable");
    store.spawn();
    eventually_ok("helper lists orders", Duration::from_secs(10), async || a.get("/orders", &helper).await).await;
    // The keys were copied into the store (PostgreSQL: its tables made
    // first); sessions work too.
    b.get("/orders", &Caller::bearer(ASSISTANT)).await.assert_ok(200);
    let alice = b.login("alice", "alice-pass").await;
    a.get("/orders", &alice).await.assert_ok(200);
}

#[test]
fn a_store_url_of_another_kind_is_a_bad_flag() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("never.db");
    let db = db.to_str().expect("utf-8");
    let bad = ["mysql://127.0.0.1/orders", "127.0.0.1:6379", "redis://", "redis://user:pw@[bad"];
    for store in bad.into_iter().chain(["postgres://", "postgresql://user:pw@[bad", "postgres://user:pw@db:port/x"]) {
        let out = command(&["--addr", "127.0.0.1:0", "--db", db, "--store", store])
            .stdin(Stdio::null())
            .output()
            .expect("run binary");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{store}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{store}: stderr is not one line: {stderr:?}");
        assert!(stderr.contains("--store"), "{store}: {stderr}");
        assert!(!stderr.contains("pw@"), "{store}: the password was printed: {stderr}");
        assert!(out.stdout.is_empty(), "{store}: wrote to stdout");
    }
    let out = Command::new(BIN)
        .args(["--db", db])
        .env("ORDERS_STORE", "memcached://x")
        .env_remove("ORDERS_DB")
        .stdin(Stdio::null())
        .output()
        .expect("run binary");
    assert_eq!(out.status.code(), Some(2), "ORDERS_STORE: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0, "a failed start left files behind");
}
