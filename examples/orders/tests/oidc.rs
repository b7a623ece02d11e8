//! JWT credentials from an OIDC issuer (`--oidc-issuer`, `--oidc-audience`),
//! end to end: a test issuer on 127.0.0.1 with an Ed25519 key made at run
//! time, serving its OpenID configuration and JWKS over HTTP, and the real
//! binary trusting it.

mod common;

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Router;
use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{json, Value};

const AUDIENCE: &str = "orders";
const KID: &str = "test-key-1";

/// A test identity provider on its own thread and runtime: the app it
/// serves is started synchronously by the test, and discovers it meanwhile.
#[derive(Clone)]
struct Idp {
    url: String,
    jwk: Value,
    /// Whether the JWKS endpoint answers (else 503).
    up: Arc<AtomicBool>,
}

struct Signer {
    idp: Idp,
    key: EncodingKey,
}

fn random32() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("randomness");
    bytes
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs()
}

/// Unpadded base64url.
fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

impl Signer {
    fn start() -> Signer {
        use ed25519_dalek::pkcs8::EncodePrivateKey;
        let secret = ed25519_dalek::SigningKey::from_bytes(&random32());
        let der = secret.to_pkcs8_der().expect("pkcs8");
        let key = EncodingKey::from_ed_der(der.as_bytes());
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": KID,
            "x": b64(secret.verifying_key().as_bytes())});
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let idp = Idp { url: format!("http://{addr}"), jwk, up: Arc::new(AtomicBool::new(true)) };
        let served = idp.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let router = Router::new()
                    .route(
                        "/.well-known/openid-configuration",
                        axum::routing::get(|State(idp): State<Idp>| async move {
                            axum::Json(json!({"issuer": idp.url, "jwks_uri": format!("{}/jwks", idp.url)}))
                        }),
                    )
                    .route(
                        "/jwks",
                        axum::routing::get(|State(idp): State<Idp>| async move {
                            if !idp.up.load(Ordering::SeqCst) {
                                return StatusCode::SERVICE_UNAVAILABLE.into_response();
                            }
                            axum::Json(json!({"keys": [idp.jwk]})).into_response()
                        }),
                    )
                    .with_state(served);
                axum::serve(listener, router).await.expect("serve");
            });
        });
        Signer { idp, key }
    }

    /// A token of this issuer for `sub`, valid for 5 minutes, with `extra`
    /// merged in (and overriding).
    fn mint(&self, sub: &str, extra: Value) -> String {
        static JTI: AtomicUsize = AtomicUsize::new(0);
        let mut claims = json!({
            "iss": self.idp.url, "aud": AUDIENCE, "sub": sub, "iat": now(), "exp": now() + 300,
            "jti": format!("jti-{}", JTI.fetch_add(1, Ordering::SeqCst)),
        });
        if let (Value::Object(claims), Value::Object(extra)) = (&mut claims, extra) {
            claims.extend(extra);
        }
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(KID.to_owned());
        jsonwebtoken::encode(&header, &claims, &self.key).expect("token")
    }

    fn bearer(&self, sub: &str, extra: Value) -> Caller {
        Caller::Bearer(self.mint(sub, extra))
    }

    /// The app, trusting this issuer for the audience `orders`.
    fn app(&self) -> App {
        App::start(&["--oidc-issuer", &self.idp.url, "--oidc-audience", AUDIENCE])
    }
}

async fn capture(app: &App, id: &Value, caller: &Caller, key: &str) -> Resp {
    send(app.request(Method::POST, &format!("/payments/{id}/capture"), caller).header("idempotency-key", key)).await
}

const BILLING_SCOPES: &str = "orders:read payments:capture";

