//! The sweep reports routes outside guard: a plain `.route(...)` added to
//! the router `into_router` returned, which the accounted layer refuses at
//! run time and the sweep finds in a test, before anyone calls it.
#![cfg(feature = "testkit")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::Method;
use axum::routing::{delete, get, post};
use axum::Router;
use guard_runtime::audit::MemorySink;
use guard_runtime::authn::{MemoryTokenStore, Tokens};
use guard_runtime::testkit::{Attack, AuditSource, Fixtures, Sweep, SweepReport, Verdict};
use guard_runtime::{action, Accounted, ActionInfo, Actions, Authorized, Resolvers, RolePolicy};

#[derive(Clone, Default)]
struct AppState {
    /// How many times a plain (unguarded) handler ran.
    plain_ran: Arc<AtomicUsize>,
}

#[action(GET "/notes/{id}", requires = "notes:read")]
async fn read_note(_auth: Authorized) -> &'static str {
    "note"
}

async fn plain(State(state): State<AppState>) -> &'static str {
    state.plain_ran.fetch_add(1, Ordering::SeqCst);
    "the unguarded body ran"
}

async fn health() -> &'static str {
    "ok"
}

struct App {
    /// The router with the plain routes, before the accounted layer.
    router: Router,
    accounted: Accounted,
    manifest: Vec<ActionInfo>,
    fixtures: Fixtures,
    state: AppState,
}

/// One action, one declared public route (`GET /health`), and two plain
/// routes nobody accounted for: `POST /export`, and `DELETE` beside the
/// action's `GET /notes/{id}`.
fn app() -> App {
    let sink = MemorySink::new();
    let actions = Actions::new(RolePolicy::new(), Tokens::new(MemoryTokenStore::new()), Resolvers::new())
        .audit(sink.clone(), 1024)
        .probing(0, std::time::Duration::from_secs(60))
        .mount(read_note)
        .public_route(Method::GET, "/health", "liveness probe: reveals nothing");
    let fixtures = Fixtures::new(RolePolicy::new()).audit(AuditSource::memory(sink, actions.audit_handle()));
    let (accounted, manifest) = (actions.accounted(), actions.manifest().to_vec());
    let state = AppState::default();
    let router = actions
        .into_router(state.clone())
        .route("/health", get(health))
        .route("/export", post(plain).with_state(state.clone()))
        .route("/notes/{id}", delete(plain).with_state(state.clone()));
    App { router, accounted, manifest, fixtures, state }
}

/// A sweep of `manifest`'s actions (none: only the route check) and the
/// router's routes.
async fn sweep(
    router: Router,
    manifest: &[ActionInfo],
    accounted: Option<&Accounted>,
    fixtures: Fixtures,
) -> SweepReport {
    let sweep = Sweep::new(router, manifest).fixtures(fixtures);
    match accounted {
        Some(accounted) => sweep.accounted(accounted).run().await,
        None => sweep.run().await,
    }
}

fn reported(report: &SweepReport) -> Vec<(String, Option<String>, String)> {
    report
        .unguarded_routes()
        .map(|row| (row.route.clone(), row.got.as_ref().map(ToString::to_string), row.verdict.label().to_owned()))
        .collect()
}

fn verdict_text(report: &SweepReport, route: &str) -> String {
    report.unguarded_routes().find(|row| row.route == route).map(|row| row.verdict.to_string()).unwrap_or_default()
}

#[tokio::test]
async fn the_sweep_reports_each_plain_route_the_layer_refuses() {
    let app = app();
    let router = app.accounted.clone().apply(app.router);
    let report = sweep(router, &[], Some(&app.accounted), app.fixtures).await;
    assert_eq!(
        reported(&report),
        vec![
            ("POST /export".to_owned(), Some("403 unguarded_route".to_owned()), "FAILED".to_owned()),
            ("DELETE /notes/{id}".to_owned(), Some("404 not_found".to_owned()), "FAILED".to_owned()),
        ],
        "{report}"
    );
    // Reported, yet refused: the layer answered, audited, and no plain
    // handler ran.
    assert!(verdict_text(&report, "POST /export").contains("the accounted layer refused it"), "{report}");
    assert!(!verdict_text(&report, "POST /export").contains("no audit record"), "{report}");
    assert_eq!(app.state.plain_ran.load(Ordering::SeqCst), 0);
    // The action and the declared public route are not reported, and the
    // report fails.
    assert!(report.unguarded_routes().all(|row| row.attack == Attack::UnguardedRoute));
    assert!(!report.all_held());
    assert!(report.problems().is_empty(), "{:?}", report.problems());
}

#[tokio::test]
async fn without_the_layer_the_sweep_reports_the_plain_routes_as_served() {
    let app = app();
    let report = sweep(app.router, &[], Some(&app.accounted), app.fixtures).await;
    assert_eq!(
        reported(&report),
        vec![
            ("POST /export".to_owned(), Some("200".to_owned()), "FAILED".to_owned()),
            ("DELETE /notes/{id}".to_owned(), Some("200".to_owned()), "FAILED".to_owned()),
        ],
        "{report}"
    );
    let text = verdict_text(&report, "POST /export");
    assert!(text.contains("it was not refused") && text.contains("apply `Actions::accounted()`"), "{text}");
    // Nothing refused, nothing audited: the sweep says that too.
    assert!(text.contains("no audit record (expected deny unguarded_route)"), "{text}");
    // The probes reached the plain handlers: the breach the row reports.
    assert_eq!(app.state.plain_ran.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn without_the_accounted_routes_the_sweep_sends_nothing_and_calls_them_uncovered() {
    let app = app();
    let router = app.accounted.clone().apply(app.router);
    let report = sweep(router, &app.manifest, None, app.fixtures).await;
    // The action's own route is in the manifest; the public route is not,
    // and without the layer's list it cannot be told from an unguarded one.
    let routes: Vec<(String, &str)> =
        report.unguarded_routes().map(|row| (row.route.clone(), row.verdict.label())).collect();
    assert_eq!(
        routes,
        vec![
            ("POST /export".to_owned(), "uncovered"),
            ("GET /health".to_owned(), "uncovered"),
            ("DELETE /notes/{id}".to_owned(), "uncovered"),
        ]
    );
    assert!(report.unguarded_routes().all(|row| row.got.is_none()), "nothing was sent");
    let first = report.unguarded_routes().next().expect("a row");
    assert!(matches!(&first.verdict, Verdict::Uncovered(why) if why.contains("Sweep::accounted")));
    assert_eq!(app.state.plain_ran.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_app_with_only_accounted_routes_has_nothing_to_report() {
    let sink = MemorySink::new();
    let actions = Actions::new(RolePolicy::new(), Tokens::new(MemoryTokenStore::new()), Resolvers::new())
        .audit(sink.clone(), 1024)
        .mount(read_note)
        .public_route(Method::GET, "/health", "liveness probe: reveals nothing");
    let fixtures = Fixtures::new(RolePolicy::new()).audit(AuditSource::memory(sink, actions.audit_handle()));
    let accounted = actions.accounted();
    let router = accounted.clone().apply(actions.into_router(AppState::default()).route("/health", get(health)));
    let report = sweep(router, &[], Some(&accounted), fixtures).await;
    assert_eq!(report.unguarded_routes().count(), 0, "{report}");
    assert!(report.all_held(), "{report}");
}
