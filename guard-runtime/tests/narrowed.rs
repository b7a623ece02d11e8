//! Narrowed tokens for downstream calls, over real HTTP on 127.0.0.1: three
//! guarded apps, A → B → C, each with its own signing key published at its
//! own `/.well-known/jwks.json`, each trusting the one before it with the
//! JWT authenticator. An action of A mints a token for B, narrowed to the
//! caller, one permission, the order and the request, and calls B; B's
//! action does the same for C. Replaying a token for another order, for a
//! wider permission, for the collection, or after it expired is refused,
//! and the refused bodies never run.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{Method, Request, StatusCode};
use bytes::Bytes;
use guard_runtime::authn::jwt::{Issuer, Jwt, Minter};
use guard_runtime::authn::{MemoryTokenStore, Tokens};
use guard_runtime::{
    action, resolve, ActionError, Actions, Authorized, Code, Delegation, Json, ObjectMeta, Principal, Resolvers,
    RolePolicy,
};
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};

/// One hop's state: its minter, the next hop, and how often a write body
/// ran.
#[derive(Clone)]
struct Hop {
    minter: Arc<Minter>,
    next: Option<Next>,
    writes: Arc<AtomicUsize>,
}

/// Where a hop's onward call goes: the next app's URL and name (the
/// audience of the token), and the path after `/orders/{id}` it calls.
#[derive(Clone)]
struct Next {
    url: String,
    name: &'static str,
    suffix: &'static str,
}

#[derive(serde::Deserialize)]
struct Mint {
    permission: String,
    lifetime: u64,
}

/// Who the caller is, as this hop sees it.
#[action(GET "/orders/{id}", requires = "orders:read", owner = "id")]
async fn who_is_calling(auth: Authorized, Path(id): Path<String>) -> Json<Value> {
    let principal = auth.principal();
    Json(json!({
        "order": id,
        "principal": principal.id,
        "kind": principal.kind.as_str(),
        "user": principal.on_behalf_of.as_ref().map(|d| d.user.clone()),
        "act": principal.claims.act_chain(),
        "scope": principal.claims.get("scope"),
        "txn": principal.claims.get("txn"),
    }))
}

/// A write: its body counts its runs, so a refusal can show it never ran.
#[action(POST "/orders/{id}/cancel", requires = "orders:write", owner = "id")]
async fn cancel(_auth: Authorized, State(hop): State<Hop>) -> StatusCode {
    hop.writes.fetch_add(1, Ordering::SeqCst);
    StatusCode::NO_CONTENT
}

/// The collection: no object.
#[action(GET "/orders", requires = "orders:read")]
async fn list(_auth: Authorized) -> Json<Value> {
    Json(json!([]))
}

/// Mints a token for the next hop, narrowed to this request, and calls it
/// (if there is a next hop) with it.
#[action(GET "/orders/{id}/onward", requires = "orders:read", owner = "id")]
async fn onward(
    auth: Authorized,
    State(hop): State<Hop>,
    Path(id): Path<String>,
    Query(mint): Query<Mint>,
) -> Result<Json<Value>, ActionError> {
    let audience = hop.next.as_ref().map_or("nobody", |next| next.name);
    let token = hop
        .minter
        .mint(&auth, audience, &mint.permission, Duration::from_secs(mint.lifetime))
        .map_err(|err| ActionError::new(Code::Forbidden).with_detail(err.to_string()))?;
    let downstream = match &hop.next {
        Some(next) => {
            let url = format!("{}/orders/{id}{}?permission=orders:read&lifetime=30", next.url, next.suffix);
            let (status, body) = send(Method::GET, &url, Some(&token)).await;
            json!({ "status": status.as_u16(), "body": body })
        }
        None => Value::Null,
    };
    Ok(Json(json!({ "token": token, "request_id": auth.request_id(), "downstream": downstream })))
}

// ------------------------------------------------------------------ apps

fn p256_key() -> Vec<u8> {
    use p256::pkcs8::EncodePrivateKey;
    let key = std::iter::repeat_with(|| {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("randomness");
        p256::SecretKey::from_slice(&bytes)
    })
    .find_map(Result::ok)
    .expect("p256 key");
    key.to_pkcs8_der().expect("pkcs8").as_bytes().to_vec()
}

/// Orders 1 and 2 of alice, in tenant acme.
fn resolvers() -> Resolvers {
    Resolvers::new().with(
        "orders",
        resolve::from_fn(|key| async move {
            Ok(matches!(key.as_str(), "1" | "2").then(|| ObjectMeta::owned("acme", "alice")))
        }),
    )
}

