//! Managing users: a role change or a disabling applies to the user's next
//! request on every session and every agent acting for them; a password
//! change ends every session made with the old password, even a login in
//! flight when it happened.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

fn order_body(item: &str) -> Value {
    json!({ "item": item, "quantity": 1, "address": "1 Main St" })
}

/// Every audit record, once the server flushed them on its way out.
fn audit_after_stop(app: App) -> Vec<Value> {
    read_audit(&app.stop().path().join("audit.jsonl"))
}

/// How many orders the tenant has, as carol (admin) lists them.
async fn order_count(app: &App, carol: &Caller) -> usize {
    app.get("/orders", carol).await.assert_ok(200).as_array().expect("list").len()
}

#[tokio::test]
async fn a_role_change_applies_to_the_next_request_of_every_session_and_agent() {
    let app = App::start(&[]);
    let carol = app.user("carol").await;
    let alice = app.user("alice").await;
    let (bob_here, bob_there) = (app.user("bob").await, app.user("bob").await);
    let helper = Caller::bearer(HELPER); // bob's agent, scopes orders:*
    app.create_order(&alice, "alice's lamp").await;
    app.create_order(&bob_here, "bob's lamp").await;
    app.post("/orders", &helper, order_body("by helper")).await.assert_ok(201);
    assert_eq!(app.get("/orders", &bob_there).await.assert_ok(200).as_array().map(Vec::len), Some(2));

    // Refused: not an admin, not a user, another tenant, no such role.
    let support = json!({ "role": "support" });
    for caller in [&alice, &bob_here] {
        app.post("/admin/users/bob/role", caller, support.clone()).await.assert_problem(403, "forbidden");
    }
    for key in [SVC_KEY, HELPER, ASSISTANT] {
        app.post("/admin/users/bob/role", &Caller::bearer(key), support.clone())
            .await
            .assert_problem(403, "wrong_caller_kind");
    }
    app.post("/admin/users/dave/role", &carol, support.clone()).await.assert_problem(404, "not_found");
    app.post("/admin/users/nobody/role", &carol, support.clone()).await.assert_problem(404, "not_found");
    for bad in [json!({ "role": "root" }), json!({ "role": "support", "tenant": "globex" }), json!({ "role": 1 })] {
        app.post("/admin/users/bob/role", &carol, bad).await.assert_problem(422, "invalid_input");
    }
    // Nothing changed: bob still writes.
    app.post("/orders", &bob_there, order_body("still a customer")).await.assert_ok(201);
    let before = order_count(&app, &carol).await;

    let changed = app.post("/admin/users/bob/role", &carol, support).await.assert_ok(200);
    assert_eq!(changed, json!({ "user": "bob", "role": "support" }));
    // Next request: support reads the whole tenant and writes nothing, on
    // both sessions; bob's agent gets no more than bob.
    for bob in [&bob_here, &bob_there] {
        let listed = app.get("/orders", bob).await.assert_ok(200);
        assert!(listed.as_array().expect("list").iter().any(|o| o["owner"] == "alice"), "{listed}");
        app.post("/orders", bob, order_body("as support")).await.assert_problem(403, "forbidden");
    }
    app.post("/orders", &helper, order_body("agent as support")).await.assert_problem(403, "forbidden");
    assert_eq!(order_count(&app, &carol).await, before, "a refused write created an order");

    // And back: the change applies as fast the other way.
    app.post("/admin/users/bob/role", &carol, json!({ "role": "customer" })).await.assert_ok(200);
    app.post("/orders", &bob_here, order_body("customer again")).await.assert_ok(201);
    app.post("/orders", &helper, order_body("agent again")).await.assert_ok(201);

    // Audited, allowed and denied alike.
    let records: Vec<Value> = audit_after_stop(app)
        .into_iter()
        .filter(|r| r["path"] == "/admin/users/bob/role" || r["path"] == "/admin/users/dave/role")
        .collect();
    assert!(records.iter().any(|r| r["principal"] == "carol" && r["decision"] == "allow" && r["code"] == "ok"));
    assert!(records.iter().any(|r| r["principal"] == "alice" && r["decision"] == "deny" && r["code"] == "forbidden"));
    assert!(records.iter().any(|r| r["principal"] == "carol" && r["decision"] == "deny" && r["code"] == "not_found"));
}

