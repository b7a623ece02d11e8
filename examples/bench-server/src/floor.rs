//! The floor: the least work the orders contract asks of a guarded read,
//! written by hand as a plain axum handler, with no framework.
//!
//! It does what no implementation of the contract can skip, each step as
//! cheaply as this machine allows, and nothing else:
//!
//! * hash the presented bearer key (keys are kept hashed) and look the
//!   digest up, as raw bytes (no hex);
//! * intersect the agent's scopes with its user's permissions;
//! * look the order up and compare tenant and owner, borrowing (no copy);
//! * build the audit record (time, latency, request id, caller, path,
//!   permission, resource) and queue it for a writer task that hands
//!   batches to guard's own sink, so the sink's cost is the same as the
//!   guard's;
//! * answer with `Cache-Control: no-store`.
//!
//! It skips what the guard does beyond that: the `x-request-id` header,
//! the probing counters' switch, the problem renderer, the spec lookups.
//! Only what it does is counted, so its ratio to bare axum in the same
//! load run bounds what any guard that keeps the contract can reach.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use guard_runtime::audit::Decision;
use guard_runtime::{AuditSink, DecisionRecord, Delegation, Principal, RequestId};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

const PERMISSION: &str = "orders:read";

struct Floor {
    /// SHA-256 of the key -> the caller.
    keys: FastMap<[u8; 32], Arc<Principal>>,
    /// What the agent's user may do, by user (its roles already expanded).
    user_permissions: FastMap<String, Vec<String>>,
    /// Order id -> (tenant, owner).
    orders: FastMap<String, (String, String)>,
    permission: Arc<str>,
    next_id: AtomicU64,
    queue: Mutex<Vec<DecisionRecord>>,
    work: Notify,
    written: AtomicU64,
}

/// Waits for the floor's audit writer, for `--oneshot`.
pub struct FloorAudit(Arc<Floor>);

impl FloorAudit {
    /// Returns once every record queued so far is written.
    pub async fn flush(&self) {
        let issued = self.0.next_id.load(Ordering::Relaxed) - 1;
        self.0.work.notify_one();
        while self.0.written.load(Ordering::Relaxed) < issued {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }
}

/// The floor's router, with `token` issued to alice's agent and orders 1
/// to 100 alice's; audit batches go to `sink`.
pub fn router(sink: impl AuditSink, token: &str) -> (Router, FloorAudit) {
    let agent = Principal::agent(
        "assistant",
        "acme",
        ["orders:*"],
        Delegation { user: "alice".into(), roles: vec!["customer".into()] },
    );
    let floor = Arc::new(Floor {
        keys: [(Sha256::digest(token.as_bytes()).into(), Arc::new(agent))].into_iter().collect(),
        user_permissions: [("alice".to_owned(), vec!["orders:read".to_owned(), "orders:write".to_owned()])]
            .into_iter()
            .collect(),
        orders: (1..=100).map(|i| (i.to_string(), ("acme".to_owned(), "alice".to_owned()))).collect(),
        permission: Arc::from(PERMISSION),
        next_id: AtomicU64::new(1),
        queue: Mutex::new(Vec::new()),
        work: Notify::new(),
        written: AtomicU64::new(0),
    });
    tokio::spawn(write_loop(floor.clone(), sink));
    (Router::new().route("/orders/{id}", get(read)).with_state(floor.clone()), FloorAudit(floor))
}

/// `n` as 16 hex digits, on the stack.
fn hex_id(n: u64, buf: &mut [u8; 16]) -> &str {
    for (i, digit) in buf.iter_mut().enumerate() {
        *digit = b"0123456789abcdef"[(n >> (60 - 4 * i)) as usize & 15];
    }
    std::str::from_utf8(buf).unwrap_or_default()
}

/// `a` then `b` in one `Arc<str>`: one allocation.
fn concat_arc(a: &str, b: &str) -> Arc<str> {
    let mut buf = [0u8; 320];
    match buf.get_mut(..a.len() + b.len()) {
        Some(out) => {
            out[..a.len()].copy_from_slice(a.as_bytes());
            out[a.len()..].copy_from_slice(b.as_bytes());
            Arc::from(std::str::from_utf8(out).unwrap_or_default())
        }
        None => Arc::from([a, b].concat()),
    }
}

/// `scope` grants `permission`: equal, or `resource:*` over it.
fn grants(scope: &str, permission: &str) -> bool {
    scope == permission
        || scope.strip_suffix('*').is_some_and(|prefix| prefix.ends_with(':') && permission.starts_with(prefix))
}

async fn read(State(floor): State<Arc<Floor>>, Path(id): Path<String>, uri: Uri, headers: HeaderMap) -> Response {
    let started = Instant::now();
    let Some(key) = headers.get(header::AUTHORIZATION).and_then(|v| v.as_bytes().strip_prefix(b"Bearer ")) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let digest: [u8; 32] = Sha256::digest(key).into();
    let Some(caller) = floor.keys.get(&digest) else { return StatusCode::UNAUTHORIZED.into_response() };
    let user_may = caller
        .on_behalf_of
        .as_ref()
        .and_then(|d| floor.user_permissions.get(&d.user))
        .is_some_and(|perms| perms.iter().any(|p| grants(p, PERMISSION)));
    if !(user_may && caller.scopes.iter().any(|s| grants(s, PERMISSION))) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let owner_ok = floor.orders.get(&id).is_some_and(|(tenant, owner)| {
        *tenant == caller.tenant && caller.on_behalf_of.as_ref().is_some_and(|d| d.user == *owner)
    });
    if !owner_ok {
        return StatusCode::NOT_FOUND.into_response();
    }

    let n = floor.next_id.fetch_add(1, Ordering::Relaxed);
    let record = DecisionRecord {
        ts: SystemTime::now(),
        request_id: RequestId::new(hex_id(n, &mut [0; 16])),
        caller: Some(caller.clone()),
        action: "read",
        method: Method::GET,
        path: Arc::from(uri.path()),
        permission: Some(floor.permission.clone()),
        resource: Some(concat_arc("orders/", &id)),
        decision: Decision::Allow,
        code: "ok",
        latency_us: started.elapsed().as_micros() as u64,
    };
    let first = {
        let Ok(mut queue) = floor.queue.lock() else { return StatusCode::SERVICE_UNAVAILABLE.into_response() };
        queue.push(record);
        queue.len() == 1
    };
    if first {
        floor.work.notify_one();
    }

    let mut response = crate::body(&id).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Takes the whole queue at a time and hands it to the sink, letting ready
/// requests run first while the queue still grows (as the guard's writer
/// does), so one write carries many records.
async fn write_loop(floor: Arc<Floor>, sink: impl AuditSink) {
    let mut batch = Vec::new();
    loop {
        floor.work.notified().await;
        let mut seen = 0;
        loop {
            let queued = floor.queue.lock().map_or(0, |q| q.len());
            if queued == seen || queued >= 512 {
                break;
            }
            seen = queued;
            tokio::task::yield_now().await;
        }
        match floor.queue.lock() {
            Ok(mut queue) => std::mem::swap(&mut *queue, &mut batch),
            Err(_) => return,
        }
        if let Err(err) = sink.write(&batch).await {
            eprintln!("bench-server: floor audit failed: {err}");
            std::process::exit(1);
        }
        floor.written.fetch_add(batch.len() as u64, Ordering::Relaxed);
        batch.clear();
    }
}
