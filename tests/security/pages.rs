//! Pages and browsers: a signed-out browser on a page goes to the login
//! page, while a direct call of an action still gets 401; a refusal of a
//! browser's request is an HTML page with the same status and `code`.

use std::time::Duration;

use axum::body::Body;
use guard_runtime::audit::Decision;
use guard_runtime::Principal;

use crate::app::*;

/// What Chromium sends when it navigates or submits a form.
const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

fn assert_html_refusal(answer: &Answer, status: u16, code: &str) {
    assert_eq!(answer.status.as_u16(), status, "status; body: {}", answer.text);
    assert_eq!(answer.headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(answer.headers["cache-control"], "no-store");
    assert!(answer.headers.contains_key("x-request-id"));
    assert!(answer.text.contains(&format!("<code id=\"error-code\">{code}</code>")), "{}", answer.text);
}

#[tokio::test]
async fn a_signed_out_browser_on_a_page_is_sent_to_login_and_back() {
    let app = app().await;
    let answer =
        app.send(request("GET", "/docs/1/page?tab=a&b=c").header("accept", BROWSER).body(Body::empty()).unwrap()).await;
    assert_eq!(answer.status, 303, "{}", answer.text);
    assert_eq!(answer.headers["location"], "/login?next=/docs/1/page%3Ftab%3Da%26b%3Dc");
    assert_eq!(app.ran.count(), 0);
    // Still a decision: audited as the 401 it is.
    let records = app.audit_records().await;
    let last = records.last().expect("a record");
    assert_eq!((last.action, last.decision, last.code), ("doc_page", Decision::Deny, "unauthenticated"));
}

#[tokio::test]
async fn the_page_redirect_does_not_protect_the_action() {
    let app = app().await;
    // An API client on the same page: 401, no redirect.
    let api =
        app.send(request("GET", "/docs/1/page").header("accept", "application/json").body(Body::empty()).unwrap());
    api.await.assert_problem(401, "unauthenticated");
    // A browser posting straight to the page's form action: 401 too (an
    // HTML page with a way to sign in), never a redirect that would lose
    // what it posted, and the body does not run.
    let post = request("POST", "/docs/1/form")
        .header("accept", BROWSER)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("text=a&tag=t"))
        .unwrap();
    let answer = app.send(post).await;
    assert_html_refusal(&answer, 401, "unauthenticated");
    assert!(answer.text.contains("<a id=\"login-link\" href=\"/login\">"), "{}", answer.text);
    assert!(answer.headers.contains_key("www-authenticate"));
    assert_eq!(app.ran.count(), 0);
}

#[tokio::test]
async fn a_browser_gets_refusals_as_html_with_the_same_status_and_code() {
    let app = app().await;
    let (cookie, _) = app.session(Principal::user("bob", "acme", ["customer"]), Duration::ZERO).await;
    let page = |accept: &str| request("GET", "/docs/1/page").header("cookie", cookie.as_str()).header("accept", accept);
    assert_html_refusal(&app.send(page(BROWSER).body(Body::empty()).unwrap()).await, 404, "not_found");
    // fetch() sends `*/*`: the problem document, as for any API client.
    app.send(page("*/*").body(Body::empty()).unwrap()).await.assert_problem(404, "not_found");
    // A signed-in browser on a page it may not see is not sent to login.
    let (carol, _) = app.session(Principal::user("carol", "acme", ["nobody"]), Duration::ZERO).await;
    let answer = app.send(
        request("GET", "/docs/1/page").header("cookie", carol).header("accept", BROWSER).body(Body::empty()).unwrap(),
    );
    assert_html_refusal(&answer.await, 403, "forbidden");
    assert_eq!(app.ran.count(), 0);
}

#[tokio::test]
async fn a_refusal_from_the_body_is_negotiated_too() {
    let app = app().await;
    let post = |accept: &str| request("POST", "/password-check").header("accept", accept).body(Body::empty()).unwrap();
    let answer = app.send(post(BROWSER)).await;
    assert_html_refusal(&answer, 401, "unauthenticated");
    app.send(post("application/json")).await.assert_problem(401, "unauthenticated");
}

#[tokio::test]
async fn a_signed_in_browser_sees_the_page_with_its_forms_token() {
    let app = app().await;
    let (cookie, csrf) = app.session(Principal::user("alice", "acme", ["customer"]), Duration::ZERO).await;
    let answer = app
        .send(
            request("GET", "/docs/1/page")
                .header("cookie", cookie)
                .header("accept", BROWSER)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(answer.text.contains(&format!("name=csrf_token value=\"{csrf}\"")), "{}", answer.text);
    assert_eq!(app.ran.count(), 1);
}

#[test]
#[should_panic(expected = "the login page is a local path")]
fn a_login_page_on_another_host_is_refused_at_startup() {
    let policy = guard_runtime::RolePolicy::new();
    let tokens = guard_runtime::authn::Tokens::new(guard_runtime::authn::MemoryTokenStore::new());
    let _ = guard_runtime::Actions::<()>::new(policy, tokens, guard_runtime::Resolvers::new())
        .login_page("//evil.example/login");
}
