//! Step 8: another tenant's or another owner's object answers exactly like
//! a missing one; step 9: custom checks refuse with 403.

use axum::body::Body;
use serde_json::json;

use crate::app::*;

#[tokio::test]
async fn other_owners_and_tenants_objects_look_missing() {
    let app = app().await;
    let missing = app.send(bearer("GET", "/docs/999", ALICE).body(Body::empty()).expect("request")).await;
    missing.assert_problem(404, "not_found");
    for doc in ["2", "3"] {
        let other = app.send(bearer("GET", &format!("/docs/{doc}"), ALICE).body(Body::empty()).expect("request")).await;
        other.assert_problem(404, "not_found");
        assert_eq!(other.text, missing.text, "body differs from a missing object's");
        assert_eq!(other.headers.get("content-type"), missing.headers.get("content-type"));
    }
    // Tenant-wide reach stops at the tenant too.
    app.send(bearer("GET", "/docs/3", CAROL).body(Body::empty()).expect("request"))
        .await
        .assert_problem(404, "not_found");
    app.send(bearer("GET", "/docs/3", SVC).body(Body::empty()).expect("request"))
        .await
        .assert_problem(404, "not_found");
    assert_eq!(app.ran.count(), 0);
}

#[tokio::test]
async fn odd_ids_look_missing() {
    let app = app().await;
    let long = format!("/docs/{}", "9".repeat(300));
    for uri in ["/docs/%00", "/docs/1%0a", long.as_str(), "/docs/%2e%2e"] {
        let answer = app.send(bearer("GET", uri, ALICE).body(Body::empty()).expect("request")).await;
        answer.assert_problem(404, "not_found");
    }
    assert_eq!(app.ran.count(), 0);
}

#[tokio::test]
async fn tenant_wide_reach_passes_owner_checks_inside_the_tenant() {
    let app = app().await;
    let answer = app.send(bearer("GET", "/docs/2", CAROL).body(Body::empty()).expect("request")).await;
    assert_eq!(answer.status, 200);
    let service = app.send(bearer("GET", "/docs/2", SVC).body(Body::empty()).expect("request")).await;
    assert_eq!(service.status, 200);
    assert_eq!(app.ran.count(), 2);
}

#[tokio::test]
async fn an_owner_key_from_the_body_is_checked_too() {
    let app = app().await;
    let go = |doc: &str| {
        bearer("POST", "/moves", ALICE)
            .header("content-type", "application/json")
            .body(json_body(json!({"doc_id": doc, "to": "archive"})))
            .expect("request")
    };
    app.send(go("2")).await.assert_problem(404, "not_found");
    assert_eq!(app.ran.count(), 0);
    let mine = app.send(go("1")).await;
    assert_eq!(mine.status, 200, "{}", mine.text);
    assert_eq!(app.ran.count(), 1);
}

#[tokio::test]
async fn a_custom_check_refuses_with_403() {
    let app = app().await;
    let answer = app
        .send(
            bearer("POST", "/docs/4", ALICE)
                .header("content-type", "application/json")
                .body(Body::from(EDIT))
                .expect("request"),
        )
        .await;
    answer.assert_problem(403, "forbidden");
    assert_eq!(answer.json()["detail"], "this doc is locked");
    assert_eq!(app.ran.count(), 0);
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problem_404s() {
    let app = app().await;
    app.send(bearer("GET", "/nope", ALICE).body(Body::empty()).expect("request"))
        .await
        .assert_problem(404, "not_found");
    app.send(bearer("PUT", "/docs/1", ALICE).body(Body::empty()).expect("request"))
        .await
        .assert_problem(404, "not_found");
}
