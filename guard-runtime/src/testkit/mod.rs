//! The authorization sweep: a test that tries every mounted action the way
//! an attacker would (feature `testkit`).
//!
//! [`sweep`] takes the app's real `axum::Router`, its manifest
//! ([`Actions::manifest`](crate::Actions::manifest)) and [`Fixtures`], and
//! drives every manifest entry in-process with every attack that applies to
//! it (see [`Attack`]):
//!
//! | attack | expected |
//! |---|---|
//! | no credential, a garbage one, a revoked one | 401 `unauthenticated` |
//! | each caller kind the action does not accept | 403 `wrong_caller_kind` |
//! | a principal lacking the permission; an agent whose user lacks it | 403 `forbidden` |
//! | another tenant's object; another owner's (own-only caller, `owner` check) | 404 `not_found` |
//! | a cookie session without / with a wrong CSRF token (unsafe methods) | 403 `csrf_failed` |
//! | a stale authentication (`fresh` actions) | 401 `reauth_required` |
//! | no replay key; a reused one after a successful first use (`replay`) | 400 `bad_request`; 409 `replayed` |
//! | a body over the limit, not JSON, with an unknown field (JSON input) | 413, 415, 422 |
//! | a route the router serves that is no action and not declared public | 403 `unguarded_route`, and reported |
//!
//! Each request is valid for the action except in the one respect attacked,
//! and carries its own `x-request-id`. A row *holds* when the answer has
//! the exact status and problem `code`, the audit log has a `deny` record
//! with that code for that request id, and no `allow` record for it (so the
//! body never ran). The result is a [`SweepReport`]: one row per action ×
//! attack, including `public` actions (with their reason), attacks that do
//! not apply (`n/a`), and attacks the fixtures could not run (`uncovered`).
//!
//! The sweep also lists the routes the router serves (axum has no API for
//! it; the testkit reads the router's `Debug` output and reports a problem
//! if it cannot) and reports every route that is neither a mounted action
//! nor accounted for, the plain `.route(...)` added after `into_router`:
//! give it the app's [`Accounted`](crate::Accounted) with
//! [`Sweep::accounted`] and it probes each such route through the router
//! and fails its row ([`SweepReport::unguarded_routes`]).
//!
//! Mount the app for the sweep with an audit sink the kit can read
//! ([`AuditSource`]) and with probing off (`.probing(0, …)`): the sweep
//! is, by design, a burst of denials.
//!
//! # Example
//!
//! ```no_run
//! use guard_runtime::audit::MemorySink;
//! use guard_runtime::testkit::{sweep, ActionFixture, AuditSource, Credential, Fixtures};
//! use guard_runtime::{Actions, Principal, RolePolicy};
//! # async fn demo(actions: Actions, policy: RolePolicy, create_doc: fn(Principal) -> std::future::Ready<u64>) {
//!
//! let sink = MemorySink::new();
//! let actions = actions.audit(sink.clone(), 1024).probing(0, std::time::Duration::from_secs(60));
//! let (manifest, audit) = (actions.manifest().to_vec(), AuditSource::memory(sink, actions.audit_handle()));
//! let router = actions.into_router(());
//!
//! let fixtures = Fixtures::new(policy)
//!     .audit(audit)
//!     .caller(Principal::user("alice", "acme", ["customer"]), Credential::session("guard_session=…", "csrf…"))
//!     .caller(Principal::user("dave", "globex", ["customer"]), Credential::bearer("dave-token"))
//!     .caller(Principal::service("svc", "acme", ["docs:read"]), Credential::bearer("svc-token"))
//!     .objects("docs", create_doc)
//!     .action("edit_doc", ActionFixture::new().body(serde_json::json!({ "text": "hi" })));
//! sweep(router, &manifest, fixtures).await.assert_all_held();
//! # }
//! ```

mod attacks;
mod audit_log;
mod fixtures;
mod manifest;
mod report;
mod request;
mod routes;
mod runner;
mod unguarded;

pub use attacks::Attack;
pub use audit_log::AuditSource;
pub use fixtures::{ActionFixture, Credential, Fixtures};
pub use manifest::{manifest_from_json, served_manifest};
pub use report::{Got, Row, Summary, SweepReport, Verdict};
pub use runner::{sweep, Sweep};
