//! What a newcomer meets: the startup greeting, the index page and the API
//! description it links to.

mod common;

use std::time::{Duration, Instant};

use common::*;

#[tokio::test]
async fn the_index_page_is_html_linking_to_the_api_description() {
    let app = App::start(&[]);
    let index = app.get("/", &Caller::Anon).await;
    assert_eq!(index.status, 200, "{}", index.text());
    assert!(index.header("content-type").is_some_and(|t| t.starts_with("text/html")), "{:?}", index.headers);
    assert!(index.text().contains(r#"<a href="/api">"#), "{}", index.text());

    // The link leads to the contract in the repository, byte for byte.
    let api = app.get("/api", &Caller::Anon).await;
    assert_eq!(api.status, 200);
    assert!(api.header("content-type").is_some_and(|t| t.starts_with("text/markdown")), "{:?}", api.headers);
    assert_eq!(api.text(), include_str!("../API.md"));
}

#[tokio::test]
async fn startup_lists_the_demo_principals_and_requests_to_try() {
    let app = App::start(&[]);
    // The greeting follows the `listening on` line the harness waits for.
    let log = app.dir.path().join("stderr.log");
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("/api") || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    for credential in ["alice-pass", "bob-pass", "erin-pass", "carol-pass", "dave-pass", SVC_KEY, ASSISTANT, HELPER] {
        assert!(text.contains(credential), "greeting lacks {credential}:\n{text}");
    }
    // The two requests it suggests work as printed.
    let bearer = format!("curl -H 'authorization: Bearer {ASSISTANT}' {}/orders", app.base);
    assert!(text.contains(&bearer), "no bearer request in:\n{text}");
    app.get("/orders", &Caller::bearer(ASSISTANT)).await.assert_ok(200);
    assert!(text.contains(&format!("{}/login", app.base)), "no login request in:\n{text}");
    app.user("alice").await;
}
