//! The floor: the least work the orders contract asks of a guarded read,
//! written by hand as a plain axum handler, with no framework.
//!
//! It does what no implementation of the contract can skip, each step as
//! cheaply as this machine allows, and nothing else:
//!
//! * parse the bearer header as strictly as the guard (one header, the
//!   scheme in any case, 1 to 512 visible ASCII characters), hash the key
//!   (keys are kept hashed) and look the digest up, as raw bytes, in a map
//!   that never changes (no lock, no hex);
//! * intersect the agent's scopes with its user's permissions;
//! * check the key's shape, look the order up and compare tenant and
//!   owner, borrowing (no copy);
//! * build the audit record (time, latency, request id, caller, path,
//!   permission, resource) and queue it, bounded as the guard's queue is,
//!   for a writer task that hands batches to guard's own sink, so the
//!   sink's cost is nearly the guard's (the floor's ids are shorter: 16
//!   characters against 29);
//! * answer with `Cache-Control: no-store`.
//!
//! It skips what the guard does beyond that: the `x-request-id` header,
//! the probing counters' switch, the problem renderer, the spec lookups,
//! and (on refusals, which the bench never sends) auditing and problem
//! bodies. It is one implementation, not a proof about all of them: it
//! shows what the contract's work costs when written plainly.
//!
//! `floor-min-null` goes further, below what guard's design allows: its
//! record is 64 bytes with no allocation (the key inline, the id a counter,
//! the constant strings left out) instead of a `DecisionRecord`, it reads
//! the clock twice instead of three times, and its writer drops the
//! records instead of handing them to an `AuditSink` (guard's design
//! sends every decision, as a `DecisionRecord`, to an audit sink).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use guard_runtime::audit::Decision;
use guard_runtime::{AuditSink, DecisionRecord, Delegation, Principal, RequestId};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

const PERMISSION: &str = "orders:read";
/// The guard's audit queue capacity in the bench.
const QUEUE_CAPACITY: usize = 8192;

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
    /// `floor-min-null`'s records.
    min_queue: Mutex<Vec<MinRecord>>,
}

/// The least a record can hold, in order: when, how long (µs), which
/// request, who, and which object (the key's length, then the key inline).
/// The action, method, permission and resource type are this route's
/// constants. Plain data: its writer only drops it, so nothing names the
/// parts.
type MinRecord = (SystemTime, u64, u64, Arc<Principal>, u8, [u8; 23]);

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
    let floor = new_floor(token);
    tokio::spawn(write_loop(floor.clone(), sink));
    (Router::new().route("/orders/{id}", get(read)).with_state(floor.clone()), FloorAudit(floor))
}

/// `floor-min-null`: see the module's doc.
pub fn min_router(token: &str) -> Router {
    let floor = new_floor(token);
    tokio::spawn(drop_min_records(floor.clone()));
    Router::new().route("/orders/{id}", get(read_min)).with_state(floor)
}

/// The floor's state: alice's agent under `token`, orders 1 to 100 alice's.
fn new_floor(token: &str) -> Arc<Floor> {
    let agent = Principal::agent(
        "assistant",
        "acme",
        ["orders:*"],
        Delegation { user: "alice".into(), roles: vec!["customer".into()] },
    );
    Arc::new(Floor {
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
        min_queue: Mutex::new(Vec::new()),
    })
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

/// Authentication, the agent's permission, tenant and owner: the caller,
/// or the refusal's status.
fn check<'f>(floor: &'f Floor, headers: &HeaderMap, id: &str) -> Result<&'f Arc<Principal>, StatusCode> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else { return Err(StatusCode::UNAUTHORIZED) };
    let (scheme, key) = value.as_bytes().split_at_checked(7).ok_or(StatusCode::UNAUTHORIZED)?;
    let key_ok = (1..=512).contains(&key.len()) && key.iter().all(u8::is_ascii_graphic);
    if !(key_ok && scheme.eq_ignore_ascii_case(b"bearer ")) {
        return Err(StatusCode::UNAUTHORIZED);
    }
    let digest: [u8; 32] = Sha256::digest(key).into();
    let caller = floor.keys.get(&digest).ok_or(StatusCode::UNAUTHORIZED)?;
    let user_may = caller
        .on_behalf_of
        .as_ref()
        .and_then(|d| floor.user_permissions.get(&d.user))
        .is_some_and(|perms| perms.iter().any(|p| grants(p, PERMISSION)));
    if !(user_may && caller.scopes.iter().any(|s| grants(s, PERMISSION))) {
        return Err(StatusCode::FORBIDDEN);
    }
    if id.is_empty() || id.len() > 256 || id.chars().any(char::is_control) {
        return Err(StatusCode::NOT_FOUND);
    }
    let owner_ok = floor.orders.get(id).is_some_and(|(tenant, owner)| {
        *tenant == caller.tenant && caller.on_behalf_of.as_ref().is_some_and(|d| d.user == *owner)
    });
    if !owner_ok {
        return Err(StatusCode::NOT_FOUND);
    }
    Ok(caller)
}

