//! The pages that are not a view of a JSON route: the login page and the
//! stylesheet every page links.

use axum::extract::Query;
use axum::http::header;
use axum::response::IntoResponse;
use guard_runtime::action;
use maud::Markup;
use serde::Deserialize;

/// `GET /login?next=…`: where guard sends a signed-out browser from a page.
#[derive(Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    next: String,
}

/// The login form. `next` goes into a hidden field as it came (escaped);
/// the form's action checks it before following it.
#[action(GET "/login", public = "the login page: a form, no data")]
pub async fn login_page(Query(query): Query<LoginQuery>) -> Markup {
    crate::html::login::form(&query.next, None)
}

/// The app's only stylesheet: served by the app, never from a CDN.
#[action(GET "/static/app.css", public = "the pages' stylesheet: a static file")]
pub async fn stylesheet() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("../html/app.css"))
}
