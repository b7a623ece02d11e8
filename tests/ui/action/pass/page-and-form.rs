//! A page (`page`: signed out, a browser goes to the login page) and the
//! form it shows, posted as `Form<T>` with an owner key from the form.
use axum::response::{Html, Redirect};
use guard_runtime::authn::{MemoryTokenStore, Tokens};
use guard_runtime::{action, Actions, Authorized, Form, Resolvers, RolePolicy, CSRF_FIELD};

#[derive(serde::Deserialize, serde::Serialize)]
struct Rename {
    doc_id: String,
    name: String,
}

#[action(GET "/docs", requires = "docs:read", page)]
async fn docs_page(auth: Authorized) -> Html<String> {
    let token = auth.csrf_token().unwrap_or_default();
    Html(format!(
        r#"<form method="post" action="/docs/rename"><input type="hidden" name="{CSRF_FIELD}" value="{token}"></form>"#
    ))
}

#[action(POST "/docs/rename", requires = "docs:write", owner = "doc_id")]
async fn rename(_auth: Authorized, Form(input): Form<Rename>) -> Redirect {
    let _ = (input.doc_id, input.name);
    Redirect::to("/docs")
}

fn app() -> axum::Router {
    let resolvers = Resolvers::new().with("docs", guard_runtime::resolve::from_fn(|_key| async { Ok(None) }));
    Actions::new(RolePolicy::new(), Tokens::new(MemoryTokenStore::new()), resolvers)
        .login_page("/sign-in")
        .mount(docs_page)
        .mount(rename)
        .into_router(())
}

fn main() {
    let _ = app;
}
