//! Step 3: sensitive actions need a recent authentication.

use std::time::{Duration, SystemTime};

use axum::body::Body;
use guard_runtime::Principal;

use crate::app::*;

#[tokio::test]
async fn a_stale_session_gets_reauth_required() {
    let app = app().await;
    let (cookie, csrf) = app.session(Principal::user("alice", "acme", ["customer"]), Duration::from_secs(301)).await;
    let answer = app
        .send(
            request("POST", "/sensitive")
                .header("cookie", cookie)
                .header("x-csrf-token", csrf)
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    answer.assert_problem(401, "reauth_required");
    // The RFC 9470 challenge: how recent an authentication to come back with.
    assert_eq!(
        answer.headers["www-authenticate"],
        r#"Bearer error="insufficient_user_authentication", error_description="A more recent or stronger authentication is required", max_age=300"#
    );
    assert_eq!(app.ran.count(), 0);
}

#[tokio::test]
async fn a_fresh_session_passes_and_reauthentication_renews() {
    let app = app().await;
    let (cookie, csrf) = app.session(Principal::user("alice", "acme", ["customer"]), Duration::from_secs(299)).await;
    let go = |cookie: &str, csrf: &str| {
        request("POST", "/sensitive").header("cookie", cookie).header("x-csrf-token", csrf).body(Body::empty())
    };
    let answer = app.send(go(&cookie, &csrf).expect("request")).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(app.ran.count(), 1);

    let (stale, stale_csrf) = app.session(Principal::user("bob", "acme", ["customer"]), Duration::from_secs(600)).await;
    app.send(go(&stale, &stale_csrf).expect("request")).await.assert_problem(401, "reauth_required");
    assert_eq!(app.ran.count(), 1);

    // Bob proves his password again (what a `/reauth` action does): the
    // same session now passes.
    let (parts, _) = go(&stale, &stale_csrf).expect("request").into_parts();
    let id = app.sessions.presented(&parts).expect("the session cookie");
    app.sessions.reauthenticate(&id).await.expect("renewed");
    let renewed = app.send(go(&stale, &stale_csrf).expect("request")).await;
    assert_eq!(renewed.status, 200, "{}", renewed.text);
    assert_eq!(app.ran.count(), 2);
}

#[tokio::test]
async fn an_authentication_time_in_the_future_is_stale() {
    let app = app().await;
    // A session whose clock ran an hour ahead.
    let alice = Principal::user("alice", "acme", ["customer"]);
    let (cookie, csrf) = app.session_at(alice, SystemTime::now() + Duration::from_secs(3600)).await;
    let answer = app
        .send(
            request("POST", "/sensitive")
                .header("cookie", cookie)
                .header("x-csrf-token", csrf)
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    answer.assert_problem(401, "reauth_required");
    assert_eq!(app.ran.count(), 0);
}
