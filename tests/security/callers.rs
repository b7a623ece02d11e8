//! Step 2: caller kinds are told apart; a wrong kind is 403 `wrong_caller_kind`.

use axum::body::Body;

use crate::app::*;

#[tokio::test]
async fn services_and_agents_cannot_call_user_only_actions() {
    let app = app().await;
    for token in [SVC, AGENT_ALICE, AGENT_BOB] {
        let answer = app.send(bearer("POST", "/sensitive", token).body(Body::empty()).expect("request")).await;
        answer.assert_problem(403, "wrong_caller_kind");
    }
    assert_eq!(app.ran.count(), 0);
}

#[tokio::test]
async fn users_and_agents_cannot_call_service_only_actions() {
    let app = app().await;
    for token in [ALICE, CAROL, AGENT_BOB] {
        let answer = app
            .send(bearer("POST", "/pay/1", token).header("idempotency-key", "k1").body(Body::empty()).expect("request"))
            .await;
        answer.assert_problem(403, "wrong_caller_kind");
    }
    assert_eq!(app.ran.count(), 0);
}

#[tokio::test]
async fn the_right_kind_passes() {
    let app = app().await;
    let answer = app
        .send(bearer("POST", "/pay/1", SVC).header("idempotency-key", "k1").body(Body::empty()).expect("request"))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(app.ran.count(), 1);
}