struct App {
    url: String,
    writes: Arc<AtomicUsize>,
}

struct Bound {
    listener: tokio::net::TcpListener,
    url: String,
}

async fn bind() -> Bound {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    Bound { listener, url }
}

/// The hop `name` on `bound`: it trusts JWTs of the issuer at `upstream`
/// (audience: its own name, no leeway, so a token is refused the second it
/// expires) and alice's assistant's API token; its onward calls go to
/// `next`. Its key is its own, published at its `/.well-known/jwks.json`.
async fn start(bound: Bound, name: &'static str, upstream: Option<&str>, next: Option<Next>) -> App {
    let Bound { listener, url } = bound;
    let minter = Arc::new(Minter::es256(url.clone(), name, format!("{name}-key-1"), &p256_key()).expect("minter"));
    let tokens = Tokens::new(MemoryTokenStore::new());
    let delegation = Delegation { user: "alice".into(), roles: vec!["customer".into()] };
    tokens.issue(ASSISTANT, Principal::agent("assistant", "acme", ["orders:*"], delegation)).await.expect("issue");
    let mut jwt = Jwt::builder();
    if let Some(upstream) = upstream {
        let issuer = Issuer::new(upstream, name, format!("{upstream}/.well-known/jwks.json")).leeway(Duration::ZERO);
        jwt = jwt.issuer(issuer);
    }
    let writes = Arc::new(AtomicUsize::new(0));
    let hop = Hop { minter: minter.clone(), next, writes: writes.clone() };
    let policy = RolePolicy::new().role("customer", ["orders:read", "orders:write"]);
    let router = Actions::new(policy, (tokens, jwt.build()), resolvers())
        .mount(who_is_calling)
        .mount(cancel)
        .mount(list)
        .mount(onward)
        .into_router(hop)
        .merge(minter.jwks_router());
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    App { url, writes }
}

const ASSISTANT: &str = "assistant-api-token";

/// A → B → C, each trusting the one before it.
async fn chain() -> (App, App, App) {
    let (a, b, c) = (bind().await, bind().await, bind().await);
    let (a_url, b_url, c_url) = (a.url.clone(), b.url.clone(), c.url.clone());
    let a = start(a, "app-a", None, Some(Next { url: b_url.clone(), name: "app-b", suffix: "/onward" })).await;
    let b = start(b, "app-b", Some(&a_url), Some(Next { url: c_url, name: "app-c", suffix: "" })).await;
    let c = start(c, "app-c", Some(&b_url), None).await;
    (a, b, c)
}

/// One HTTP/1.1 request on a fresh connection: the status and the JSON body.
async fn send(method: Method, url: &str, bearer: Option<&str>) -> (StatusCode, Value) {
    let uri: axum::http::Uri = url.parse().expect("url");
    let authority = uri.authority().expect("authority").as_str().to_owned();
    let stream = tokio::net::TcpStream::connect(&authority).await.expect("connect");
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, Full<Bytes>>(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(connection);
    let mut request =
        Request::builder().method(method).uri(uri.path_and_query().expect("path").as_str()).header("host", authority);
    if let Some(bearer) = bearer {
        request = request.header("authorization", format!("Bearer {bearer}"));
    }
    let response =
        sender.send_request(request.body(Full::new(Bytes::new())).expect("request")).await.expect("response");
    let status = response.status();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    (status, if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("JSON") })
}

/// A's token for B, minted by A's `onward` for alice's assistant on
/// `order`, with `permission` and `lifetime`; and A's whole answer.
async fn mint_at_a(a: &App, order: &str, permission: &str, lifetime: u64) -> (StatusCode, Value) {
    let url = format!("{}/orders/{order}/onward?permission={permission}&lifetime={lifetime}", a.url);
    send(Method::GET, &url, Some(ASSISTANT)).await
}

#[track_caller]
fn problem(answer: &(StatusCode, Value), status: u16, code: &str) {
    assert_eq!(answer.0.as_u16(), status, "{}", answer.1);
    assert_eq!(answer.1["code"], code, "{}", answer.1);
}

