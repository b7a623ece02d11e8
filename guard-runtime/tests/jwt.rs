//! JWT credentials end to end, on real components: an issuer that makes its
//! own keys at run time (RSA 2048, P-256, Ed25519), serves its OpenID
//! configuration and JWKS over HTTP on 127.0.0.1, and mints tokens; a small
//! guarded app driven with `tower::ServiceExt::oneshot`. Every refusal
//! asserts the exact status, the problem `code`, and that the body did not
//! run.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use guard_runtime::authn::jwt::{Algorithm, ClaimsMapping, HttpFetcher, Issuer, Jwt, MapClaims, VerifiedToken};
use guard_runtime::authn::{MemorySessionStore, MemoryTokenStore, Sessions, Tokens};
use guard_runtime::{
    action, Actions, Authenticator, Authorized, ObjectMeta, Principal, Resolvers, RolePolicy, StoreError, StoreFuture,
};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{json, Value};
use tower::ServiceExt;

// ---------------------------------------------------------------- keys

/// A signing key and its public JWK (without a `kid`: the issuer names it).
struct KeyPair {
    alg: Algorithm,
    encoding: EncodingKey,
    public: Jwk,
    /// The public key as PEM and DER, for the HMAC-confusion attack.
    public_pem: Vec<u8>,
    public_der: Vec<u8>,
}

fn pair(alg: Algorithm, encoding: EncodingKey, public_pem: Vec<u8>, public_der: Vec<u8>) -> KeyPair {
    let public = Jwk::from_encoding_key(&encoding, alg).expect("public jwk");
    KeyPair { alg, encoding, public, public_pem, public_der }
}

fn rsa() -> &'static KeyPair {
    static KEY: OnceLock<KeyPair> = OnceLock::new();
    KEY.get_or_init(|| {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::pkcs8::{EncodePublicKey, LineEnding};
        let key = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048).expect("rsa key");
        let der = key.to_pkcs1_der().expect("pkcs1");
        let public = key.to_public_key();
        let pem = public.to_public_key_pem(LineEnding::LF).expect("pem").into_bytes();
        let public_der = public.to_public_key_der().expect("der").into_vec();
        pair(Algorithm::RS256, EncodingKey::from_rsa_der(der.as_bytes()), pem, public_der)
    })
}

fn random32() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("randomness");
    bytes
}

fn p256() -> &'static KeyPair {
    static KEY: OnceLock<KeyPair> = OnceLock::new();
    KEY.get_or_init(|| {
        use p256::pkcs8::EncodePrivateKey;
        let key =
            std::iter::repeat_with(|| p256::SecretKey::from_slice(&random32())).find_map(Result::ok).expect("p256 key");
        let der = key.to_pkcs8_der().expect("pkcs8");
        pair(Algorithm::ES256, EncodingKey::from_ec_der(der.as_bytes()), Vec::new(), Vec::new())
    })
}

fn ed25519() -> &'static KeyPair {
    static KEY: OnceLock<KeyPair> = OnceLock::new();
    KEY.get_or_init(|| {
        use ed25519_dalek::pkcs8::EncodePrivateKey;
        let key = ed25519_dalek::SigningKey::from_bytes(&random32());
        let der = key.to_pkcs8_der().expect("pkcs8");
        // jsonwebtoken derives a JWK only from a v1 PKCS#8 document: write it.
        let x = b64(key.verifying_key().as_bytes());
        let public = serde_json::from_value(json!({"kty": "OKP", "crv": "Ed25519", "x": x, "alg": "EdDSA"}));
        let encoding = EncodingKey::from_ed_der(der.as_bytes());
        KeyPair {
            alg: Algorithm::EdDSA,
            encoding,
            public: public.expect("jwk"),
            public_pem: Vec::new(),
            public_der: Vec::new(),
        }
    })
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs()
}

// -------------------------------------------------------------- issuer

/// A test identity provider on 127.0.0.1: its JWKS can change, and its
/// endpoint can go down.
#[derive(Clone)]
struct Idp {
    url: String,
    keys: Arc<Mutex<Vec<Jwk>>>,
    up: Arc<AtomicBool>,
    fetches: Arc<AtomicUsize>,
}

