//! A tiny guarded app for these tests: one service key, one guarded
//! action, one action that refuses with the app's own code.

use guard_runtime::authn::{MemoryTokenStore, Tokens};
use guard_runtime::{action, ActionError, Actions, AppCode, Authorized, Code, Principal, Resolvers, RolePolicy};

pub const KEY: &str = "citizen-demo-key";

/// The app's own refusal: stock ran out between the page and the click.
pub const OUT_OF_STOCK: AppCode = AppCode::new(409, "out_of_stock");

#[action(GET "/report", requires = "reports:read")]
async fn report(auth: Authorized) -> String {
    format!("report for {}", auth.principal().id)
}

#[action(POST "/reserve", requires = "reports:read")]
async fn reserve(_auth: Authorized) -> Result<&'static str, ActionError> {
    Err(ActionError::new(Code::App(OUT_OF_STOCK)).with_detail("Only 0 left."))
}

/// The actions, with `svc-reporter` holding the key [`KEY`].
pub async fn actions() -> Actions {
    let tokens = Tokens::new(MemoryTokenStore::new());
    let mut reporter = Principal::service("svc-reporter", "acme", ["reports:read"]);
    reporter.credential_id = "key:svc-reporter".into();
    tokens.issue(KEY, reporter).await.expect("in-memory store");
    Actions::new(RolePolicy::new(), tokens, Resolvers::new()).mount(report).mount(reserve)
}

pub fn bearer(method: &str, uri: &str) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {KEY}"))
        .body(axum::body::Body::empty())
        .expect("request")
}

pub async fn body_text(response: axum::response::Response) -> String {
    use http_body_util::BodyExt;
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}