#[tokio::test]
async fn an_upstream_action_calls_downstream_with_a_narrowed_token_two_hops_deep() {
    let (a, _b, _c) = chain().await;
    let (status, answer) = mint_at_a(&a, "1", "orders:read", 30).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    // A called B, and B called C: C sees alice, with B acting now, A before
    // it, and alice's assistant first.
    let at_b = &answer["downstream"];
    assert_eq!(at_b["status"], 200, "{answer}");
    let at_c = &at_b["body"]["downstream"];
    assert_eq!(at_c["status"], 200, "{answer}");
    let whoami = &at_c["body"];
    assert_eq!(whoami["user"], "alice");
    assert_eq!(whoami["kind"], "agent");
    assert_eq!(whoami["principal"], "app-b");
    assert_eq!(whoami["act"], json!(["app-b", "app-a", "assistant"]));
    assert_eq!(whoami["scope"], "orders:read");
    assert_eq!(whoami["order"], "1");
    // Each token names the request that minted it.
    assert_eq!(whoami["txn"], at_b["body"]["request_id"]);

    // A's token, claim by claim.
    let claims = decode(answer["token"].as_str().unwrap());
    assert_eq!(claims["iss"], a.url);
    assert_eq!(claims["aud"], "app-b");
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["act"], json!({ "sub": "app-a", "act": { "sub": "assistant" } }));
    assert_eq!(claims["scope"], "orders:read");
    assert_eq!(claims["guard_object"], "orders/1");
    assert_eq!(claims["txn"], answer["request_id"]);
    assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 30);
}

#[tokio::test]
async fn a_narrowed_token_does_no_more_than_its_grant() {
    let (a, b, _c) = chain().await;
    let (status, answer) = mint_at_a(&a, "1", "orders:read", 30).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let token = answer["token"].as_str().unwrap();
    // For its own order and permission, at B: alice's, through A.
    let (status, whoami) = send(Method::GET, &format!("{}/orders/1", b.url), Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{whoami}");
    assert_eq!((whoami["user"].as_str(), whoami["principal"].as_str()), (Some("alice"), Some("app-a")));
    // Another order of the same owner: 404, like a miss.
    problem(&send(Method::GET, &format!("{}/orders/2", b.url), Some(token)).await, 404, "not_found");
    // A wider permission (a write): 403, and the body never ran.
    problem(&send(Method::POST, &format!("{}/orders/1/cancel", b.url), Some(token)).await, 403, "forbidden");
    assert_eq!(b.writes.load(Ordering::SeqCst), 0);
    // The collection: the grant was for one order.
    problem(&send(Method::GET, &format!("{}/orders", b.url), Some(token)).await, 403, "forbidden");
    // At the wrong audience (A itself, and C trusts only B): no principal.
    problem(&send(Method::GET, &format!("{}/orders/1", a.url), Some(token)).await, 401, "unauthenticated");
    // The refusals were the token's narrowing, not the caller's rights:
    // the assistant's own key (which every hop here accepts) may write.
    assert_eq!(
        send(Method::POST, &format!("{}/orders/1/cancel", b.url), Some(ASSISTANT)).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(b.writes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn minting_refuses_a_permission_the_caller_lacks_and_long_lifetimes() {
    let (a, _b, _c) = chain().await;
    // `onward` requires orders:read: the assistant holds orders:write too,
    // but the guard did not check it for this request.
    let wider = mint_at_a(&a, "1", "orders:write", 30).await;
    problem(&wider, 403, "forbidden");
    assert!(wider.1["detail"].as_str().unwrap().contains("orders:write"), "{}", wider.1);
    problem(&mint_at_a(&a, "1", "orders:*", 30).await, 403, "forbidden");
    problem(&mint_at_a(&a, "1", "payments:capture", 30).await, 403, "forbidden");
    let long = mint_at_a(&a, "1", "orders:read", 61).await;
    problem(&long, 403, "forbidden");
    assert!(long.1["detail"].as_str().unwrap().contains("60 seconds"), "{}", long.1);
    problem(&mint_at_a(&a, "1", "orders:read", 0).await, 403, "forbidden");
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let (a, b, _c) = chain().await;
    let (status, answer) = mint_at_a(&a, "1", "orders:read", 1).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let token = answer["token"].as_str().unwrap().to_owned();
    let claims = decode(&token);
    assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 1);
    // Past `exp` (B allows no leeway), whatever the clock's second.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    problem(&send(Method::GET, &format!("{}/orders/1", b.url), Some(&token)).await, 401, "unauthenticated");
}

/// A JWT's claims, unverified (the test reads what it was given).
fn decode(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&base64_decode(payload)).expect("claims")
}

/// Unpadded base64url.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => panic!("not base64url"),
    };
    let bits: Vec<u8> = text.bytes().map(value).collect();
    bits.chunks(4)
        .flat_map(|chunk| {
            let n = chunk.iter().enumerate().fold(0u32, |n, (i, v)| n | (u32::from(*v) << (18 - 6 * i)));
            let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            bytes.into_iter().take(chunk.len() - 1)
        })
        .collect()
}