impl Idp {
    async fn start() -> Idp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let idp = Idp { url, keys: Arc::default(), up: Arc::new(AtomicBool::new(true)), fetches: Arc::default() };
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
                    idp.fetches.fetch_add(1, Ordering::SeqCst);
                    if !idp.up.load(Ordering::SeqCst) {
                        return StatusCode::SERVICE_UNAVAILABLE.into_response();
                    }
                    let keys = idp.keys.lock().expect("keys").clone();
                    axum::Json(JwkSet { keys }).into_response()
                }),
            )
            .with_state(idp.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
        idp
    }

    fn publish(&self, kid: &str, key: &KeyPair) {
        let mut jwk = key.public.clone();
        jwk.common.key_id = Some(kid.to_owned());
        self.keys.lock().expect("keys").push(jwk);
    }

    fn withdraw(&self, kid: &str) {
        self.keys.lock().expect("keys").retain(|k| k.common.key_id.as_deref() != Some(kid));
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// Valid claims for a service of tenant acme, with `extra` merged in.
    fn claims(&self, extra: Value) -> Value {
        static JTI: AtomicUsize = AtomicUsize::new(0);
        let mut claims = json!({
            "iss": self.url, "aud": AUDIENCE, "sub": "svc-ci", "tenant": "acme",
            "scope": "openid orders:read", "iat": now(), "exp": now() + 300,
            "jti": format!("jti-{}", JTI.fetch_add(1, Ordering::SeqCst)),
        });
        if let (Value::Object(claims), Value::Object(extra)) = (&mut claims, extra) {
            claims.extend(extra);
        }
        claims
    }

    fn mint(&self, kid: &str, key: &KeyPair, extra: Value) -> String {
        let mut header = Header::new(key.alg);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, &self.claims(extra), &key.encoding).expect("token")
    }

    fn issuer(&self) -> Issuer {
        Issuer::new(&self.url, AUDIENCE, format!("{}/jwks", self.url))
    }
}

const AUDIENCE: &str = "orders-api";

fn b64(bytes: &[u8]) -> String {
    base64_like::encode(bytes)
}

/// Unpadded base64url, enough to forge headers by hand.
mod base64_like {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    pub(super) fn encode(bytes: &[u8]) -> String {
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            }
        }
        out
    }
}

/// An HS256 signature of `message` with `secret` as the HMAC key.
fn hs256(secret: &[u8], message: &[u8]) -> String {
    jsonwebtoken::crypto::sign(message, &EncodingKey::from_secret(secret).expect("key"), Algorithm::HS256)
        .expect("hmac")
}

// ----------------------------------------------------------------- app

#[derive(Clone, Default)]
struct Ran(Arc<AtomicUsize>);

impl Ran {
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

#[action(GET "/orders/{order_id}", requires = "orders:read", owner = "order_id")]
async fn read_order(auth: Authorized, State(ran): State<Ran>) -> String {
    ran.0.fetch_add(1, Ordering::SeqCst);
    auth.principal().id.clone()
}

#[action(POST "/orders/{order_id}/cancel", requires = "orders:cancel", owner = "order_id")]
async fn cancel_order(_auth: Authorized, State(ran): State<Ran>) -> &'static str {
    ran.0.fetch_add(1, Ordering::SeqCst);
    "cancelled"
}

/// What the body sees of the credential: claims through typed getters.
#[action(GET "/whoami", authenticated, callers = [user, service, agent])]
async fn whoami(auth: Authorized, State(ran): State<Ran>) -> axum::Json<Value> {
    ran.0.fetch_add(1, Ordering::SeqCst);
    let p = auth.principal();
    axum::Json(json!({
        "id": p.id, "kind": p.kind, "tenant": p.tenant, "credential_id": p.credential_id,
        "issuer": p.claims.issuer(), "act_chain": p.claims.act_chain(),
        "environment": p.claims.get_str("environment"),
        "on_behalf_of": p.on_behalf_of.as_ref().map(|d| d.user.clone()),
    }))
}

