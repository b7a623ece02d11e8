//! Service accounts, key rotation, the manifest and the audit log.

mod common;

use std::collections::HashSet;

use common::*;
use reqwest::Method;
use serde_json::Value;

async fn capture(app: &App, id: &Value, caller: &Caller, key: Option<&str>) -> Resp {
    let mut req = app.request(Method::POST, &format!("/payments/{id}/capture"), caller);
    if let Some(key) = key {
        req = req.header("idempotency-key", key);
    }
    send(req).await
}

#[tokio::test]
async fn payment_capture_is_for_same_tenant_services_and_single_use() {
    let app = App::start(&[]);
    let (alice, carol, dave) = (app.user("alice").await, app.user("carol").await, app.user("dave").await);
    let svc = Caller::bearer(SVC_KEY);
    let a = app.create_order(&alice, "lamp").await;
    let a2 = app.create_order(&alice, "rug").await;
    let d = app.create_order(&dave, "chair").await;

    capture(&app, &a["id"], &svc, None).await.assert_problem(400, "bad_request");
    capture(&app, &a["id"], &svc, Some("")).await.assert_problem(400, "bad_request");
    assert_eq!(app.read_as_admin(&a["id"]).await["status"], "new");
    let done = capture(&app, &a["id"], &svc, Some("key-1")).await.assert_ok(200);
    assert_eq!(done["status"], "captured");
    assert_eq!(done["id"], a["id"]);
    capture(&app, &a["id"], &svc, Some("key-1")).await.assert_problem(409, "replayed");
    capture(&app, &a2["id"], &svc, Some("key-1")).await.assert_problem(409, "replayed");
    // Already captured: the check refuses, whatever the key.
    capture(&app, &a["id"], &svc, Some("key-2")).await.assert_problem(403, "forbidden");
    // Users and agents are the wrong kind of caller, even admins.
    capture(&app, &a2["id"], &carol, Some("key-3")).await.assert_problem(403, "wrong_caller_kind");
    capture(&app, &a2["id"], &alice, Some("key-4")).await.assert_problem(403, "wrong_caller_kind");
    capture(&app, &a2["id"], &Caller::bearer(HELPER), Some("key-5")).await.assert_problem(403, "wrong_caller_kind");
    // Another tenant's order, a missing one, an odd id: 404.
    let missing = capture(&app, &Value::from(999999), &svc, Some("key-6")).await;
    missing.assert_problem(404, "not_found");
    let other = capture(&app, &d["id"], &svc, Some("key-7")).await;
    other.assert_problem(404, "not_found");
    assert_eq!(other.body, missing.body);
    capture(&app, &Value::from("x1"), &svc, Some("key-8")).await.assert_problem(404, "not_found");
    capture(&app, &a2["id"], &Caller::Anon, Some("key-9")).await.assert_problem(401, "unauthenticated");
    // None of that touched a2 or dave's order.
    assert_eq!(app.read_as_admin(&a2["id"]).await["status"], "new");
    assert_eq!(app.get(&format!("/orders/{}", d["id"]), &dave).await.assert_ok(200)["status"], "new");
    // A cancelled order cannot be captured.
    app.post_empty(&format!("/orders/{}/cancel", a2["id"]), &alice).await.assert_ok(200);
    capture(&app, &a2["id"], &svc, Some("key-10")).await.assert_problem(403, "forbidden");
}

#[tokio::test]
async fn key_rotation_is_for_fresh_admins_and_kills_the_old_key_at_once() {
    let app = App::start(&[]);
    let (carol, alice, erin, dave) =
        (app.user("carol").await, app.user("alice").await, app.user("erin").await, app.user("dave").await);
    let path = "/admin/service-accounts/svc-billing/rotate-key";
    app.post_empty(path, &alice).await.assert_problem(403, "forbidden");
    app.post_empty(path, &erin).await.assert_problem(403, "forbidden");
    app.post_empty(path, &dave).await.assert_problem(403, "forbidden");
    app.post_empty(path, &Caller::bearer(SVC_KEY)).await.assert_problem(403, "wrong_caller_kind");
    app.post_empty(path, &Caller::bearer(HELPER)).await.assert_problem(403, "wrong_caller_kind");
    app.post_empty(path, &Caller::Anon).await.assert_problem(401, "unauthenticated");
    app.post_empty("/admin/service-accounts/nobody/rotate-key", &carol).await.assert_problem(404, "not_found");
    // Still the old key after all those refusals.
    app.get("/orders", &Caller::bearer(SVC_KEY)).await.assert_ok(200);

    let rotated = app.post_empty(path, &carol).await.assert_ok(200);
    let new_key = rotated["api_key"].as_str().unwrap().to_owned();
    assert_ne!(new_key, SVC_KEY);
    assert!(new_key.len() >= 32);
    app.get("/orders", &Caller::bearer(SVC_KEY)).await.assert_problem(401, "unauthenticated");
    app.get("/orders", &Caller::bearer(&new_key)).await.assert_ok(200);
    // Rotating again kills the second key too.
    let third = app.post_empty(path, &carol).await.assert_ok(200)["api_key"].as_str().unwrap().to_owned();
    app.get("/orders", &Caller::bearer(&new_key)).await.assert_problem(401, "unauthenticated");
    app.get("/orders", &Caller::bearer(&third)).await.assert_ok(200);
}

