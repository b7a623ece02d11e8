//! Steps 3 and 6 for credentials that carry claims (a CI job's OIDC token,
//! a user's token after a phishing-resistant login): `bind(...)` holds the
//! credential to the claims an action names, and `acr = [...]` to the
//! authentication classes it accepts.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use guard_runtime::audit::{Decision, MemorySink};
use guard_runtime::authn::{MemoryTokenStore, Tokens};
use guard_runtime::{action, Actions, AuditHandle, Authorized, Claims, Principal, Resolvers, RolePolicy};

use crate::app::{bearer, send, Answer};

#[derive(Clone, Default)]
struct Ran(Arc<AtomicUsize>);

#[action(POST "/deploy", requires = "deploys:run", callers = service, bind(environment = "production", ref = "refs/heads/main"))]
async fn deploy(_auth: Authorized, State(ran): State<Ran>) -> &'static str {
    ran.0.fetch_add(1, Ordering::SeqCst);
    "deployed"
}

#[action(POST "/wire", requires = "payments:send", callers = user, acr = ["phr", "phrh"])]
async fn wire(_auth: Authorized, State(ran): State<Ran>) -> &'static str {
    ran.0.fetch_add(1, Ordering::SeqCst);
    "sent"
}

struct ClaimsApp {
    router: axum::Router,
    ran: Ran,
    audit: MemorySink,
    handle: AuditHandle,
}

fn with_claims(mut principal: Principal, credential: &str, claims: &[(&str, &str)]) -> Principal {
    principal.credential_id = credential.to_owned();
    principal.claims = claims.iter().map(|(k, v)| (*k, *v)).collect::<Claims>();
    principal
}

async fn claims_app() -> ClaimsApp {
    let tokens = Tokens::new(MemoryTokenStore::new());
    let ci = |claims: &[(&str, &str)]| with_claims(Principal::service("ci", "acme", ["deploys:run"]), "jwt:ci", claims);
    let issued = [
        ("ci-main", ci(&[("environment", "production"), ("ref", "refs/heads/main")])),
        ("ci-staging", ci(&[("environment", "staging"), ("ref", "refs/heads/main")])),
        ("ci-branch", ci(&[("environment", "production"), ("ref", "refs/heads/feature")])),
        ("ci-bare", ci(&[])),
        ("carol-phr", with_claims(Principal::user("carol", "acme", ["treasurer"]), "jwt:carol-1", &[("acr", "phr")])),
        ("carol-pwd", with_claims(Principal::user("carol", "acme", ["treasurer"]), "jwt:carol-2", &[("acr", "pwd")])),
        ("carol-key", with_claims(Principal::user("carol", "acme", ["treasurer"]), "key:carol", &[])),
    ];
    for (token, principal) in issued {
        tokens.issue(token, principal).await.expect("in-memory store");
    }
    let policy = RolePolicy::new().role("treasurer", ["payments:send"]);
    let audit = MemorySink::new();
    let actions = Actions::new(policy, tokens, Resolvers::new()).audit(audit.clone(), 64).mount(deploy).mount(wire);
    let handle = actions.audit_handle();
    let ran = Ran::default();
    ClaimsApp { router: actions.into_router(ran.clone()), ran, audit, handle }
}

impl ClaimsApp {
    async fn post(&self, path: &str, token: &str) -> Answer {
        send(&self.router, bearer("POST", path, token).body(Body::empty()).expect("request")).await
    }

    fn ran(&self) -> usize {
        self.ran.0.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn a_credential_bound_to_the_named_claims_passes() {
    let app = claims_app().await;
    let answer = app.post("/deploy", "ci-main").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(app.ran(), 1);
}

#[tokio::test]
async fn a_binding_mismatch_is_403_binding_failed_naming_the_claim_only_in_the_audit() {
    let app = claims_app().await;
    for (token, failed) in [("ci-staging", "environment"), ("ci-branch", "ref"), ("ci-bare", "environment")] {
        let answer = app.post("/deploy", token).await;
        answer.assert_problem(403, "binding_failed");
        for leaked in ["production", "staging", "refs/heads", "environment"] {
            assert!(!answer.text.contains(leaked), "the answer shows `{leaked}`: {}", answer.text);
        }
        app.handle.flush().await.expect("flushed");
        let record = app.audit.records().pop().expect("a record");
        assert_eq!((record.decision, record.code), (Decision::Deny, "binding_failed"));
        assert_eq!(record.claim, Some(failed), "{token}");
    }
    assert_eq!(app.ran(), 0, "no body ran");
}

#[tokio::test]
async fn an_insufficient_acr_gets_the_step_up_challenge() {
    let app = claims_app().await;
    for token in ["carol-pwd", "carol-key"] {
        let answer = app.post("/wire", token).await;
        answer.assert_problem(401, "reauth_required");
        assert_eq!(
            answer.headers["www-authenticate"],
            r#"Bearer error="insufficient_user_authentication", error_description="A more recent or stronger authentication is required", acr_values="phr phrh""#
        );
    }
    assert_eq!(app.ran(), 0);
    let answer = app.post("/wire", "carol-phr").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(app.ran(), 1);
}
