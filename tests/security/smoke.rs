use axum::body::Body;
use axum::http::Request;
use guard_runtime::authn::{MemoryTokenStore, Tokens};
use guard_runtime::{
    action, resolve, ActionError, Actions, Authorized, Json, ObjectMeta, Principal, Resolvers, RolePolicy,
};
use tower::ServiceExt;

#[derive(serde::Deserialize, serde::Serialize)]
struct Rename {
    name: String,
}

#[action(POST "/widgets/{widget_id}/name", requires = "widgets:write", owner = "widget_id")]
async fn rename(auth: Authorized, Json(input): Json<Rename>) -> Result<String, ActionError> {
    Ok(format!("{} renamed it to {}", auth.principal().id, input.name))
}

#[tokio::test]
async fn smoke() {
    let tokens = Tokens::new(MemoryTokenStore::new());
    let mut p = Principal::user("alice", "acme", ["editor"]);
    p.credential_id = "k1".into();
    tokens.issue("tok", p).await.unwrap();
    let resolvers = Resolvers::new().with(
        "widgets",
        resolve::from_fn(|k: String| async move { Ok((k == "1").then(|| ObjectMeta::owned("acme", "alice"))) }),
    );
    let app = Actions::new(RolePolicy::new().role("editor", ["widgets:write"]), tokens, resolvers)
        .mount(rename)
        .into_router(());
    let res = app
        .clone()
        .oneshot(
            Request::post("/widgets/1/name")
                .header("authorization", "Bearer tok")
                .header("content-type", "application/json")
                .body(Body::from(r#"{"name":"x"}"#))
                .unwrap(),
        )
        .await
        .unwrap();
    println!("{:?}", res);
    let b = axum::body::to_bytes(res.into_body(), 10000).await.unwrap();
    println!("{}", String::from_utf8_lossy(&b));
    let res = app
        .clone()
        .oneshot(
            Request::post("/widgets/2/name")
                .header("authorization", "Bearer tok")
                .header("content-type", "application/json")
                .body(Body::from(r#"{"name":"x"}"#))
                .unwrap(),
        )
        .await
        .unwrap();
    let b = axum::body::to_bytes(res.into_body(), 10000).await.unwrap();
    println!("{}", String::from_utf8_lossy(&b));
}