#[tokio::test]
async fn the_manifest_lists_every_mounted_action() {
    let app = App::start(&[]);
    let carol = app.user("carol").await;
    let manifest = app.get("/admin/actions", &carol).await.assert_ok(200);
    let routes: HashSet<(String, String)> = manifest
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["method"].as_str().unwrap().to_owned(), a["path"].as_str().unwrap().to_owned()))
        .collect();
    let expected = [
        ("GET", "/"),
        ("GET", "/api"),
        ("GET", "/health"),
        ("POST", "/login"),
        ("POST", "/logout"),
        ("POST", "/reauth"),
        ("GET", "/orders"),
        ("GET", "/orders/{id}"),
        ("POST", "/orders"),
        ("POST", "/orders/{id}/address"),
        ("POST", "/orders/{id}/cancel"),
        ("DELETE", "/orders/{id}"),
        ("POST", "/account/password"),
        ("POST", "/admin/service-accounts/{name}/rotate-key"),
        ("POST", "/admin/users/{name}/role"),
        ("POST", "/admin/users/{name}/disable"),
        ("POST", "/payments/{order_id}/capture"),
        ("POST", "/orders/{id}/refund"),
        ("GET", "/approvals"),
        ("POST", "/approvals/{approval_id}/approve"),
        ("POST", "/approvals/{approval_id}/deny"),
        ("GET", "/admin/actions"),
        // The two-person rule (API.md, "Approval requests").
        ("POST", "/orders/{id}/refund"),
        ("GET", "/approvals"),
        ("POST", "/approvals/{approval_id}/approve"),
        ("POST", "/approvals/{approval_id}/deny"),
        // The pages and their form routes (API.md, "Pages and forms").
        ("GET", "/login"),
        ("GET", "/static/app.css"),
        ("POST", "/login/form"),
        ("POST", "/logout/form"),
        ("POST", "/orders/form"),
        ("POST", "/orders/{id}/address/form"),
        ("POST", "/orders/{id}/cancel/form"),
        ("GET", "/admin/audit"),
    ];
    let expected: HashSet<(String, String)> = expected.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    assert_eq!(routes, expected);
    let capture = manifest.as_array().unwrap().iter().find(|a| a["path"] == "/payments/{order_id}/capture").unwrap();
    assert_eq!(capture["requires"], serde_json::json!(["payments:capture"]));
    assert_eq!(capture["callers"], serde_json::json!(["service"]));
    assert!(capture["replay"].as_str().is_some_and(|h| h.eq_ignore_ascii_case("idempotency-key")));
    assert_eq!(capture["approval"], serde_json::Value::Null);
    let refund = manifest.as_array().unwrap().iter().find(|a| a["path"] == "/orders/{id}/refund").unwrap();
    assert_eq!(refund["approval"], "orders:approve", "the manifest names who approves");
    for caller in [app.user("alice").await, app.user("erin").await, Caller::bearer(SVC_KEY), Caller::bearer(ASSISTANT)]
    {
        app.get("/admin/actions", &caller).await.assert_problem(403, "forbidden");
        app.get("/admin/audit", &caller).await.assert_problem(403, "forbidden");
    }
    app.get("/admin/actions", &Caller::Anon).await.assert_problem(401, "unauthenticated");
    app.get("/admin/audit", &Caller::Anon).await.assert_problem(401, "unauthenticated");
}