#[tokio::test(flavor = "multi_thread")]
async fn issuer_tokens_are_mapped_to_the_apps_own_principals() {
    let issuer = Signer::start();
    let app = issuer.app();
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let a = app.create_order(&alice, "lamp").await;
    let a2 = app.create_order(&alice, "rug").await;
    let a3 = app.create_order(&alice, "vase").await;
    let b = app.create_order(&bob, "chair").await;

    // A production service token captures; a staging one is refused by the
    // binding, and the order stays as it was.
    let production = issuer.bearer("svc-billing", json!({"scope": BILLING_SCOPES, "environment": "production"}));
    let done = capture(&app, &a["id"], &production, "jwt-1").await.assert_ok(200);
    assert_eq!(done["status"], "captured");
    let staging = issuer.bearer("svc-billing", json!({"scope": BILLING_SCOPES, "environment": "staging"}));
    capture(&app, &a2["id"], &staging, "jwt-2").await.assert_problem(403, "binding_failed");
    let no_environment = issuer.bearer("svc-billing", json!({"scope": BILLING_SCOPES}));
    capture(&app, &a2["id"], &no_environment, "jwt-3").await.assert_problem(403, "binding_failed");
    assert_eq!(app.read_as_admin(&a2["id"]).await["status"], "new");
    // The token narrows the registered scopes, never widens them: without
    // `payments:capture` in its scope, a production token cannot capture.
    let read_only = issuer.bearer("svc-billing", json!({"scope": "orders:read", "environment": "production"}));
    capture(&app, &a2["id"], &read_only, "jwt-4").await.assert_problem(403, "forbidden");
    assert_eq!(app.read_as_admin(&a2["id"]).await["status"], "new");
    // The demo API key still captures: its stored claims say production.
    capture(&app, &a3["id"], &Caller::bearer(SVC_KEY), "key-1").await.assert_ok(200);

    // The assistant, acting for alice, reads her orders, not bob's.
    let assistant = issuer.bearer("alice", json!({"scope": "orders:read", "act": {"sub": "assistant"}}));
    let read = app.get(&format!("/orders/{}", a2["id"]), &assistant).await.assert_ok(200);
    assert_eq!(read["owner"], "alice");
    app.get(&format!("/orders/{}", b["id"]), &assistant).await.assert_problem(404, "not_found");
    // A scope wider than registered gives nothing more.
    let wider =
        issuer.bearer("alice", json!({"scope": "orders:read orders:write orders:*", "act": {"sub": "assistant"}}));
    app.get(&format!("/orders/{}", a2["id"]), &wider).await.assert_ok(200);
    let order = json!({"item": "pen", "quantity": 1, "address": "1 Main St"});
    app.post("/orders", &wider, order.clone()).await.assert_problem(403, "forbidden");
    app.post_empty(&format!("/orders/{}/cancel", a2["id"]), &wider).await.assert_problem(403, "forbidden");
    // The helper (bob's agent, `orders:*`) writes bob's orders through a
    // token, within its narrowed scope.
    let helper = issuer.bearer("bob", json!({"scope": "orders:write", "act": {"sub": "helper"}}));
    let created = app.post("/orders", &helper, order.clone()).await.assert_ok(201);
    assert_eq!(created["owner"], "bob");

    // Refused outright (401): not this app's principal, or not a valid token.
    let refused = [
        ("expired", issuer.bearer("svc-billing", json!({"scope": BILLING_SCOPES, "exp": now() - 120}))),
        ("wrong audience", issuer.bearer("svc-billing", json!({"scope": BILLING_SCOPES, "aud": "billing"}))),
        ("not yet valid", issuer.bearer("svc-billing", json!({"scope": BILLING_SCOPES, "nbf": now() + 600}))),
        ("issued in the future", issuer.bearer("svc-billing", json!({"scope": BILLING_SCOPES, "iat": now() + 600}))),
        ("unknown service", issuer.bearer("svc-unknown", json!({"scope": BILLING_SCOPES}))),
        ("a user without act", issuer.bearer("alice", json!({"scope": "orders:read"}))),
        ("another user's agent", issuer.bearer("bob", json!({"scope": "orders:read", "act": {"sub": "assistant"}}))),
        ("unknown agent", issuer.bearer("alice", json!({"scope": "orders:read", "act": {"sub": "ghost"}}))),
        ("act without an actor", issuer.bearer("alice", json!({"scope": "orders:read", "act": {}}))),
    ];
    for (why, caller) in &refused {
        let resp = app.get(&format!("/orders/{}", a["id"]), caller).await;
        assert_eq!(resp.status, 401, "{why}: {}", resp.text());
        resp.assert_problem(401, "unauthenticated");
    }
    // Audience as a list containing ours: accepted.
    let listed = issuer.bearer("svc-billing", json!({"scope": "orders:read", "aud": ["billing", AUDIENCE]}));
    app.get(&format!("/orders/{}", a["id"]), &listed).await.assert_ok(200);

    // Disabling alice stops her agent's tokens at once.
    let carol = app.user("carol").await;
    app.post_empty("/admin/users/alice/disable", &carol).await.assert_ok(204);
    app.get(&format!("/orders/{}", a2["id"]), &assistant).await.assert_problem(401, "unauthenticated");

    // The audit log names the JWT's principal, and the agent's user.
    let dir = app.stop();
    let records = read_audit(&dir.path().join("audit.jsonl"));
    let allowed = |principal: &str, action: &str| {
        records
            .iter()
            .find(|r| r["principal"] == principal && r["action"] == action && r["decision"] == "allow")
            .unwrap_or_else(|| panic!("no allowed {action} by {principal}"))
            .clone()
    };
    let captured = allowed("svc-billing", "capture_payment");
    assert_eq!((captured["principal_kind"].as_str(), &captured["on_behalf_of"]), (Some("service"), &Value::Null));
    let agent = allowed("assistant", "get_order");
    assert_eq!((agent["principal_kind"].as_str(), agent["on_behalf_of"].as_str()), (Some("agent"), Some("alice")));
    let bound =
        records.iter().find(|r| r["code"] == "binding_failed").unwrap_or_else(|| panic!("no binding_failed record"));
    assert_eq!((bound["principal"].as_str(), bound["claim"].as_str()), (Some("svc-billing"), Some("environment")));
    // Every JWT starts with `eyJ` (`{"` in base64url): none is logged.
    let text = std::fs::read_to_string(dir.path().join("audit.jsonl")).expect("audit");
    assert!(!text.contains("eyJ"), "a token in the audit log");
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_that_cannot_be_fetched_are_503_until_the_jwks_answers() {
    let issuer = Signer::start();
    let app = issuer.app();
    issuer.idp.up.store(false, Ordering::SeqCst);
    let service = issuer.bearer("svc-billing", json!({"scope": "orders:read"}));
    app.get("/orders", &service).await.assert_problem(503, "unavailable");
    // The demo credentials do not depend on the issuer.
    app.get("/orders", &Caller::bearer(SVC_KEY)).await.assert_ok(200);
}

#[test]
fn the_oidc_flags_come_both_or_neither_and_the_issuer_must_answer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("never.db");
    let db = db.to_str().expect("path");
    // A port nothing listens on: bound, then released.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    let unreachable = format!("http://{closed}");
    type Env<'a> = Vec<(&'a str, &'a str)>;
    let cases: Vec<(Vec<&str>, Env)> = vec![
        (vec!["--db", db, "--oidc-issuer", "http://127.0.0.1:9"], vec![]),
        (vec!["--db", db, "--oidc-audience", "orders"], vec![]),
        (vec!["--db", db], vec![("ORDERS_OIDC_ISSUER", "http://127.0.0.1:9")]),
        (vec!["--db", db], vec![("ORDERS_OIDC_AUDIENCE", "orders")]),
        (vec!["--db", db, "--oidc-issuer", "not a url", "--oidc-audience", "orders"], vec![]),
        (vec!["--db", db, "--addr", "127.0.0.1:0", "--oidc-issuer", &unreachable, "--oidc-audience", "orders"], vec![]),
    ];
    for (args, env) in cases {
        let out = command(&args).envs(env.iter().copied()).stdin(Stdio::null()).output().expect("run binary");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: stderr is not one line: {stderr:?}");
        assert!(stderr.contains("--oidc-"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: wrote to stdout");
    }
    let left: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
    assert!(left.is_empty(), "a failed start left files behind");
}
