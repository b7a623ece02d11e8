//! Step 4: cookie-authenticated unsafe requests must come from the app's
//! own origin and carry the session-bound token; bearer callers need none.

use std::time::Duration;

use axum::body::Body;
use guard_runtime::Principal;

use crate::app::*;

async fn alice(app: &TestApp) -> (String, String) {
    app.session(Principal::user("alice", "acme", ["customer"]), Duration::ZERO).await
}

fn edit(cookie: &str) -> axum::http::request::Builder {
    request("POST", "/docs/1")
        .header("cookie", cookie)
        .header("content-type", "application/json")
        .header("host", "app.test")
}

#[tokio::test]
async fn missing_or_wrong_token_is_csrf_failed() {
    let app = app().await;
    let (cookie, csrf) = alice(&app).await;
    let cases = [
        edit(&cookie),
        edit(&cookie).header("x-csrf-token", "wrong"),
        edit(&cookie).header("x-csrf-token", format!("{csrf}x")),
        edit(&cookie).header("x-csrf-token", "csrf-bob"),
        edit(&cookie).header("x-csrf-token", csrf.clone()).header("x-csrf-token", csrf.clone()),
    ];
    for builder in cases {
        app.send(builder.body(Body::from(EDIT)).expect("request")).await.assert_problem(403, "csrf_failed");
    }
    assert_eq!(app.ran.count(), 0);
}

#[tokio::test]
async fn cross_site_and_foreign_origins_are_csrf_failed_even_with_the_token() {
    let app = app().await;
    let (cookie, csrf) = alice(&app).await;
    let with_token = || edit(&cookie).header("x-csrf-token", csrf.clone());
    let cases = [
        with_token().header("sec-fetch-site", "cross-site"),
        with_token().header("origin", "null"),
        with_token().header("origin", "https://evil.test"),
        with_token().header("origin", "http://app.test.evil.test"),
        with_token().header("origin", "http://app.test").header("origin", "http://app.test"),
    ];
    for builder in cases {
        app.send(builder.body(Body::from(EDIT)).expect("request")).await.assert_problem(403, "csrf_failed");
    }
    assert_eq!(app.ran.count(), 0);
}

#[tokio::test]
async fn same_origin_with_the_token_passes() {
    let app = app().await;
    let (cookie, csrf) = alice(&app).await;
    for builder in [
        edit(&cookie).header("x-csrf-token", csrf.clone()),
        edit(&cookie)
            .header("x-csrf-token", csrf.clone())
            .header("origin", "http://app.test")
            .header("sec-fetch-site", "same-origin"),
    ] {
        let answer = app.send(builder.body(Body::from(EDIT)).expect("request")).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
    assert_eq!(app.ran.count(), 2);
}

#[tokio::test]
async fn without_a_host_header_the_origin_is_checked_against_the_uri_authority() {
    // HTTP/2 carries the host in the `:authority` pseudo-header, not `Host`.
    let app = app().await;
    let (cookie, csrf) = alice(&app).await;
    let h2 = |origin: &str| {
        request("POST", "http://app.test/docs/1")
            .header("cookie", cookie.clone())
            .header("content-type", "application/json")
            .header("x-csrf-token", csrf.clone())
            .header("origin", origin)
    };
    app.send(h2("https://evil.test").body(Body::from(EDIT)).expect("request")).await.assert_problem(403, "csrf_failed");
    assert_eq!(app.ran.count(), 0);
    let own = app.send(h2("https://app.test").body(Body::from(EDIT)).expect("request")).await;
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(app.ran.count(), 1);
}

#[tokio::test]
async fn bearer_callers_need_no_token_and_safe_methods_need_none() {
    let app = app().await;
    let answer = app
        .send(
            bearer("POST", "/docs/1", ALICE)
                .header("content-type", "application/json")
                .header("sec-fetch-site", "cross-site")
                .body(Body::from(EDIT))
                .expect("request"),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let (cookie, _) = alice(&app).await;
    let read = app.send(request("GET", "/docs/1").header("cookie", cookie).body(Body::empty()).expect("request")).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(app.ran.count(), 2);
}
