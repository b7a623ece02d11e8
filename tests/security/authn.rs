//! Step 1: only a valid credential from `Authorization` or the session
//! cookie authenticates; everything else is 401 and the body never runs.

use std::time::Duration;

use axum::body::Body;
use guard_runtime::Principal;

use crate::app::*;

async fn assert_unauthenticated(app: &TestApp, builder: axum::http::request::Builder) {
    let answer = app.send(builder.body(Body::empty()).expect("request")).await;
    answer.assert_problem(401, "unauthenticated");
    assert_eq!(app.ran.count(), 0, "body ran for an unauthenticated request");
}

#[tokio::test]
async fn no_credential_is_401() {
    let app = app().await;
    assert_unauthenticated(&app, request("GET", "/docs/1")).await;
}

#[tokio::test]
async fn invalid_bearer_forms_are_401() {
    let app = app().await;
    for value in ["Bearer nope", "Basic YWxpY2U6eA==", "Bearer", "Bearer ", "alice-token", "Bearer alice-token extra"] {
        assert_unauthenticated(&app, request("GET", "/docs/1").header("authorization", value)).await;
    }
}

#[tokio::test]
async fn two_authorization_headers_are_401_even_if_one_is_valid() {
    let app = app().await;
    let builder = bearer("GET", "/docs/1", ALICE).header("authorization", "Bearer nope");
    assert_unauthenticated(&app, builder).await;
}

#[tokio::test]
async fn an_invalid_bearer_does_not_fall_back_to_a_valid_cookie() {
    let app = app().await;
    let (cookie, _) = app.session(Principal::user("alice", "acme", ["customer"]), Duration::ZERO).await;
    let builder = request("GET", "/docs/1").header("authorization", "Bearer nope").header("cookie", cookie);
    assert_unauthenticated(&app, builder).await;
}

#[tokio::test]
async fn a_jwt_shaped_bearer_nobody_recognises_is_401_and_never_falls_back_to_a_cookie() {
    // `Tokens` declines a JWT-shaped bearer for a JWT authenticator to judge;
    // with none in the chain it is still a bad bearer: 401, cookie or not.
    let app = app().await;
    let (cookie, _) = app.session(Principal::user("alice", "acme", ["customer"]), Duration::ZERO).await;
    for jwt in ["Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln", "Bearer a.b.", "Bearer a.b.c"] {
        assert_unauthenticated(&app, request("GET", "/docs/1").header("authorization", jwt)).await;
        let builder = request("GET", "/docs/1").header("authorization", jwt).header("cookie", cookie.clone());
        assert_unauthenticated(&app, builder).await;
    }
}

#[tokio::test]
async fn bearers_up_to_8_kib_are_read_and_longer_ones_refused() {
    let app = app().await;
    for len in [8 * 1024, 8 * 1024 + 1] {
        let value = format!("Bearer {}", "k".repeat(len));
        assert_unauthenticated(&app, request("GET", "/docs/1").header("authorization", value)).await;
    }
}

#[tokio::test]
async fn credentials_elsewhere_are_ignored() {
    let app = app().await;
    assert_unauthenticated(&app, request("GET", "/docs/1?access_token=alice-token&api_key=alice-token")).await;
    for header in ["x-user", "x-forwarded-user", "x-remote-user", "x-api-key", "x-auth-token", "x-principal"] {
        assert_unauthenticated(&app, request("GET", "/docs/1").header(header, "alice")).await;
        assert_unauthenticated(&app, request("GET", "/docs/1").header(header, ALICE)).await;
    }
}

#[tokio::test]
async fn forged_or_unknown_session_cookies_are_401() {
    let app = app().await;
    let unknown = format!("guard_session={}", "0".repeat(64));
    for cookie in [unknown.as_str(), "guard_session=alice", "guard_session=", "guard_session=../../etc"] {
        assert_unauthenticated(&app, request("GET", "/docs/1").header("cookie", cookie)).await;
    }
}

#[tokio::test]
async fn two_session_cookies_are_401() {
    let app = app().await;
    let (cookie, _) = app.session(Principal::user("alice", "acme", ["customer"]), Duration::ZERO).await;
    let doubled = format!("{cookie}; {cookie}");
    assert_unauthenticated(&app, request("GET", "/docs/1").header("cookie", doubled)).await;
}

#[tokio::test]
async fn revoked_credentials_stop_working_at_once() {
    let app = app().await;
    let ok = app.send(bearer("GET", "/docs/1", ALICE).body(Body::empty()).expect("request")).await;
    assert_eq!(ok.status, 200);
    app.tokens.revoke("key:alice").await.expect("revoke");
    let answer = app.send(bearer("GET", "/docs/1", ALICE).body(Body::empty()).expect("request")).await;
    answer.assert_problem(401, "unauthenticated");
    assert_eq!(app.ran.count(), 1);

    let (cookie, _) = app.session(Principal::user("alice", "acme", ["customer"]), Duration::ZERO).await;
    let live = app
        .send(request("GET", "/docs/1").header("cookie", cookie.clone()).body(Body::empty()).expect("request"))
        .await;
    assert_eq!(live.status, 200);
    app.sessions.revoke_all("alice", None).await.expect("revoke sessions");
    assert_unauthenticated_after(&app, cookie, 2).await;
}

async fn assert_unauthenticated_after(app: &TestApp, cookie: String, ran: usize) {
    let answer =
        app.send(request("GET", "/docs/1").header("cookie", cookie).body(Body::empty()).expect("request")).await;
    answer.assert_problem(401, "unauthenticated");
    assert_eq!(app.ran.count(), ran);
}

#[tokio::test]
async fn login_sessions_are_new_random_http_only_cookies() {
    let app = app().await;
    let first = app.sessions.login(Principal::user("alice", "acme", ["customer"])).await.expect("login");
    let second = app.sessions.login(Principal::user("alice", "acme", ["customer"])).await.expect("login");
    let cookie = first.set_cookie.to_str().expect("ascii");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Secure"), "{cookie}");
    assert_ne!(first.set_cookie, second.set_cookie, "session ids repeat");
    assert_ne!(first.csrf_token, second.csrf_token, "csrf tokens repeat");
    let pair = cookie.split(';').next().expect("name=value").to_owned();
    let answer = app.send(request("GET", "/docs/1").header("cookie", pair).body(Body::empty()).expect("request")).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

#[tokio::test]
async fn valid_bearer_runs_the_body_once() {
    let app = app().await;
    let answer = app.send(bearer("GET", "/docs/1", ALICE).body(Body::empty()).expect("request")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.text, "alice read 1");
    assert_eq!(answer.headers["cache-control"], "no-store");
    assert_eq!(app.ran.count(), 1);
}

#[tokio::test]
async fn the_routers_own_answers_are_404_and_never_cached() {
    // No action is reached: an unknown path, and a mounted path with a
    // method nobody mounted there. The router answers, not the gate.
    let app = app().await;
    for (method, uri) in [("GET", "/nope"), ("PUT", "/docs/1"), ("POST", "/docs")] {
        let answer = app.send(bearer(method, uri, ALICE).body(Body::empty()).expect("request")).await;
        answer.assert_problem(404, "not_found");
    }
    assert_eq!(app.ran.count(), 0);
    assert!(app.audit_records().await.is_empty(), "no action was reached, so nothing is audited");
}