fn orders() -> HashMap<&'static str, ObjectMeta> {
    HashMap::from([("1", ObjectMeta::owned("acme", "alice")), ("2", ObjectMeta::owned("acme", "bob"))])
}

struct App {
    router: Router,
    ran: Ran,
}

fn app(authenticator: impl Authenticator) -> App {
    let policy = RolePolicy::new().role("customer", ["orders:read"]).tenant_role("admin", ["orders:*"]);
    let resolvers = Resolvers::new().with(
        "orders",
        guard_runtime::resolve::from_fn(|key: String| async move { Ok(orders().remove(key.as_str())) }),
    );
    let ran = Ran::default();
    let router = Actions::new(policy, authenticator, resolvers)
        .mount(read_order)
        .mount(cancel_order)
        .mount(whoami)
        .into_router(ran.clone());
    App { router, ran }
}

fn jwt(issuer: Issuer) -> Jwt {
    Jwt::builder().issuer(issuer).build()
}

struct Answer {
    status: u16,
    json: Value,
}

impl App {
    async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response =
            self.router.clone().oneshot(request.body(Body::empty()).expect("request")).await.expect("answer");
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.expect("body");
        Answer { status, json: serde_json::from_slice(&body).unwrap_or(Value::Null) }
    }

    async fn get(&self, path: &str, token: &str) -> Answer {
        self.send("GET", path, &[("authorization", &format!("Bearer {token}"))]).await
    }

    /// Asserts that `token` is refused with `status` and `code`, and that
    /// no body ran.
    async fn refused(&self, token: &str, status: u16, code: &str) {
        let before = self.ran.count();
        let answer = self.get("/orders/1", token).await;
        assert_eq!(answer.status, status, "{}", answer.json);
        assert_eq!(answer.json["code"], code, "{}", answer.json);
        assert_eq!(self.ran.count(), before, "the body ran");
    }

    async fn admitted(&self, token: &str) -> Value {
        let before = self.ran.count();
        let answer = self.get("/whoami", token).await;
        assert_eq!(answer.status, 200, "{}", answer.json);
        assert_eq!(self.ran.count(), before + 1, "the body did not run");
        answer.json
    }
}

async fn setup() -> (Idp, App) {
    let idp = Idp::start().await;
    idp.publish("rsa-1", rsa());
    let app = app(jwt(idp.issuer()));
    (idp, app)
}

// --------------------------------------------------------------- cases

#[tokio::test]
async fn a_valid_token_admits_its_service_and_the_body_sees_its_claims() {
    let (idp, app) = setup().await;
    let token = idp.mint("rsa-1", rsa(), json!({"environment": "prod", "jti": "token-7"}));
    let me = app.admitted(&token).await;
    assert_eq!(me["id"], "svc-ci");
    assert_eq!(me["kind"], "service");
    assert_eq!(me["tenant"], "acme");
    assert_eq!(me["issuer"], idp.url.as_str());
    assert_eq!(me["environment"], "prod");
    assert_eq!(me["credential_id"], "token-7", "the jti, never the token");
    let answer = app.get("/orders/1", &token).await;
    assert_eq!((answer.status, app.ran.count()), (200, 2), "scope orders:read reaches the tenant's orders");
}

#[tokio::test]
async fn rs256_es256_and_eddsa_each_pass() {
    let idp = Idp::start().await;
    idp.publish("rsa-1", rsa());
    idp.publish("ec-1", p256());
    idp.publish("ed-1", ed25519());
    let app = app(jwt(idp.issuer()));
    for (kid, key) in [("rsa-1", rsa()), ("ec-1", p256()), ("ed-1", ed25519())] {
        app.admitted(&idp.mint(kid, key, json!({}))).await;
    }
}

#[tokio::test]
async fn an_expired_token_is_401() {
    let (idp, app) = setup().await;
    let token = idp.mint("rsa-1", rsa(), json!({"iat": now() - 600, "exp": now() - 120}));
    app.refused(&token, 401, "unauthenticated").await;
}

