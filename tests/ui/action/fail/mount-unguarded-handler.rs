use axum::http::Method;
use guard_runtime::authn::{MemoryTokenStore, Tokens};
use guard_runtime::{Actions, Resolvers, RolePolicy};

async fn delete_everything() -> &'static str {
    "gone"
}

fn main() {
    let _ = Actions::new(RolePolicy::new(), Tokens::new(MemoryTokenStore::new()), Resolvers::new())
        .mount_at(Method::POST, "/danger", delete_everything);
}
