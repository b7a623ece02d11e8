//! Data minimised per permission: an order's delivery `address` needs
//! `orders:read_address`. alice's assistant (scope `orders:read`) reads her
//! orders without it; alice, bob's helper (scope `orders:*`, and bob is a
//! customer), support and admins see it; so does the manifest's entry.

mod common;

use common::*;
use serde_json::{json, Value};

#[track_caller]
fn without_address(order: &Value) {
    assert!(order.get("address").is_none(), "address leaked: {order}");
    for field in ["id", "owner", "tenant", "item", "quantity", "status"] {
        assert!(order.get(field).is_some(), "{field} missing: {order}");
    }
}

#[tokio::test]
async fn the_address_needs_its_own_permission_in_every_answer() {
    let app = App::start(&[]);
    let alice = app.user("alice").await;
    let a = app.create_order(&alice, "lamp").await;
    assert_eq!(a["address"], "1 Main St", "alice sees her own address");
    let path = format!("/orders/{}", a["id"]);
    assert_eq!(app.get(&path, &alice).await.assert_ok(200)["address"], "1 Main St");

    // alice's assistant holds orders:read only: the order, not the address.
    let assistant = Caller::bearer(ASSISTANT);
    let read = app.get(&path, &assistant).await.assert_ok(200);
    without_address(&read);
    assert_eq!(read["item"], "lamp");
    let list = app.get("/orders", &assistant).await.assert_ok(200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    without_address(&list[0]);

    // bob's helper holds orders:*, and bob orders:read_address: it sees it.
    let helper = Caller::bearer(HELPER);
    let b = app.post("/orders", &helper, json!({ "item": "pen", "quantity": 1, "address": "2 Side St" })).await;
    assert_eq!(b.assert_ok(201)["address"], "2 Side St");
    let listed = app.get("/orders", &helper).await.assert_ok(200);
    assert_eq!(listed[0]["address"], "2 Side St");

    // Support and admins of the tenant see it; the billing service (scopes
    // orders:read and payments:capture) does not, not even in capture's answer.
    for user in ["erin", "carol"] {
        assert_eq!(app.get(&path, &app.user(user).await).await.assert_ok(200)["address"], "1 Main St", "{user}");
    }
    let svc = Caller::bearer(SVC_KEY);
    without_address(&app.get(&path, &svc).await.assert_ok(200));
    let capture = app.request(reqwest::Method::POST, &format!("/payments/{}/capture", a["id"]), &svc);
    let captured = send(capture.header("idempotency-key", "min-1")).await.assert_ok(200);
    without_address(&captured);
    assert_eq!(captured["status"], "captured");
    // The address itself is untouched.
    assert_eq!(app.read_as_admin(&a["id"]).await["address"], "1 Main St");

    // The same order as a page, asked for like a browser: no address either.
    let browser = app.request(reqwest::Method::GET, &path, &assistant).header("accept", "text/html");
    let page = send(browser).await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.text().contains("lamp") && !page.text().contains("1 Main St"), "address leaked: {}", page.text());

    // A refusal is unchanged: a problem document, no order at all.
    app.get("/orders/999999", &assistant).await.assert_problem(404, "not_found");
}

#[tokio::test]
async fn the_manifest_lists_the_guarded_fields() {
    let app = App::start(&[]);
    let carol = app.user("carol").await;
    let manifest = app.get("/admin/actions", &carol).await.assert_ok(200);
    let entry = |name: &str| manifest.as_array().unwrap().iter().find(|a| a["name"] == name).unwrap().clone();
    let guarded = json!([{ "field": "address", "requires": "orders:read_address" }]);
    for name in ["list_orders", "get_order", "create_order", "change_address", "cancel_order", "capture_payment"] {
        assert_eq!(entry(name)["guarded_fields"], guarded, "{name}");
    }
    assert_eq!(entry("delete_order")["guarded_fields"], json!([]));
}
