//! Serves one handler body three ways on one port, for `bench/load.sh`:
//!
//! * `bare`: a plain axum handler, no checks;
//! * `guarded FILE`: the same body as a guarded action (bearer auth, agent
//!   permission intersection with a wildcard scope, owner resolver) with
//!   audit records appended to `FILE` as JSON lines;
//! * `guarded-null`: the same, audit records discarded;
//! * `guarded-chained FILE`: `guarded FILE` with the log hash-chained;
//! * `guarded-durable FILE`: `guarded FILE` with a durable allow (each batch
//!   synced before the body runs); prints `durable: syncs=N records=M` on
//!   stderr every second, for records per sync;
//! * `floor FILE` and `floor-null`: the same body behind the least work the
//!   contract asks for, written by hand, and `floor-min-null`, less than
//!   that (see `floor.rs`).
//!
//! Usage: `bench-server ADDR MODE [AUDIT_FILE]`, or `bench-server --oneshot N
//! MODE [AUDIT_FILE]` to push N requests through the router in-process, with
//! no network, then flush the audit: for instruction counts under
//! `valgrind --tool=callgrind`, which are exact and immune to the noise of a
//! shared machine. Its modes are `bare`, `guarded-null`, `guarded-file`
//! (audit to `AUDIT_FILE`, by default a file in the temp directory),
//! `floor-null`, `floor-file` and `floor-min-null`.

mod floor;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::ExitCode;

use axum::extract::Path;
use axum::http::Method;
use axum::routing::get;
use axum::Router;
use guard_runtime::audit::JsonLinesSink;
use guard_runtime::authn::{MemoryTokenStore, Tokens};
use guard_runtime::{
    action, Actions, AuditSink, Authorized, DecisionRecord, Delegation, ObjectMeta, Principal, Resolver, Resolvers,
    RolePolicy, StoreError, StoreFuture,
};

/// The token `bench/load.sh` sends.
const TOKEN: &str = "bench-agent-token";

pub(crate) fn body(id: &str) -> String {
    format!("{{\"id\":\"{id}\",\"item\":\"book\",\"quantity\":1}}")
}

async fn bare(Path(id): Path<String>) -> String {
    body(&id)
}

#[action(requires = "orders:read", owner = "id")]
async fn guarded(_auth: Authorized, Path(id): Path<String>) -> String {
    body(&id)
}

struct NullSink;

impl AuditSink for NullSink {
    fn write<'a>(&'a self, _: &'a [DecisionRecord]) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::ready(Ok(()))
    }
}

/// The orders, in the same kind of map as the floor's (foldhash): both
/// sides of the comparison pay for the same lookup.
struct Orders(HashMap<String, ObjectMeta, foldhash::fast::RandomState>);

impl Resolver for Orders {
    fn resolve<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Result<Option<ObjectMeta>, StoreError>> {
        StoreFuture::ready(Ok(self.0.get(key).cloned()))
    }
}

async fn guarded_router(sink: impl AuditSink) -> Result<Router, StoreError> {
    Ok(guarded_actions(sink).await?.into_router(()))
}

async fn guarded_actions(sink: impl AuditSink) -> Result<Actions<()>, StoreError> {
    let tokens = Tokens::new(MemoryTokenStore::new());
    let delegation = Delegation { user: "alice".into(), roles: vec!["customer".into()] };
    tokens.issue(TOKEN, Principal::agent("assistant", "acme", ["orders:*"], delegation)).await?;
    let orders = Orders((1..=100).map(|i| (i.to_string(), ObjectMeta::owned("acme", "alice"))).collect());
    let policy = RolePolicy::new().role("customer", ["orders:read", "orders:write"]);
    Ok(Actions::new(policy, tokens, Resolvers::new().with("orders", orders))
        .audit(sink, 8192)
        .probing(0, std::time::Duration::from_secs(60))
        .mount_at(Method::GET, "/orders/{id}", guarded))
}

/// `--oneshot` through the guard, with the audit flushed at the end so
/// that the sink's work is counted.
async fn guarded_oneshot(sink: impl AuditSink, n: usize) -> ExitCode {
    let Ok(actions) = guarded_actions(sink).await else { return ExitCode::FAILURE };
    let audit = actions.audit_handle();
    let code = oneshot_loop(actions.into_router(()), n, TOKEN).await;
    if audit.flush().await.is_err() {
        eprintln!("bench-server: the audit flush failed");
        return ExitCode::FAILURE;
    }
    code
}

