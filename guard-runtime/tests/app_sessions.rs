//! An app's own cookie sessions (tower-sessions on its `MemoryStore`)
//! authenticate guarded actions as cookie callers, through the public
//! seam: an [`Authenticator`] answering [`Via::Session`] with a
//! [`SessionId::new`]. CSRF and freshness apply to them as to guard's own
//! sessions, and a bad bearer never falls back to them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{header, Request};
use axum::routing::post;
use axum::Router;
use guard_runtime::authn::{Authenticated, Authentication, MemoryTokenStore, SessionId, Tokens, Via};
use guard_runtime::{
    action, Actions, Authenticator, Authorized, Principal, Resolvers, RolePolicy, StoreError, StoreFuture,
};
use serde_json::Value;
use tower::ServiceExt;
use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

/// Reads the tower-sessions session the layer put in the request's
/// extensions: its principal and CSRF token, as the app's login stored them.
struct TowerSessions;

impl Authenticator for TowerSessions {
    fn authenticate<'a>(&'a self, parts: &'a Parts) -> StoreFuture<'a, Result<Authentication, StoreError>> {
        let Some(session) = parts.extensions.get::<Session>().cloned() else {
            return StoreFuture::ready(Ok(Authentication::Missing));
        };
        // No cookie: no session id, nothing to read.
        let Some(id) = session.id() else { return StoreFuture::ready(Ok(Authentication::Missing)) };
        StoreFuture::new(async move {
            let store = |e: tower_sessions::session::Error| StoreError::new("tower-sessions", e);
            let principal: Option<Principal> = session.get("principal").await.map_err(store)?;
            let csrf_token: Option<String> = session.get("csrf").await.map_err(store)?;
            Ok(match (principal, csrf_token) {
                (Some(principal), Some(csrf_token)) => Authentication::Authenticated(Authenticated {
                    principal: Arc::new(principal),
                    via: Via::Session { id: SessionId::new(id.to_string()), csrf_token },
                }),
                // A cookie naming no live session: a bad credential.
                _ => Authentication::Invalid,
            })
        })
    }
}

#[derive(Clone, Default)]
struct Ran(Arc<AtomicUsize>);

#[action(POST "/notes", requires = "notes:write")]
async fn write_note(auth: Authorized, State(ran): State<Ran>) -> String {
    ran.0.fetch_add(1, Ordering::SeqCst);
    auth.principal().id.clone()
}

#[action(POST "/password", authenticated, fresh = "5m")]
async fn change_password(_auth: Authorized, State(ran): State<Ran>) -> &'static str {
    ran.0.fetch_add(1, Ordering::SeqCst);
    "changed"
}

/// The app's login (its own password check is elided): stores the
/// principal and a CSRF token in the session. `?stale` backdates the
/// authentication by an hour.
async fn login(session: Session, request: Request<Body>) -> Result<String, axum::http::StatusCode> {
    let mut alice = Principal::user("alice", "acme", ["writer"]);
    if request.uri().query() == Some("stale") {
        alice.authenticated_at = SystemTime::now() - Duration::from_secs(3600);
    }
    let csrf = guard_runtime::authn::random_secret().map_err(|_| axum::http::StatusCode::SERVICE_UNAVAILABLE)?;
    let fail = |_| axum::http::StatusCode::SERVICE_UNAVAILABLE;
    session.cycle_id().await.map_err(fail)?;
    session.insert("principal", &alice).await.map_err(fail)?;
    session.insert("csrf", &csrf).await.map_err(fail)?;
    Ok(csrf)
}

struct App {
    router: Router,
    ran: Ran,
}

fn app() -> App {
    let policy = RolePolicy::new().role("writer", ["notes:write"]);
    let ran = Ran::default();
    let guarded = Actions::new(policy, (Tokens::new(MemoryTokenStore::new()), TowerSessions), Resolvers::new())
        .mount(write_note)
        .mount(change_password)
        .into_router(ran.clone());
    let router = Router::new()
        .route("/login", post(login))
        .merge(guarded)
        .layer(SessionManagerLayer::new(MemoryStore::default()).with_secure(false));
    App { router, ran }
}

impl App {
    async fn send(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String, Vec<String>) {
        let mut request = Request::post(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response =
            self.router.clone().oneshot(request.body(Body::empty()).expect("request")).await.expect("answer");
        let status = response.status().as_u16();
        let cookies = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
            .collect();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.expect("body");
        (status, String::from_utf8_lossy(&body).into_owned(), cookies)
    }

    /// Logs in; the session cookie and the CSRF token.
    async fn login(&self, query: &str) -> (String, String) {
        let (status, csrf, cookies) = self.send(&format!("/login{query}"), &[]).await;
        assert_eq!(status, 200);
        (cookies.into_iter().next().expect("a session cookie"), csrf)
    }

    async fn refused(&self, path: &str, headers: &[(&str, &str)], status: u16, code: &str) {
        let before = self.ran.0.load(Ordering::SeqCst);
        let (got, body, _) = self.send(path, headers).await;
        let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        assert_eq!((got, json["code"].as_str()), (status, Some(code)), "{body}");
        assert_eq!(self.ran.0.load(Ordering::SeqCst), before, "the body ran");
    }
}

#[tokio::test]
async fn an_apps_own_session_authenticates_with_its_csrf_token() {
    let app = app();
    let (cookie, csrf) = app.login("").await;
    let (status, body, _) = app.send("/notes", &[("cookie", &cookie), ("x-csrf-token", &csrf)]).await;
    assert_eq!((status, body.as_str()), (200, "alice"));
    assert_eq!(app.ran.0.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn csrf_applies_to_an_apps_own_session() {
    let app = app();
    let (cookie, csrf) = app.login("").await;
    app.refused("/notes", &[("cookie", &cookie)], 403, "csrf_failed").await;
    app.refused("/notes", &[("cookie", &cookie), ("x-csrf-token", "forged")], 403, "csrf_failed").await;
    let cross_site = [("cookie", cookie.as_str()), ("x-csrf-token", csrf.as_str()), ("sec-fetch-site", "cross-site")];
    app.refused("/notes", &cross_site, 403, "csrf_failed").await;
}

#[tokio::test]
async fn freshness_applies_to_an_apps_own_session() {
    let app = app();
    let (cookie, csrf) = app.login("?stale").await;
    app.refused("/password", &[("cookie", &cookie), ("x-csrf-token", &csrf)], 401, "reauth_required").await;
    let (cookie, csrf) = app.login("").await;
    let (status, _, _) = app.send("/password", &[("cookie", &cookie), ("x-csrf-token", &csrf)]).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_unknown_session_or_a_bad_bearer_is_401() {
    let app = app();
    app.refused("/notes", &[], 401, "unauthenticated").await;
    // tower-sessions ids are base64 of 16 bytes: a well-formed, unknown one.
    app.refused("/notes", &[("cookie", "id=AAAAAAAAAAAAAAAAAAAAAA")], 401, "unauthenticated").await;
    let (cookie, csrf) = app.login("").await;
    for bearer in ["Bearer an-unknown-key", "Bearer a.b.c"] {
        let headers = [("authorization", bearer), ("cookie", cookie.as_str()), ("x-csrf-token", csrf.as_str())];
        app.refused("/notes", &headers, 401, "unauthenticated").await;
    }
}