/// The body's answer, never cached.
fn answer(id: &str) -> Response {
    let mut response = crate::body(id).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

// The request is taken whole: axum's `HeaderMap` and `Uri` extractors
// would clone them, work the guard (which reads the request's parts) does
// not do.
async fn read(State(floor): State<Arc<Floor>>, Path(id): Path<String>, request: Request) -> Response {
    let started = Instant::now();
    let caller = match check(&floor, request.headers(), &id) {
        Ok(caller) => caller,
        Err(status) => return status.into_response(),
    };

    let n = floor.next_id.fetch_add(1, Ordering::Relaxed);
    let record = DecisionRecord {
        ts: SystemTime::now(),
        request_id: RequestId::new(hex_id(n, &mut [0; 16])),
        client_request_id: None,
        claim: None,
        caller: Some(caller.clone()),
        action: "read",
        method: Method::GET,
        path: Arc::from(request.uri().path()),
        permission: Some(floor.permission.clone()),
        resource: Some(concat_arc("orders/", &id)),
        decision: Decision::Allow,
        code: "ok",
        via: None,
        latency_us: started.elapsed().as_micros() as u64,
    };
    match push(&floor.work, &floor.queue, record) {
        Ok(()) => answer(&id),
        Err(status) => status.into_response(),
    }
}

async fn read_min(State(floor): State<Arc<Floor>>, Path(id): Path<String>, request: Request) -> Response {
    let started = SystemTime::now();
    let caller = match check(&floor, request.headers(), &id) {
        Ok(caller) => caller,
        Err(status) => return status.into_response(),
    };
    let mut key = [0u8; 23];
    let Some(inline) = key.get_mut(..id.len()) else { return StatusCode::NOT_FOUND.into_response() };
    inline.copy_from_slice(id.as_bytes());
    let ts = SystemTime::now();
    let record: MinRecord = (
        ts,
        ts.duration_since(started).unwrap_or_default().as_micros() as u64,
        floor.next_id.fetch_add(1, Ordering::Relaxed),
        caller.clone(),
        id.len() as u8,
        key,
    );
    match push(&floor.work, &floor.min_queue, record) {
        Ok(()) => answer(&id),
        Err(status) => status.into_response(),
    }
}

/// Queues `record` and wakes the writer if the queue was empty; 503 when
/// it is full (the writer does not keep up) or its lock is poisoned.
fn push<T>(work: &Notify, queue: &Mutex<Vec<T>>, record: T) -> Result<(), StatusCode> {
    let first = {
        let mut queue = queue.lock().map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
        if queue.len() >= QUEUE_CAPACITY {
            return Err(StatusCode::SERVICE_UNAVAILABLE);
        }
        queue.push(record);
        queue.len() == 1
    };
    if first {
        work.notify_one();
    }
    Ok(())
}

/// Waits for work, lets ready requests run while the queue still grows (as
/// the guard's writer does, so one batch carries many records), then swaps
/// the queue's records into the empty `batch`. False if the lock is
/// poisoned.
async fn take_batch<T>(work: &Notify, queue: &Mutex<Vec<T>>, batch: &mut Vec<T>) -> bool {
    work.notified().await;
    let mut seen = 0;
    loop {
        let queued = queue.lock().map_or(0, |q| q.len());
        if queued == seen || queued >= 512 {
            break;
        }
        seen = queued;
        tokio::task::yield_now().await;
    }
    match queue.lock() {
        Ok(mut queue) => {
            std::mem::swap(&mut *queue, batch);
            true
        }
        Err(_) => false,
    }
}

/// Hands each batch to the sink.
async fn write_loop(floor: Arc<Floor>, sink: impl AuditSink) {
    let mut batch = Vec::new();
    while take_batch(&floor.work, &floor.queue, &mut batch).await {
        if let Err(err) = sink.write(&batch).await {
            eprintln!("bench-server: floor audit failed: {err}");
            std::process::exit(1);
        }
        floor.written.fetch_add(batch.len() as u64, Ordering::Relaxed);
        batch.clear();
    }
}

/// `floor-min-null`'s writer: takes the batches, and drops them.
async fn drop_min_records(floor: Arc<Floor>) {
    let mut batch = Vec::new();
    while take_batch(&floor.work, &floor.min_queue, &mut batch).await {
        batch.clear();
    }
}