/// `--oneshot` through the floor, its audit flushed at the end.
async fn floor_oneshot(sink: impl AuditSink, n: usize) -> ExitCode {
    let (router, audit) = floor::router(sink, TOKEN);
    let code = oneshot_loop(router, n, TOKEN).await;
    audit.flush().await;
    code
}

/// Sends `n` requests through `router` in-process.
async fn oneshot_loop(router: Router, n: usize, token: &str) -> ExitCode {
    use tower::ServiceExt;
    for i in 0..n {
        // A server yields between reads; so does this loop, every 32
        // requests (the load runs' connections), so the audit writer runs
        // and takes batches of the size it takes under load.
        if i % 32 == 31 {
            tokio::task::yield_now().await;
        }
        let request = axum::http::Request::get(format!("/orders/{}", i % 100 + 1))
            .header("authorization", format!("Bearer {token}"));
        let Ok(request) = request.body(axum::body::Body::empty()) else { return ExitCode::FAILURE };
        match router.clone().oneshot(request).await {
            Ok(response) if response.status() == 200 => {}
            _ => {
                eprintln!("bench-server: request {i} was not answered 200");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--oneshot") {
        let n = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(10_000);
        return match args.get(2).map(String::as_str) {
            // The same request as the guarded run, token included: only the
            // guard's work differs.
            Some("bare") => oneshot_loop(Router::new().route("/orders/{id}", get(bare)), n, TOKEN).await,
            Some("guarded-null") => guarded_oneshot(NullSink, n).await,
            Some("guarded-file") => {
                let file =
                    args.get(3).map_or_else(|| std::env::temp_dir().join("bench-server-audit.jsonl"), Into::into);
                guarded_oneshot(JsonLinesSink::new(file), n).await
            }
            Some("floor-null") => floor_oneshot(NullSink, n).await,
            Some("floor-min-null") => oneshot_loop(floor::min_router(TOKEN), n, TOKEN).await,
            Some("floor-file") => {
                let file =
                    args.get(3).map_or_else(|| std::env::temp_dir().join("bench-server-audit.jsonl"), Into::into);
                floor_oneshot(JsonLinesSink::new(file), n).await
            }
            _ => {
                eprintln!(
                    "usage: bench-server --oneshot N bare|guarded-null|guarded-file|floor-null|floor-file|floor-min-null [AUDIT_FILE]"
                );
                ExitCode::from(2)
            }
        };
    }
    let (Some(addr), Some(mode)) = (args.first(), args.get(1)) else {
        eprintln!("usage: bench-server ADDR bare|guarded FILE|guarded-null|guarded-chained FILE|guarded-durable FILE|floor FILE|floor-null|floor-min-null");
        return ExitCode::from(2);
    };
    let Ok(addr) = addr.parse::<SocketAddr>() else {
        eprintln!("bench-server: `{addr}` is not an address");
        return ExitCode::from(2);
    };
    let router = match (mode.as_str(), args.get(2)) {
        ("bare", _) => Ok(Router::new().route("/orders/{id}", get(bare))),
        ("guarded", Some(file)) => guarded_router(JsonLinesSink::new(file)).await,
        ("guarded-null", _) => guarded_router(NullSink).await,
        ("guarded-chained", Some(file)) => guarded_router(JsonLinesSink::new(file).chained()).await,
        ("guarded-durable", Some(file)) => {
            let sink = JsonLinesSink::new(file).durable();
            let count = sink.sync_count();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
                loop {
                    tick.tick().await;
                    eprintln!("durable: syncs={} records={}", count.syncs(), count.records());
                }
            });
            guarded_router(sink).await
        }
        ("floor", Some(file)) => Ok(floor::router(JsonLinesSink::new(file), TOKEN).0),
        ("floor-null", _) => Ok(floor::router(NullSink, TOKEN).0),
        ("floor-min-null", _) => Ok(floor::min_router(TOKEN)),
        _ => {
            eprintln!("bench-server: unknown mode `{mode}` (bare, guarded FILE, guarded-null, guarded-chained FILE, guarded-durable FILE, floor FILE, floor-null, floor-min-null)");
            return ExitCode::from(2);
        }
    };
    let router = match router {
        Ok(router) => router,
        Err(err) => {
            eprintln!("bench-server: {err}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("bench-server: cannot bind {addr}: {err}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(err) = axum::serve(listener, router).await {
        eprintln!("bench-server: {err}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
