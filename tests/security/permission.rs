//! Step 6: roles and scopes, wildcards, and agents held to the intersection
//! of their scopes and their user's permissions.

use axum::body::Body;

use crate::app::*;

fn edit(doc: &str, token: &str) -> axum::http::Request<Body> {
    bearer("POST", &format!("/docs/{doc}"), token)
        .header("content-type", "application/json")
        .body(Body::from(EDIT))
        .expect("request")
}

#[tokio::test]
async fn a_missing_permission_is_403() {
    let app = app().await;
    // Customers may not delete; a service has no docs:write scope.
    app.send(bearer("DELETE", "/docs/1", ALICE).body(Body::empty()).expect("request"))
        .await
        .assert_problem(403, "forbidden");
    app.send(edit("1", SVC)).await.assert_problem(403, "forbidden");
    assert_eq!(app.ran.count(), 0);
}

#[tokio::test]
async fn a_wildcard_grant_covers_every_verb_of_its_resource() {
    let app = app().await;
    let answer = app.send(bearer("DELETE", "/docs/2", CAROL).body(Body::empty()).expect("request")).await;
    assert_eq!(answer.status, 204, "{}", answer.text);
    assert_eq!(app.ran.count(), 1);
}

#[tokio::test]
async fn an_agent_gets_only_what_its_scopes_and_its_user_both_allow() {
    let app = app().await;
    // agent-a: scope docs:read, user alice (customer).
    let read = app.send(bearer("GET", "/docs/1", AGENT_ALICE).body(Body::empty()).expect("request")).await;
    assert_eq!(read.status, 200, "{}", read.text);
    app.send(edit("1", AGENT_ALICE)).await.assert_problem(403, "forbidden");
    // agent-b: scope *, user bob (customer): bob cannot delete, so neither can it.
    app.send(bearer("DELETE", "/docs/2", AGENT_BOB).body(Body::empty()).expect("request"))
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(app.ran.count(), 1);
    let write = app.send(edit("2", AGENT_BOB)).await;
    assert_eq!(write.status, 200, "{}", write.text);
    assert_eq!(app.ran.count(), 2);
}

#[tokio::test]
async fn an_agent_acts_only_on_its_users_objects() {
    let app = app().await;
    // Bob's doc, read by alice's agent: like a missing doc.
    app.send(bearer("GET", "/docs/2", AGENT_ALICE).body(Body::empty()).expect("request"))
        .await
        .assert_problem(404, "not_found");
    app.send(edit("1", AGENT_BOB)).await.assert_problem(404, "not_found");
    assert_eq!(app.ran.count(), 0);
}

#[tokio::test]
async fn listings_see_own_or_tenant_reach() {
    let app = app().await;
    let own = app.send(bearer("GET", "/docs", ALICE).body(Body::empty()).expect("request")).await;
    assert_eq!(own.text, r#"Some("alice")"#);
    let agent = app.send(bearer("GET", "/docs", AGENT_ALICE).body(Body::empty()).expect("request")).await;
    assert_eq!(agent.text, r#"Some("alice")"#);
    let admin = app.send(bearer("GET", "/docs", CAROL).body(Body::empty()).expect("request")).await;
    assert_eq!(admin.text, "None");
    let service = app.send(bearer("GET", "/docs", SVC).body(Body::empty()).expect("request")).await;
    assert_eq!(service.text, "None");
}
