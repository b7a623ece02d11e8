//! A public action states why it is safe, and takes no `Authorized`.
use guard_runtime::authn::{MemoryTokenStore, Tokens};
use guard_runtime::{action, Actions, Json, Resolvers, RolePolicy};

#[derive(serde::Deserialize, serde::Serialize)]
struct Signup {
    email: String,
}

#[action(POST "/signup", public = "sign-up form: creates an unverified account only", replay, limit = 1024)]
async fn signup(Json(input): Json<Signup>) -> String {
    format!("welcome, {}", input.email)
}

fn app() -> axum::Router {
    Actions::new(RolePolicy::new(), Tokens::new(MemoryTokenStore::new()), Resolvers::new())
        .mount(signup)
        .into_router(())
}

fn main() {
    let _ = app;
}
