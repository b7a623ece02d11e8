//! `POST /orders/{id}/refund`: a second admin's approval, end to end over
//! HTTP against the binary. Carol and Frank are the acme admins.

mod common;

use common::*;
use serde_json::json;

/// A captured order of alice's: refundable.
async fn captured_order(app: &App) -> String {
    let alice = app.user("alice").await;
    let order = app.create_order(&alice, "lamp").await;
    let id = order["id"].to_string();
    let captured = send(
        app.request(reqwest::Method::POST, &format!("/payments/{id}/capture"), &Caller::bearer(SVC_KEY))
            .header("idempotency-key", format!("capture-{id}")),
    )
    .await;
    captured.assert_ok(200);
    id
}

async fn refund(app: &App, caller: &Caller, order: &str, reason: &str, approval: Option<&str>) -> Resp {
    let mut request = app.request(reqwest::Method::POST, &format!("/orders/{order}/refund"), caller);
    if let Some(id) = approval {
        request = request.header("approval-id", id);
    }
    send(request.json(&json!({ "reason": reason }))).await
}

/// Approves a new request for `order` (asked by carol, approved by frank)
/// and runs it: 201 proves no refund of `order` ran before.
async fn refund_now(app: &App, order: &str) -> Resp {
    let (carol, frank) = (app.user("carol").await, app.user("frank").await);
    let id = refund(app, &carol, order, "now", None).await.assert_ok(202)["id"].as_str().expect("id").to_owned();
    app.post_empty(&format!("/approvals/{id}/approve"), &frank).await.assert_ok(200);
    refund(app, &carol, order, "now", Some(&id)).await
}

#[tokio::test]
async fn a_refund_runs_once_after_a_second_admin_approves_it() {
    let app = App::start(&[]);
    let order = captured_order(&app).await;
    let (carol, frank) = (app.user("carol").await, app.user("frank").await);

    let asked = refund(&app, &carol, &order, "arrived broken", None).await.assert_ok(202);
    let id = asked["id"].as_str().expect("id").to_owned();
    assert_eq!(asked["action"], "refund_order");
    assert_eq!(asked["object"], format!("orders/{order}"));
    assert_eq!(asked["requester"], "carol");
    assert!(asked["expires_at"].as_u64().is_some());
    refund(&app, &carol, &order, "arrived broken", Some(&id)).await.assert_problem(403, "approval_pending");

    let listed = app.get("/approvals", &frank).await.assert_ok(200);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(app.get("/approvals", &carol).await.assert_ok(200), json!([]), "not carol's to decide");
    app.post_empty(&format!("/approvals/{id}/approve"), &frank).await.assert_ok(200);

    let done = refund(&app, &carol, &order, "arrived broken", Some(&id)).await.assert_ok(201);
    assert_eq!(done["order_id"].to_string(), order);
    assert_eq!(done["refunded_by"], "carol");
    refund(&app, &carol, &order, "arrived broken", Some(&id)).await.assert_problem(409, "approval_used");

    // The audit log (flushed at shutdown) holds every step, by code; the
    // body's allow record is written once.
    let records = read_audit(&app.stop().path().join("audit.jsonl"));
    let steps: Vec<(String, String)> = records
        .iter()
        .filter(|r| ["refund_order", "approve_request"].contains(&r["action"].as_str().unwrap_or("")))
        .map(|r| (r["action"].as_str().unwrap_or("").to_owned(), r["code"].as_str().unwrap_or("").to_owned()))
        .collect();
    let expected = [
        ("refund_order", "approval_requested"),
        ("refund_order", "approval_pending"),
        ("approve_request", "ok"),
        ("refund_order", "approved"),
        ("refund_order", "approval_used"),
    ];
    assert_eq!(steps, expected.map(|(a, c)| (a.to_owned(), c.to_owned())));
}

#[tokio::test]
async fn nobody_but_a_second_admin_approves() {
    let app = App::start(&[]);
    let order = captured_order(&app).await;
    let (carol, erin, alice) = (app.user("carol").await, app.user("erin").await, app.user("alice").await);
    let id = refund(&app, &carol, &order, "late", None).await.assert_ok(202)["id"].as_str().expect("id").to_owned();
    let approve = format!("/approvals/{id}/approve");
    // The requester herself.
    let own = app.post_empty(&approve, &carol).await;
    own.assert_problem(403, "forbidden");
    // Support and customers lack `orders:approve`; an agent is no person.
    app.post_empty(&approve, &erin).await.assert_problem(403, "forbidden");
    app.post_empty(&approve, &alice).await.assert_problem(403, "forbidden");
    app.post_empty(&approve, &Caller::bearer(HELPER)).await.assert_problem(403, "wrong_caller_kind");
    // Nor does a customer of another tenant.
    let dave = app.user("dave").await;
    app.post_empty(&approve, &dave).await.assert_problem(403, "forbidden");
    refund(&app, &carol, &order, "late", Some(&id)).await.assert_problem(403, "approval_pending");
    refund_now(&app, &order).await.assert_ok(201);
}

#[tokio::test]
async fn an_approval_covers_one_order_and_one_reason() {
    let app = App::start(&[]);
    let (order, other) = (captured_order(&app).await, captured_order(&app).await);
    let (carol, frank) = (app.user("carol").await, app.user("frank").await);
    let id = refund(&app, &carol, &order, "late", None).await.assert_ok(202)["id"].as_str().expect("id").to_owned();
    app.post_empty(&format!("/approvals/{id}/approve"), &frank).await.assert_ok(200);
    refund(&app, &carol, &other, "late", Some(&id)).await.assert_problem(403, "approval_invalid");
    refund(&app, &carol, &order, "later", Some(&id)).await.assert_problem(403, "approval_invalid");
    // Frank holds the permission too, but the approval is carol's.
    refund(&app, &frank, &order, "late", Some(&id)).await.assert_problem(403, "approval_invalid");
    refund_now(&app, &other).await.assert_ok(201);
    refund(&app, &carol, &order, "late", Some(&id)).await.assert_ok(201);
    // A second approved refund of the same order runs, and refunds nothing.
    let again = refund(&app, &carol, &order, "late", None).await.assert_ok(202)["id"].as_str().expect("id").to_owned();
    app.post_empty(&format!("/approvals/{again}/approve"), &frank).await.assert_ok(200);
    refund(&app, &carol, &order, "late", Some(&again)).await.assert_problem(409, "already_refunded");
}

#[tokio::test]
async fn a_denied_refund_never_runs_and_an_unpaid_order_asks_nothing() {
    let app = App::start(&[]);
    let order = captured_order(&app).await;
    let (carol, frank, alice) = (app.user("carol").await, app.user("frank").await, app.user("alice").await);
    let id = refund(&app, &carol, &order, "late", None).await.assert_ok(202)["id"].as_str().expect("id").to_owned();
    app.post_empty(&format!("/approvals/{id}/deny"), &frank).await.assert_ok(200);
    refund(&app, &carol, &order, "late", Some(&id)).await.assert_problem(403, "approval_denied");
    app.post_empty(&format!("/approvals/{id}/approve"), &frank).await.assert_problem(409, "approval_decided");

    // A new order is not paid: refused before any approval is asked.
    let unpaid = app.create_order(&alice, "pen").await["id"].to_string();
    refund(&app, &carol, &unpaid, "late", None).await.assert_problem(403, "forbidden");
    assert_eq!(app.get("/approvals", &frank).await.assert_ok(200), json!([]));
    refund_now(&app, &order).await.assert_ok(201);
}
