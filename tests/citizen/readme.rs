//! The README's recipe is `recipe.rs`, quoted verbatim, and it works.

use axum::body::Body;
use axum::http::{HeaderValue, Request};
use tower::ServiceExt;
use tracing_subscriber::layer::SubscriberExt;

use crate::app::{actions, bearer};
use crate::capture::Captured;

const README: &str = include_str!("../../README.md");
const RECIPE: &str = include_str!("recipe.rs");

#[test]
fn the_readme_quotes_the_recipe_verbatim() {
    let (_, after_begin) = README.split_once("<!-- layers:begin").expect("README.md lacks <!-- layers:begin");
    let (block, _) = after_begin.split_once("<!-- layers:end -->").expect("README.md lacks <!-- layers:end -->");
    let (_, code) = block.split_once("```rust\n").expect("no ```rust block between the markers");
    let (quoted, _) = code.rsplit_once("```").expect("unterminated ```rust block");
    assert!(
        quoted == RECIPE,
        "README.md's recipe differs from tests/citizen/recipe.rs: paste the file between the markers"
    );
}

#[tokio::test]
async fn the_span_learns_the_caller_and_the_request_id() {
    let captured = Captured::default();
    let _one = crate::capture::one_subscriber_at_a_time().await;
    let _subscriber = tracing::subscriber::set_default(tracing_subscriber::registry().with(captured.clone()));
    // Another test's thread may have met these callsites first, with no
    // subscriber, and cached "never interested": ask again, for this one.
    tracing::callsite::rebuild_interest_cache();
    let app = crate::recipe::app(actions().await, HeaderValue::from_static("https://shop.example"));
    let answer = app.oneshot(bearer("GET", "/report")).await.expect("answer");
    assert_eq!(answer.status(), 200);
    assert_eq!(
        captured.values("principal"),
        ["svc-reporter"],
        "request_id: {:?}, method: {:?}",
        captured.values("request_id"),
        captured.values("method")
    );
    let id = answer.headers()["x-request-id"].to_str().expect("ascii").to_owned();
    assert_eq!(id.len(), 36, "a UUID from SetRequestIdLayer: {id}");
    assert_eq!(captured.values("request_id").len(), 1);
}

#[tokio::test]
async fn cors_preflights_are_answered_for_the_front_end_only() {
    let app = crate::recipe::app(actions().await, HeaderValue::from_static("https://shop.example"));
    let preflight = |origin: &'static str| {
        Request::builder()
            .method("OPTIONS")
            .uri("/report")
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .body(Body::empty())
            .expect("request")
    };
    let allowed = app.clone().oneshot(preflight("https://shop.example")).await.expect("answer");
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://shop.example");
    // A fixed origin is always named: another site's browser sees it is not
    // its own and refuses.
    let other = app.oneshot(preflight("https://evil.example")).await.expect("answer");
    assert_eq!(other.headers()["access-control-allow-origin"], "https://shop.example");
}
