//! The minimal app in-process: the key opens `/hello`, nothing else does.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn get(path: &str, key: Option<&str>) -> (StatusCode, Option<String>, Vec<u8>) {
    let app = minimal_example::app().await.expect("app");
    let mut request = Request::get(path);
    if let Some(key) = key {
        request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    let response = app.oneshot(request.body(Body::empty()).expect("request")).await.expect("response");
    let content_type = response.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().expect("ascii").to_owned());
    let status = response.status();
    let body = response.into_body().collect().await.expect("body").to_bytes().to_vec();
    (status, content_type, body)
}

#[tokio::test]
async fn the_demo_key_gets_a_greeting() {
    let (status, _, body) = get("/hello", Some(minimal_example::DEMO_KEY)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"hello, reporter\n");
}

#[tokio::test]
async fn no_key_is_401_unauthenticated_and_a_wrong_key_too() {
    for key in [None, Some("not-the-key")] {
        let (status, content_type, body) = get("/hello", key).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "key {key:?}");
        assert_eq!(content_type.as_deref(), Some("application/problem+json"));
        let problem: serde_json::Value = serde_json::from_slice(&body).expect("problem JSON");
        assert_eq!(problem["code"], "unauthenticated");
    }
}

#[tokio::test]
async fn the_health_check_is_public() {
    let (status, _, body) = get("/health", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"ok\n");
}
