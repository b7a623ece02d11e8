//! HTML forms (`Form<T>`): the same guarantees as JSON input, and the CSRF
//! token from the form's hidden field, still bound to the session and
//! checked before anything else reads the body.

use std::time::Duration;

use axum::body::Body;
use guard_runtime::Principal;

use crate::app::*;

const FORM: &str = "application/x-www-form-urlencoded";

async fn alice(app: &TestApp) -> (String, String) {
    app.session(Principal::user("alice", "acme", ["customer"]), Duration::ZERO).await
}

/// A browser's form post to alice's doc 1, from the app's own page.
fn post(cookie: &str) -> axum::http::request::Builder {
    request("POST", "/docs/1/form")
        .header("cookie", cookie)
        .header("content-type", FORM)
        .header("host", "app.test")
        .header("origin", "http://app.test")
        .header("sec-fetch-site", "same-origin")
}

#[tokio::test]
async fn a_form_post_with_the_hidden_token_runs_and_redirects() {
    let app = app().await;
    let (cookie, csrf) = alice(&app).await;
    let body = format!("text=hello&tag=t1&csrf_token={csrf}");
    let answer = app.send(post(&cookie).body(Body::from(body)).expect("request")).await;
    assert_eq!(answer.status, 303, "{}", answer.text);
    assert_eq!(answer.headers["location"], "/docs/1/page?saved=t1");
    assert_eq!(app.ran.count(), 1);
}

#[tokio::test]
async fn a_form_post_without_the_right_token_is_csrf_failed() {
    let app = app().await;
    let (cookie, csrf) = alice(&app).await;
    let cases = [
        "text=hello&tag=t".to_owned(),
        "text=hello&tag=t&csrf_token=".to_owned(),
        "text=hello&tag=t&csrf_token=wrong".to_owned(),
        format!("text=hello&tag=t&csrf_token={csrf}x"),
        // Bob's token is bound to bob's session, not alice's.
        "text=hello&tag=t&csrf_token=csrf-bob".to_owned(),
        // Two tokens: which one counts would be the attacker's choice.
        format!("text=hello&tag=t&csrf_token={csrf}&csrf_token={csrf}"),
    ];
    for body in cases {
        app.send(post(&cookie).body(Body::from(body)).expect("request")).await.assert_problem(403, "csrf_failed");
    }
    // A wrong header is not rescued by a right field.
    let right_field = format!("text=hello&tag=t&csrf_token={csrf}");
    let answer =
        app.send(post(&cookie).header("x-csrf-token", "wrong").body(Body::from(right_field)).expect("request"));
    answer.await.assert_problem(403, "csrf_failed");
    assert_eq!(app.ran.count(), 0);
}

#[tokio::test]
async fn another_origin_or_site_is_refused_even_with_the_token() {
    let app = app().await;
    let (cookie, csrf) = alice(&app).await;
    let body = || Body::from(format!("text=hello&tag=t&csrf_token={csrf}"));
    let from = |origin: &str, site: &str| {
        request("POST", "/docs/1/form")
            .header("cookie", cookie.as_str())
            .header("content-type", FORM)
            .header("host", "app.test")
            .header("origin", origin)
            .header("sec-fetch-site", site)
    };
    // Another port of the same host is the same site: the Lax cookie goes
    // along, and only the origin check and the token stop it.
    for (origin, site) in [("http://app.test:8081", "same-site"), ("http://evil.test", "cross-site")] {
        app.send(from(origin, site).body(body()).expect("request")).await.assert_problem(403, "csrf_failed");
    }
    assert_eq!(app.ran.count(), 0);
}

#[tokio::test]
async fn a_form_is_decoded_as_strictly_as_json() {
    let app = app().await;
    let (cookie, csrf) = alice(&app).await;
    let cases: [(&str, String, u16, &str); 5] = [
        (FORM, format!("text=a&text=b&tag=t&csrf_token={csrf}"), 422, "invalid_input"),
        // `tag` is read through `#[serde(flatten)]`: unknown fields beside it too.
        (FORM, format!("text=a&tag=t&owner=mallory&csrf_token={csrf}"), 422, "invalid_input"),
        (FORM, format!("text=a&csrf_token={csrf}"), 422, "invalid_input"),
        (FORM, format!("text={}&tag=t&csrf_token={csrf}", "a".repeat(2048)), 413, "payload_too_large"),
        ("text/plain", format!("text=a&tag=t&csrf_token={csrf}"), 403, "csrf_failed"),
    ];
    for (content_type, body, status, code) in cases {
        let builder = post(&cookie).header("content-type", content_type);
        let mut request = builder.body(Body::from(body)).expect("request");
        // `post` set the form type first; keep only the case's.
        request.headers_mut().insert("content-type", content_type.parse().expect("header"));
        app.send(request).await.assert_problem(status, code);
    }
    // With the token in the header, a JSON body to a form action is 415.
    let json = post(&cookie).header("x-csrf-token", csrf.as_str());
    let mut request = json.body(Body::from(EDIT)).expect("request");
    request.headers_mut().insert("content-type", "application/json".parse().expect("header"));
    app.send(request).await.assert_problem(415, "unsupported_media_type");
    assert_eq!(app.ran.count(), 0);
}

#[tokio::test]
async fn a_form_names_only_objects_the_caller_owns() {
    let app = app().await;
    let (cookie, csrf) = app.session(Principal::user("bob", "acme", ["customer"]), Duration::ZERO).await;
    let body = format!("text=mine&tag=t&csrf_token={csrf}");
    app.send(post(&cookie).body(Body::from(body)).expect("request")).await.assert_problem(404, "not_found");
    assert_eq!(app.ran.count(), 0);
}

#[tokio::test]
async fn a_bearer_caller_posts_a_form_without_a_token() {
    let app = app().await;
    let request = bearer("POST", "/docs/1/form", ALICE).header("content-type", FORM);
    let answer = app.send(request.body(Body::from("text=hello&tag=t")).expect("request")).await;
    assert_eq!(answer.status, 303, "{}", answer.text);
    assert_eq!(app.ran.count(), 1);
}