#[tokio::test]
async fn disabling_a_user_stops_its_sessions_and_agents_at_once() {
    let app = App::start(&[]);
    let carol = app.user("carol").await;
    let (alice_here, alice_there) = (app.user("alice").await, app.user("alice").await);
    let assistant = Caller::bearer(ASSISTANT); // alice's agent
    let bob = app.user("bob").await;
    let order = app.create_order(&alice_here, "lamp").await;
    app.get("/orders", &assistant).await.assert_ok(200);

    app.post_empty("/admin/users/alice/disable", &bob).await.assert_problem(403, "forbidden");
    app.post_empty("/admin/users/dave/disable", &carol).await.assert_problem(404, "not_found");
    app.get("/orders", &alice_there).await.assert_ok(200);

    app.post_empty("/admin/users/alice/disable", &carol).await.assert_ok(204);
    for alice in [&alice_here, &alice_there, &assistant] {
        app.get("/orders", alice).await.assert_problem(401, "unauthenticated");
        app.post(&format!("/orders/{}/address", order["id"]), alice, json!({ "address": "evil" }))
            .await
            .assert_problem(401, "unauthenticated");
    }
    app.login_raw("alice", "alice-pass").await.assert_problem(401, "unauthenticated");
    assert_eq!(app.read_as_admin(&order["id"]).await["address"], "1 Main St");
    // Others keep working.
    app.get("/orders", &bob).await.assert_ok(200);
    app.get("/orders", &Caller::bearer(HELPER)).await.assert_ok(200);

    let records = audit_after_stop(app);
    assert!(records
        .iter()
        .any(|r| r["path"] == "/admin/users/alice/disable" && r["principal"] == "carol" && r["decision"] == "allow"));
}

/// Logins with alice's old password race her password change, released
/// together on a multi-threaded runtime: whether a login verified the old
/// password before the change and stored its session after the change's
/// revocation or not, no session made with the old password works after.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logins_racing_a_password_change_keep_no_session() {
    let app = Arc::new(App::start(&[]));
    // The change hashes twice (verify, then the new hash); a login that
    // straddles it starts about one hashing before its write. So logins
    // start spread over three hashing times.
    let started = std::time::Instant::now();
    app.login_raw("alice", "wrong").await.assert_problem(401, "unauthenticated");
    let hashing = started.elapsed();
    let mut survivors = 0;
    let mut old_logins = 0;
    let mut password = "alice-pass".to_owned();
    for round in 0..4 {
        let here = app.login("alice", &password).await;
        let new_password = format!("alice-pass-{round}");
        let barrier = Arc::new(tokio::sync::Barrier::new(10));
        let logins = (0..9u32)
            .map(|i| {
                let (app, barrier, password) = (app.clone(), barrier.clone(), password.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    tokio::time::sleep(hashing * i / 3).await;
                    app.login_raw("alice", &password).await
                })
            })
            .collect::<Vec<_>>();
        barrier.wait().await;
        let change = json!({ "current_password": password, "new_password": new_password });
        // A client told to come back (every hashing slot taken) does so.
        let mut changed = app.post("/account/password", &here, change.clone()).await;
        while changed.status == 503 {
            changed.assert_problem(503, "unavailable");
            tokio::time::sleep(Duration::from_secs(1)).await;
            changed = app.post("/account/password", &here, change.clone()).await;
        }
        changed.assert_ok(204);
        for login in logins {
            let resp = login.await.expect("join");
            match resp.status {
                200 => {}
                503 => {
                    resp.assert_problem(503, "unavailable"); // every hashing slot taken
                    continue;
                }
                _ => {
                    resp.assert_problem(401, "unauthenticated"); // verified after the change
                    continue;
                }
            }
            old_logins += 1;
            let session = Caller::Session(session_of(&resp));
            let answer = app.get("/orders", &session).await;
            if answer.status == 200 {
                survivors += 1;
            } else {
                answer.assert_problem(401, "unauthenticated");
            }
        }
        app.get("/orders", &here).await.assert_ok(200);
        password = new_password;
    }
    println!("{old_logins} logins with the old password succeeded");
    assert_eq!(survivors, 0, "{survivors} of {old_logins} sessions made with the old password still work");
}