#[tokio::test]
async fn a_token_not_yet_valid_is_401() {
    let (idp, app) = setup().await;
    app.refused(&idp.mint("rsa-1", rsa(), json!({"nbf": now() + 300})), 401, "unauthenticated").await;
    app.refused(&idp.mint("rsa-1", rsa(), json!({"iat": now() + 300})), 401, "unauthenticated").await;
    // Within the leeway (30 s by default), a clock a little ahead is fine.
    app.admitted(&idp.mint("rsa-1", rsa(), json!({"iat": now() + 5, "nbf": now() + 5}))).await;
}

#[tokio::test]
async fn a_token_from_an_untrusted_issuer_is_401() {
    let (idp, app) = setup().await;
    let token = idp.mint("rsa-1", rsa(), json!({"iss": "https://evil.example"}));
    app.refused(&token, 401, "unauthenticated").await;
}

#[tokio::test]
async fn a_token_for_another_audience_is_401() {
    let (idp, app) = setup().await;
    app.refused(&idp.mint("rsa-1", rsa(), json!({"aud": "billing-api"})), 401, "unauthenticated").await;
    let without = {
        let mut claims = idp.claims(json!({}));
        claims.as_object_mut().expect("object").remove("aud");
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("rsa-1".into());
        jsonwebtoken::encode(&header, &claims, &rsa().encoding).expect("token")
    };
    app.refused(&without, 401, "unauthenticated").await;
}

#[tokio::test]
async fn a_new_kid_triggers_a_refetch_and_then_passes() {
    let idp = Idp::start().await;
    idp.publish("rsa-1", rsa());
    let app = app(jwt(idp.issuer().refresh_interval(Duration::from_millis(200))));
    app.admitted(&idp.mint("rsa-1", rsa(), json!({}))).await;
    assert_eq!(idp.fetches(), 1);
    // The issuer rotates: a new key, a new kid.
    idp.publish("ec-2", p256());
    tokio::time::sleep(Duration::from_millis(250)).await;
    app.admitted(&idp.mint("ec-2", p256(), json!({}))).await;
    assert_eq!(idp.fetches(), 2, "one refetch for the new kid");
    app.admitted(&idp.mint("ec-2", p256(), json!({}))).await;
    assert_eq!(idp.fetches(), 2, "then served from the cache");
}

#[tokio::test]
async fn unknown_kids_refetch_at_most_once_per_interval() {
    let (idp, app) = setup().await;
    app.admitted(&idp.mint("rsa-1", rsa(), json!({}))).await;
    for _ in 0..5 {
        app.refused(&idp.mint("nope", rsa(), json!({})), 401, "unauthenticated").await;
    }
    assert_eq!(idp.fetches(), 1, "a flood of unknown kids does not hammer the issuer");
}

#[tokio::test]
async fn a_key_removed_from_the_jwks_stops_passing_after_the_refresh_interval() {
    let idp = Idp::start().await;
    idp.publish("rsa-1", rsa());
    idp.publish("ec-1", p256());
    let app = app(jwt(idp.issuer().refresh_interval(Duration::from_millis(200))));
    let cached = idp.mint("ec-1", p256(), json!({}));
    app.admitted(&cached).await;
    idp.withdraw("ec-1");
    tokio::time::sleep(Duration::from_millis(250)).await;
    app.refused(&idp.mint("ec-1", p256(), json!({})), 401, "unauthenticated").await;
    app.refused(&cached, 401, "unauthenticated").await;
    app.admitted(&idp.mint("rsa-1", rsa(), json!({}))).await;
}