#[tokio::test]
async fn every_decision_is_one_complete_audit_line() {
    let app = App::start(&[]);
    let alice = app.user("alice").await; // 1 decision
    let a = app.create_order(&alice, "lamp").await; // 2
    let mut request_ids = Vec::new();
    let responses = [
        app.get(&format!("/orders/{}", a["id"]), &Caller::bearer(ASSISTANT)).await, // allow, agent
        app.get("/orders", &Caller::Anon).await,                                    // deny 401
        app.get("/orders/999", &Caller::bearer(SVC_KEY)).await,                     // deny 404
        app.post_empty(&format!("/orders/{}/cancel", a["id"]), &Caller::bearer(ASSISTANT)).await, // deny 403
        app.login_raw("alice", "wrong").await, // allow (public), then the body's 401: deny
    ];
    for resp in &responses {
        request_ids.push(resp.header("x-request-id").expect("x-request-id").to_owned());
    }
    let dir = app.stop(); // graceful: flushes the audit log
                          // Not chained (no `--audit-chain`): every line is a decision.
    let records = read_audit(&dir.path().join("audit.jsonl"));
    assert_eq!(records.len(), 8, "one line per decision: {records:#?}");
    let fields = [
        "ts",
        "request_id",
        "client_request_id",
        "principal",
        "principal_kind",
        "on_behalf_of",
        "tenant",
        "action",
        "method",
        "path",
        "permission",
        "resource",
        "decision",
        "code",
        "latency_us",
    ];
    for record in &records {
        assert!(record.get("prev").is_none(), "a chained line without `--audit-chain`: {record}");
        for field in fields {
            assert!(record.get(field).is_some(), "audit record lacks {field}: {record}");
        }
        assert!(record["decision"] == "allow" || record["decision"] == "deny");
        assert!(record["latency_us"].is_u64());
        if record["decision"] == "allow" {
            assert_eq!(record["code"], "ok");
        }
    }
    let by_id =
        |id: &str| records.iter().find(|r| r["request_id"] == id).unwrap_or_else(|| panic!("no record for {id}"));
    let agent = by_id(&request_ids[0]);
    assert_eq!(agent["principal"], "assistant");
    assert_eq!(agent["principal_kind"], "agent");
    assert_eq!(agent["on_behalf_of"], "alice");
    assert_eq!(agent["tenant"], "acme");
    assert_eq!(agent["decision"], "allow");
    assert_eq!(agent["permission"], "orders:read");
    assert_eq!(agent["method"], "GET");
    assert_eq!(agent["path"], format!("/orders/{}", a["id"]));
    assert_eq!(agent["resource"], format!("orders/{}", a["id"]));
    let anon = by_id(&request_ids[1]);
    assert_eq!(anon["principal"], Value::Null);
    assert_eq!(anon["decision"], "deny");
    assert_eq!(anon["code"], "unauthenticated");
    let svc = by_id(&request_ids[2]);
    assert_eq!(svc["principal"], "svc-billing");
    assert_eq!(svc["principal_kind"], "service");
    assert_eq!(svc["on_behalf_of"], Value::Null);
    assert_eq!(svc["code"], "not_found");
    let forbidden = by_id(&request_ids[3]);
    assert_eq!(forbidden["code"], "forbidden");
    assert_eq!(forbidden["action"], "cancel_order");
    // The wrong password: the guard let the public action run (allow), and
    // the action itself refused (deny), both under one request id.
    let login: Vec<_> = records.iter().filter(|r| r["request_id"] == request_ids[4].as_str()).collect();
    assert_eq!(login.len(), 2, "{login:#?}");
    assert_eq!((&login[0]["decision"], &login[0]["code"]), (&Value::from("allow"), &Value::from("ok")));
    assert_eq!((&login[1]["decision"], &login[1]["code"]), (&Value::from("deny"), &Value::from("unauthenticated")));
    assert_eq!(login[1]["action"], "login");
    let user = records.iter().find(|r| r["action"] == "create_order").unwrap();
    assert_eq!(user["principal"], "alice");
    assert_eq!(user["principal_kind"], "user");
    assert_eq!(user["on_behalf_of"], Value::Null);
    // No secret ever reaches the log.
    let text = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    for secret in [SVC_KEY, ASSISTANT, "alice-pass", alice.session().cookie.as_str()] {
        assert!(!text.contains(secret), "audit log leaks {secret}");
    }
}
