//! What a newcomer's browser finds: an index page and the API description.

use axum::http::header;
use axum::response::{Html, IntoResponse};
use guard_runtime::action;

/// The contract, as it is in the repository (`examples/orders/API.md`).
pub const API_DESCRIPTION: &str = include_str!("../../API.md");

#[action(GET "/", public = "index page: static HTML linking to the API description")]
pub async fn index() -> Html<&'static str> {
    Html(include_str!("index.html"))
}

#[action(GET "/api", public = "API description: the published contract, no data")]
pub async fn api_description() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], API_DESCRIPTION)
}