#[tokio::test]
async fn alg_none_is_401() {
    let (idp, app) = setup().await;
    let header = b64(br#"{"alg":"none","typ":"JWT","kid":"rsa-1"}"#);
    let payload = b64(idp.claims(json!({})).to_string().as_bytes());
    app.refused(&format!("{header}.{payload}."), 401, "unauthenticated").await;
    app.refused(&format!("{header}.{payload}.c2ln"), 401, "unauthenticated").await;
}

#[tokio::test]
async fn an_hs256_token_keyed_with_the_rsa_public_key_is_401() {
    let (idp, app) = setup().await;
    app.admitted(&idp.mint("rsa-1", rsa(), json!({}))).await;
    let header = b64(br#"{"alg":"HS256","typ":"JWT","kid":"rsa-1"}"#);
    let payload = b64(idp.claims(json!({})).to_string().as_bytes());
    for secret in [&rsa().public_pem, &rsa().public_der] {
        let signature = hs256(secret, format!("{header}.{payload}").as_bytes());
        app.refused(&format!("{header}.{payload}.{signature}"), 401, "unauthenticated").await;
    }
    // Even an issuer configured to list HS256 never accepts it.
    let listed = app_for(idp.issuer().algorithms([Algorithm::HS256, Algorithm::RS256]));
    let signature = hs256(&rsa().public_pem, format!("{header}.{payload}").as_bytes());
    listed.refused(&format!("{header}.{payload}.{signature}"), 401, "unauthenticated").await;
}

fn app_for(issuer: Issuer) -> App {
    app(jwt(issuer))
}

#[tokio::test]
async fn a_token_signed_by_another_key_under_a_known_kid_is_401() {
    let (idp, app) = setup().await;
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("rsa-1".into());
    let forged = jsonwebtoken::encode(&header, &idp.claims(json!({})), &p256().encoding).expect("token");
    app.refused(&forged, 401, "unauthenticated").await;
    let token = idp.mint("rsa-1", rsa(), json!({}));
    let (head, _) = token.rsplit_once('.').expect("three parts");
    let tampered = format!("{head}.{}", b64(&[0u8; 256]));
    app.refused(&tampered, 401, "unauthenticated").await;
}

#[tokio::test]
async fn an_oversized_token_is_401() {
    let (idp, app) = setup().await;
    let token = idp.mint("rsa-1", rsa(), json!({"pad": "x".repeat(9000)}));
    assert!(token.len() > 8 * 1024);
    app.refused(&token, 401, "unauthenticated").await;
    let fits = idp.mint("rsa-1", rsa(), json!({"pad": "x".repeat(5000)}));
    app.admitted(&fits).await;
}

#[tokio::test]
async fn an_agent_gets_its_scopes_intersected_with_its_users_roles() {
    let (idp, app) = setup().await;
    // alice is a customer (orders:read); her agent's token asks for more.
    let token = idp.mint(
        "rsa-1",
        rsa(),
        json!({"sub": "alice", "roles": ["customer"], "scope": "orders:read orders:cancel",
               "act": {"sub": "agent-7", "act": {"sub": "orchestrator"}}}),
    );
    let me = app.admitted(&token).await;
    assert_eq!((me["id"].as_str(), me["kind"].as_str()), (Some("agent-7"), Some("agent")));
    assert_eq!(me["on_behalf_of"], "alice");
    assert_eq!(me["act_chain"], json!(["agent-7", "orchestrator"]), "the whole act chain");
    let read = app.get("/orders/1", &token).await;
    assert_eq!((read.status, read.json.clone()), (200, Value::Null), "alice's order: within both");
    let before = app.ran.count();
    let cancel = app.send("POST", "/orders/1/cancel", &[("authorization", &format!("Bearer {token}"))]).await;
    assert_eq!((cancel.status, cancel.json["code"].as_str()), (403, Some("forbidden")), "the user lacks it");
    let other = app.get("/orders/2", &token).await;
    assert_eq!(other.status, 404, "an agent touches only its user's objects");
    assert_eq!(app.ran.count(), before);
}

#[tokio::test]
async fn when_the_jwks_endpoint_is_down_cached_keys_work_and_an_unknown_kid_is_503() {
    let idp = Idp::start().await;
    idp.publish("rsa-1", rsa());
    let app = app(jwt(idp.issuer().refresh_interval(Duration::from_millis(100))));
    app.admitted(&idp.mint("rsa-1", rsa(), json!({}))).await;
    idp.up.store(false, Ordering::SeqCst);
    idp.publish("ec-2", p256());
    tokio::time::sleep(Duration::from_millis(150)).await;
    app.admitted(&idp.mint("rsa-1", rsa(), json!({}))).await;
    app.refused(&idp.mint("ec-2", p256(), json!({})), 503, "unavailable").await;
    app.refused(&idp.mint("ec-2", p256(), json!({})), 503, "unavailable").await;
    // Back up: after the interval, the new key is fetched and passes.
    idp.up.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(150)).await;
    app.admitted(&idp.mint("ec-2", p256(), json!({}))).await;
}

#[tokio::test]
async fn a_jwks_that_was_never_fetched_is_503_and_no_token_passes() {
    let idp = Idp::start().await;
    idp.publish("rsa-1", rsa());
    idp.up.store(false, Ordering::SeqCst);
    let app = app(jwt(idp.issuer()));
    app.refused(&idp.mint("rsa-1", rsa(), json!({})), 503, "unavailable").await;
}

async fn chain_apps(idp: &Idp) -> [App; 2] {
    let tokens = Tokens::new(MemoryTokenStore::new());
    let mut svc = Principal::service("svc-key", "acme", ["orders:read"]);
    svc.credential_id = "key-1".into();
    tokens.issue("an-opaque-api-key-0123456789", svc).await.expect("issue");
    [app((tokens.clone(), jwt(idp.issuer()))), app((jwt(idp.issuer()), tokens))]
}

#[tokio::test]
async fn opaque_keys_and_jwts_coexist_in_either_order() {
    let (idp, _) = setup().await;
    for app in chain_apps(&idp).await {
        assert_eq!(app.admitted("an-opaque-api-key-0123456789").await["id"], "svc-key");
        assert_eq!(app.admitted(&idp.mint("rsa-1", rsa(), json!({}))).await["id"], "svc-ci");
        app.refused("an-unknown-opaque-key", 401, "unauthenticated").await;
        app.refused(&idp.mint("rsa-1", rsa(), json!({"exp": now() - 300})), 401, "unauthenticated").await;
        app.refused(&idp.mint("rsa-1", rsa(), json!({"iss": "https://other.example"})), 401, "unauthenticated").await;
    }
}

#[tokio::test]
async fn a_bad_bearer_never_falls_back_to_a_valid_cookie() {
    let (idp, _) = setup().await;
    let sessions = Sessions::new(MemorySessionStore::new()).secure(false);
    let login = sessions.login(Principal::user("alice", "acme", ["customer"])).await.expect("login");
    let cookie = login.set_cookie.to_str().expect("cookie").split(';').next().expect("pair").to_owned();
    let app = app((Tokens::new(MemoryTokenStore::new()), jwt(idp.issuer()), sessions));
    let alone = app.send("GET", "/orders/1", &[("cookie", &cookie)]).await;
    assert_eq!(alone.status, 200, "the cookie alone is fine");
    let bad = [
        idp.mint("rsa-1", rsa(), json!({"iss": "https://other.example"})),
        idp.mint("rsa-1", rsa(), json!({"exp": now() - 300})),
        "an-unknown-opaque-key".to_owned(),
        "a.b.c".to_owned(),
    ];
    for token in bad {
        let before = app.ran.count();
        let auth = format!("Bearer {token}");
        let answer = app.send("GET", "/orders/1", &[("authorization", &auth), ("cookie", &cookie)]).await;
        assert_eq!((answer.status, answer.json["code"].as_str()), (401, Some("unauthenticated")), "{token}");
        assert_eq!(app.ran.count(), before);
    }
}

/// The app's own accounts: the subject's tenant and registered scopes
/// come from here, never from the token, whose scope can only narrow them.
struct Accounts;

impl MapClaims for Accounts {
    fn map<'a>(&'a self, token: &'a VerifiedToken) -> StoreFuture<'a, Result<Option<Principal>, StoreError>> {
        let registered = match token.subject() {
            "svc-ci" => Some(("acme", ["orders:*"])),
            _ => None,
        };
        StoreFuture::ready(Ok(registered
            .map(|(tenant, scopes)| token.stamp(Principal::service(token.subject(), tenant, token.narrow(&scopes))))))
    }
}

#[tokio::test]
async fn an_apps_own_mapping_takes_tenant_and_scopes_from_its_data() {
    let idp = Idp::start().await;
    idp.publish("rsa-1", rsa());
    let app = app_for(idp.issuer().map_with(Accounts));
    // The token claims another tenant and wider scopes: neither counts.
    let token = idp.mint("rsa-1", rsa(), json!({"tenant": "globex", "scope": "orders:read admin:*"}));
    let me = app.admitted(&token).await;
    assert_eq!(me["tenant"], "acme");
    assert_eq!(app.get("/orders/1", &token).await.status, 200);
    let before = app.ran.count();
    let cancel = app.send("POST", "/orders/1/cancel", &[("authorization", &format!("Bearer {token}"))]).await;
    assert_eq!((cancel.status, cancel.json["code"].as_str()), (403, Some("forbidden")), "the token narrowed it");
    assert_eq!(app.ran.count(), before);
    app.refused(&idp.mint("rsa-1", rsa(), json!({"sub": "stranger"})), 401, "unauthenticated").await;
}

#[tokio::test]
async fn claims_that_make_no_principal_are_401() {
    let idp = Idp::start().await;
    idp.publish("rsa-1", rsa());
    let app = app_for(idp.issuer().mapping(ClaimsMapping::new().kind_claim("kind")));
    app.refused(&idp.mint("rsa-1", rsa(), json!({"kind": "robot"})), 401, "unauthenticated").await;
    app.refused(&idp.mint("rsa-1", rsa(), json!({"kind": "user", "tenant": ""})), 401, "unauthenticated").await;
    assert_eq!(app.admitted(&idp.mint("rsa-1", rsa(), json!({"kind": "user"}))).await["kind"], "user");
}

#[tokio::test]
async fn an_issuer_is_discovered_from_its_openid_configuration() {
    let idp = Idp::start().await;
    idp.publish("ed-1", ed25519());
    let issuer = Issuer::discover(&idp.url, AUDIENCE, &HttpFetcher::new()).await.expect("discovery");
    let app = app_for(issuer);
    app.admitted(&idp.mint("ed-1", ed25519(), json!({}))).await;
    let wrong = Issuer::discover(format!("{}/", idp.url), AUDIENCE, &HttpFetcher::new()).await;
    assert!(wrong.is_err(), "the configuration must name the issuer asked for");
}

#[tokio::test]
async fn the_principal_and_the_authenticator_never_print_the_token() {
    let (idp, _) = setup().await;
    let token = idp.mint("rsa-1", rsa(), json!({}));
    let jwt = jwt(idp.issuer());
    let request = Request::get("/").header("authorization", format!("Bearer {token}")).body(()).expect("request");
    let parts = request.into_parts().0;
    let Ok(guard_runtime::authn::Authentication::Authenticated(found)) = jwt.authenticate(&parts).await else {
        panic!("the token did not authenticate");
    };
    let signature = token.rsplit('.').next().expect("signature");
    for printed in [format!("{found:?}"), format!("{jwt:?}"), serde_json::to_string(&*found.principal).expect("json")] {
        assert!(!printed.contains(signature), "{printed}");
    }
}

#[test]
fn the_readme_quotes_the_oidc_example_verbatim() {
    let readme = include_str!("../../README.md");
    let example = include_str!("../examples/oidc.rs");
    let (_, after) = readme.split_once("<!-- oidc:begin").expect("README.md lacks <!-- oidc:begin");
    let (block, _) = after.split_once("<!-- oidc:end -->").expect("README.md lacks <!-- oidc:end -->");
    let (_, code) = block.split_once("```rust\n").expect("no ```rust block between the markers");
    let (quoted, _) = code.rsplit_once("```").expect("unterminated ```rust block");
    assert!(quoted == example, "README.md's example differs from guard-runtime/examples/oidc.rs: paste the file");
}
