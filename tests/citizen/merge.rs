//! `into_router` merges into an app that has its own routes and fallback.

use axum::routing::get;
use axum::Router;
use tower::ServiceExt;

use crate::app::{actions, bearer, body_text};

#[tokio::test]
async fn merges_into_an_app_with_its_own_fallback() {
    let spa = Router::new().route("/", get(|| async { "home" })).fallback(|| async { "the single-page app" });
    let app = spa.merge(actions().await.into_router(()));

    let unknown = app.clone().oneshot(bearer("GET", "/some/client/route")).await.expect("answer");
    assert_eq!(body_text(unknown).await, "the single-page app");
    let guarded = app.clone().oneshot(bearer("GET", "/report")).await.expect("answer");
    assert_eq!(guarded.status(), 200);
    assert_eq!(body_text(guarded).await, "report for svc-reporter");
    let home = app.oneshot(bearer("GET", "/")).await.expect("answer");
    assert_eq!(body_text(home).await, "home");
}

#[tokio::test]
async fn a_known_path_with_another_method_is_still_guards_404() {
    let app = Router::new().fallback(|| async { "spa" }).merge(actions().await.into_router(()));
    let answer = app.oneshot(bearer("DELETE", "/report")).await.expect("answer");
    assert_eq!(answer.status(), 404);
    assert_eq!(answer.headers()["content-type"], "application/problem+json");
    assert!(body_text(answer).await.contains("\"code\":\"not_found\""));
}
