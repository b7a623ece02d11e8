//! Orders by every principal of the contract: owners, tenant-wide readers,
//! admins, other tenants, services and agents.

mod common;

use common::*;
use serde_json::{json, Value};

fn ids(list: &Value) -> Vec<i64> {
    list.as_array().unwrap().iter().map(|o| o["id"].as_i64().unwrap()).collect()
}

fn owners(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|o| o["owner"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn each_user_sees_exactly_what_its_role_allows() {
    let app = App::start(&[]);
    let (alice, bob, erin, carol, dave) = (
        app.user("alice").await,
        app.user("bob").await,
        app.user("erin").await,
        app.user("carol").await,
        app.user("dave").await,
    );
    let a = app.create_order(&alice, "lamp").await;
    let b = app.create_order(&bob, "desk").await;
    let d = app.create_order(&dave, "chair").await;
    assert_eq!(a["owner"], "alice");
    assert_eq!(a["tenant"], "acme");
    assert_eq!(a["status"], "new");
    assert_eq!(a["quantity"], 2);
    assert_eq!(d["tenant"], "globex");
    for key in ["id", "owner", "tenant", "item", "quantity", "address", "status"] {
        assert!(a.get(key).is_some(), "order lacks {key}");
    }

    // Own order: 200 with the full shape.
    assert_eq!(app.get(&format!("/orders/{}", a["id"]), &alice).await.assert_ok(200), a);
    // Lists: own orders for customers, the tenant for support/admin/service.
    assert_eq!(owners(&app.get("/orders", &alice).await.assert_ok(200)), ["alice"]);
    assert_eq!(owners(&app.get("/orders", &bob).await.assert_ok(200)), ["bob"]);
    assert_eq!(owners(&app.get("/orders", &dave).await.assert_ok(200)), ["dave"]);
    for wide in [&erin, &carol, &Caller::bearer(SVC_KEY)] {
        assert_eq!(
            ids(&app.get("/orders", wide).await.assert_ok(200)),
            [a["id"].as_i64().unwrap(), b["id"].as_i64().unwrap()]
        );
    }

    // Another owner's, another tenant's, a missing and an odd id: the same 404.
    let missing = app.get("/orders/999999", &alice).await;
    missing.assert_problem(404, "not_found");
    let cases = [
        (&alice, b["id"].to_string()),
        (&bob, a["id"].to_string()),
        (&dave, a["id"].to_string()),
        (&carol, d["id"].to_string()),
        (&erin, d["id"].to_string()),
        (&alice, "abc".to_owned()),
        (&alice, format!("0{}", a["id"])),
        (&alice, "-1".to_owned()),
        (&alice, "1.0".to_owned()),
        (&alice, "99999999999999999999999".to_owned()),
    ];
    for (caller, id) in cases {
        let resp = app.get(&format!("/orders/{id}"), caller).await;
        resp.assert_problem(404, "not_found");
        assert_eq!(resp.body, missing.body, "order {id} must look missing");
    }
    let svc = Caller::bearer(SVC_KEY);
    let resp = app.get(&format!("/orders/{}", d["id"]), &svc).await;
    assert_eq!(resp.body, missing.body);
    // Tenant-wide readers read any order of their tenant.
    for caller in [&erin, &carol, &svc] {
        assert_eq!(app.get(&format!("/orders/{}", a["id"]), caller).await.assert_ok(200)["owner"], "alice");
    }
}

#[tokio::test]
async fn writes_follow_ownership_and_refused_writes_change_nothing() {
    let app = App::start(&[]);
    let (alice, bob, erin, carol, dave) = (
        app.user("alice").await,
        app.user("bob").await,
        app.user("erin").await,
        app.user("carol").await,
        app.user("dave").await,
    );
    let a = app.create_order(&alice, "lamp").await;
    let id = a["id"].clone();
    let address = format!("/orders/{id}/address");
    let cancel = format!("/orders/{id}/cancel");
    let new_address = json!({ "address": "2 Side St" });

    // Other owner / other tenant: 404. Support: 403 (no write permission).
    app.post(&address, &bob, new_address.clone()).await.assert_problem(404, "not_found");
    app.post(&address, &dave, new_address.clone()).await.assert_problem(404, "not_found");
    app.post(&address, &erin, new_address.clone()).await.assert_problem(403, "forbidden");
    app.post_empty(&cancel, &bob).await.assert_problem(404, "not_found");
    app.post_empty(&cancel, &erin).await.assert_problem(403, "forbidden");
    app.post_empty(&cancel, &dave).await.assert_problem(404, "not_found");
    app.post("/orders", &erin, json!({ "item": "x", "quantity": 1, "address": "y" }))
        .await
        .assert_problem(403, "forbidden");
    app.post("/orders", &Caller::bearer(SVC_KEY), json!({ "item": "x", "quantity": 1, "address": "y" }))
        .await
        .assert_problem(403, "forbidden");
    // Only admins delete.
    for caller in [&alice, &bob, &erin] {
        app.delete(&format!("/orders/{id}"), caller).await.assert_problem(403, "forbidden");
    }
    app.delete(&format!("/orders/{id}"), &dave).await.assert_problem(403, "forbidden");
    app.delete(&format!("/orders/{id}"), &Caller::bearer(SVC_KEY)).await.assert_problem(403, "forbidden");
    let unchanged = app.read_as_admin(&id).await;
    assert_eq!(unchanged, a, "refused writes changed the order");
    assert_eq!(ids(&app.get("/orders", &carol).await.assert_ok(200)).len(), 1, "a refused create added an order");

    // The owner writes; so does the admin of the tenant.
    assert_eq!(app.post(&address, &alice, new_address).await.assert_ok(200)["address"], "2 Side St");
    assert_eq!(
        app.post(&address, &carol, json!({ "address": "3 Admin Rd" })).await.assert_ok(200)["address"],
        "3 Admin Rd"
    );
    let cancelled = app.post_empty(&cancel, &alice).await.assert_ok(200);
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["owner"], "alice");

    // Admin deletes any order of its tenant, none of another tenant.
    let d = app.create_order(&dave, "chair").await;
    app.delete(&format!("/orders/{}", d["id"]), &carol).await.assert_problem(404, "not_found");
    let b = app.create_order(&bob, "desk").await;
    app.post_empty(&format!("/orders/{}/cancel", b["id"]), &carol).await.assert_ok(200);
    app.delete(&format!("/orders/{id}"), &carol).await.assert_ok(204);
    app.get(&format!("/orders/{id}"), &alice).await.assert_problem(404, "not_found");
    app.delete(&format!("/orders/{id}"), &carol).await.assert_problem(404, "not_found");
}

#[tokio::test]
async fn captured_orders_cannot_be_cancelled() {
    let app = App::start(&[]);
    let alice = app.user("alice").await;
    let a = app.create_order(&alice, "lamp").await;
    let svc = Caller::bearer(SVC_KEY);
    let captured = send(
        app.request(reqwest::Method::POST, &format!("/payments/{}/capture", a["id"]), &svc)
            .header("idempotency-key", "k1"),
    )
    .await
    .assert_ok(200);
    assert_eq!(captured["status"], "captured");
    app.post_empty(&format!("/orders/{}/cancel", a["id"]), &alice).await.assert_problem(403, "forbidden");
    assert_eq!(app.read_as_admin(&a["id"]).await["status"], "captured");
}

#[tokio::test]
async fn agents_get_only_what_both_they_and_their_user_hold() {
    let app = App::start(&[]);
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let a = app.create_order(&alice, "lamp").await;
    let b = app.create_order(&bob, "desk").await;
    let assistant = Caller::bearer(ASSISTANT);
    let helper = Caller::bearer(HELPER);

    // assistant (alice, orders:read): reads alice's orders only, writes
    // nothing, and never sees the address (orders:read_address).
    let mut without_address = a.clone();
    without_address.as_object_mut().unwrap().remove("address");
    assert_eq!(app.get(&format!("/orders/{}", a["id"]), &assistant).await.assert_ok(200), without_address);
    assert_eq!(owners(&app.get("/orders", &assistant).await.assert_ok(200)), ["alice"]);
    app.get(&format!("/orders/{}", b["id"]), &assistant).await.assert_problem(404, "not_found");
    app.post("/orders", &assistant, json!({ "item": "x", "quantity": 1, "address": "y" }))
        .await
        .assert_problem(403, "forbidden");
    app.post(&format!("/orders/{}/address", a["id"]), &assistant, json!({ "address": "z" }))
        .await
        .assert_problem(403, "forbidden");
    app.post_empty(&format!("/orders/{}/cancel", a["id"]), &assistant).await.assert_problem(403, "forbidden");

    // helper (bob, orders:*): writes bob's orders, owned by bob; cannot delete
    // (bob cannot); never sees alice's.
    let created =
        app.post("/orders", &helper, json!({ "item": "pen", "quantity": 3, "address": "y" })).await.assert_ok(201);
    assert_eq!(created["owner"], "bob");
    assert_eq!(created["tenant"], "acme");
    assert_eq!(
        app.post(&format!("/orders/{}/address", b["id"]), &helper, json!({ "address": "z" })).await.assert_ok(200)
            ["address"],
        "z"
    );
    app.delete(&format!("/orders/{}", b["id"]), &helper).await.assert_problem(403, "forbidden");
    app.get(&format!("/orders/{}", a["id"]), &helper).await.assert_problem(404, "not_found");
    app.post_empty(&format!("/orders/{}/cancel", a["id"]), &helper).await.assert_problem(404, "not_found");
    assert_eq!(owners(&app.get("/orders", &helper).await.assert_ok(200)), ["bob", "bob"]);
    // The admin pages are not theirs.
    app.get("/admin/actions", &helper).await.assert_problem(403, "forbidden");
    assert_eq!(app.read_as_admin(&a["id"]).await, a);
}

#[tokio::test]
async fn order_fields_are_validated() {
    let app = App::start(&[]);
    let alice = app.user("alice").await;
    let bad = [
        json!({ "item": "", "quantity": 1, "address": "a" }),
        json!({ "item": "x".repeat(201), "quantity": 1, "address": "a" }),
        json!({ "item": "x", "quantity": 1, "address": "" }),
        json!({ "item": "x", "quantity": 1, "address": "a".repeat(501) }),
        json!({ "item": "x", "quantity": 0, "address": "a" }),
        json!({ "item": "x", "quantity": 10001, "address": "a" }),
        json!({ "item": "x", "quantity": -1, "address": "a" }),
        json!({ "item": "x", "quantity": 4294967297u64, "address": "a" }),
        json!({ "item": "x", "quantity": null, "address": "a" }),
        json!({ "item": "x", "address": "a" }),
        json!({ "item": 5, "quantity": 1, "address": "a" }),
        json!([]),
    ];
    for body in bad {
        app.post("/orders", &alice, body.clone()).await.assert_problem(422, "invalid_input");
    }
    let a = app.create_order(&alice, "lamp").await;
    app.post(&format!("/orders/{}/address", a["id"]), &alice, json!({ "address": "" }))
        .await
        .assert_problem(422, "invalid_input");
    app.post(&format!("/orders/{}/address", a["id"]), &alice, json!({ "address": "é".repeat(501) }))
        .await
        .assert_problem(422, "invalid_input");
    // The limits themselves are fine, counted in characters.
    let max = json!({ "item": "é".repeat(200), "quantity": 10000, "address": "ü".repeat(500) });
    assert_eq!(app.post("/orders", &alice, max).await.assert_ok(201)["quantity"], 10000);
    app.post("/orders", &alice, json!({ "item": "x", "quantity": 1, "address": "a" })).await.assert_ok(201);
    assert_eq!(ids(&app.get("/orders", &alice).await.assert_ok(200)).len(), 3);
    assert_eq!(app.read_as_admin(&a["id"]).await["address"], "1 Main St");
}

#[tokio::test]
async fn unknown_routes_and_methods_are_404() {
    let app = App::start(&[]);
    let carol = app.user("carol").await;
    app.get("/nope", &carol).await.assert_problem(404, "not_found");
    app.get("/nope", &Caller::Anon).await.assert_problem(404, "not_found");
    send(app.request(reqwest::Method::PUT, "/orders", &carol)).await.assert_problem(404, "not_found");
}
