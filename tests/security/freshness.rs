//! Step 3: sensitive actions need a recent authentication.

use std::time::Duration;

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
    assert_eq!(app.ran.count(), 0);
}

#[tokio::test]
async fn a_fresh_session_passes_and_reauthentication_renews() {
    let app = app().await;
    let (cookie, csrf) = app.session(Principal::user("alice", "acme", ["customer"]), Duration::from_secs(299)).await;
    let go = || request("POST", "/sensitive").header("cookie", cookie.clone()).header("x-csrf-token", csrf.clone());
    let answer = app.send(go().body(Body::empty()).expect("request")).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(app.ran.count(), 1);

    let (stale, stale_csrf) = app.session(Principal::user("bob", "acme", ["customer"]), Duration::from_secs(600)).await;
    let refused = app
        .send(
            request("POST", "/sensitive")
                .header("cookie", stale.clone())
                .header("x-csrf-token", stale_csrf.clone())
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    refused.assert_problem(401, "reauth_required");
    assert_eq!(app.ran.count(), 1);
}
