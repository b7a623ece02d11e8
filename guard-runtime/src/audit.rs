//! Decision records and where they go.
//!
//! Every decision of the guard, allow or deny, becomes one [`DecisionRecord`].
//! Records travel through a bounded channel to a background task that hands
//! them in batches to the [`AuditSink`], so requests never wait on file or
//! network I/O; when the channel is full, requests wait for room
//! (back-pressure) rather than drop a record. When the sink fails, the batch
//! is kept and retried, and until it succeeds every request answers 503:
//! guard does not act unaudited.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot};

use axum::http::Method;

use crate::{BoxFuture, CallerKind, Principal, StoreError};

/// Allowed or denied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// The body ran (or is about to).
    Allow,
    /// The request was refused before the body.
    Deny,
}

/// One authorization decision, as written to the audit log.
///
/// Built on the request path without copying: the principal, the request
/// id and the permission are shared, and the writer flattens them into the
/// contract's JSON fields (`ts, request_id, principal, principal_kind,
/// on_behalf_of, tenant, action, method, path, permission, resource,
/// decision, code, latency_us`).
#[derive(Clone, Debug)]
pub struct DecisionRecord {
    /// Time of the decision; written as RFC 3339 UTC with microseconds.
    pub ts: SystemTime,
    /// The request's `x-request-id`.
    pub request_id: Option<Arc<str>>,
    /// The caller; `None` when unauthenticated.
    pub caller: Option<Arc<Principal>>,
    /// The action's name (its function's name).
    pub action: &'static str,
    /// HTTP method.
    pub method: Method,
    /// Request path (without query).
    pub path: String,
    /// The permissions required, comma-separated; `None` for public and
    /// authenticated-only actions.
    pub permission: Option<Arc<str>>,
    /// `resource/key` of the object named, if any.
    pub resource: Option<String>,
    /// Allow or deny.
    pub decision: Decision,
    /// `ok`, or the refusal's code.
    pub code: &'static str,
    /// Time from the request reaching the guard to the decision.
    pub latency_us: u64,
}

impl DecisionRecord {
    /// The caller's id (`principal` in the log).
    pub fn principal(&self) -> Option<&str> {
        self.caller.as_deref().map(|p| p.id.as_str())
    }

    /// The caller's kind.
    pub fn principal_kind(&self) -> Option<CallerKind> {
        self.caller.as_deref().map(|p| p.kind)
    }

    /// For an agent: the user it acts for.
    pub fn on_behalf_of(&self) -> Option<&str> {
        self.caller.as_deref().and_then(|p| p.on_behalf_of.as_ref()).map(|d| d.user.as_str())
    }

    /// The caller's tenant.
    pub fn tenant(&self) -> Option<&str> {
        self.caller.as_deref().map(|p| p.tenant.as_str())
    }
}

impl Serialize for DecisionRecord {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = serializer.serialize_struct("DecisionRecord", 14)?;
        out.serialize_field("ts", &format_args!("{}", humantime::format_rfc3339_micros(self.ts)))?;
        out.serialize_field("request_id", &self.request_id.as_deref())?;
        out.serialize_field("principal", &self.principal())?;
        out.serialize_field("principal_kind", &self.principal_kind())?;
        out.serialize_field("on_behalf_of", &self.on_behalf_of())?;
        out.serialize_field("tenant", &self.tenant())?;
        out.serialize_field("action", self.action)?;
        out.serialize_field("method", self.method.as_str())?;
        out.serialize_field("path", &self.path)?;
        out.serialize_field("permission", &self.permission.as_deref())?;
        out.serialize_field("resource", &self.resource)?;
        out.serialize_field("decision", &self.decision)?;
        out.serialize_field("code", self.code)?;
        out.serialize_field("latency_us", &self.latency_us)?;
        out.end()
    }
}

/// Where decision records are written.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a guard audit sink",
    label = "expected a `guard_runtime::AuditSink`, such as `JsonLinesSink` or `TracingSink`",
    note = "see https://docs.rs/guard-runtime/latest/guard_runtime/audit/trait.AuditSink.html"
)]
pub trait AuditSink: Send + Sync + 'static {
    /// Writes a batch durably enough for the app's needs. An error keeps the
    /// batch for a retry and makes the guard deny (503) until a retry succeeds.
    fn write<'a>(&'a self, batch: &'a [DecisionRecord]) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// Writes records as `tracing` events (target `guard::audit`, level INFO).
#[derive(Clone, Copy, Debug, Default)]
pub struct TracingSink;

impl AuditSink for TracingSink {
    fn write<'a>(&'a self, batch: &'a [DecisionRecord]) -> BoxFuture<'a, Result<(), StoreError>> {
        for record in batch {
            let line = serde_json::to_string(record).unwrap_or_default();
            tracing::info!(target: "guard::audit", decision = ?record.decision, code = record.code, record = %line);
        }
        Box::pin(std::future::ready(Ok(())))
    }
}

/// Appends records to a file, one JSON object a line.
#[derive(Debug)]
pub struct JsonLinesSink {
    path: PathBuf,
    file: tokio::sync::Mutex<Option<tokio::fs::File>>,
}

impl JsonLinesSink {
    /// A sink appending to `path` (created if missing, opened on first write).
    pub fn new(path: impl AsRef<Path>) -> Self {
        JsonLinesSink { path: path.as_ref().to_owned(), file: tokio::sync::Mutex::new(None) }
    }
}

impl AuditSink for JsonLinesSink {
    fn write<'a>(&'a self, batch: &'a [DecisionRecord]) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut buf = Vec::with_capacity(batch.len() * 320);
            for record in batch {
                serde_json::to_writer(&mut buf, record).map_err(|e| StoreError::new("audit log", e))?;
                buf.push(b'\n');
            }
            let mut file = self.file.lock().await;
            if file.is_none() {
                let opened = tokio::fs::OpenOptions::new().create(true).append(true).open(&self.path).await;
                *file = Some(opened.map_err(|e| StoreError::new("audit log", e))?);
            }
            if let Some(f) = file.as_mut() {
                let written = async {
                    f.write_all(&buf).await?;
                    f.flush().await
                };
                if let Err(e) = written.await {
                    *file = None; // reopen on retry
                    return Err(StoreError::new("audit log", e));
                }
            }
            Ok(())
        })
    }
}

/// Keeps records in memory: for tests, yours and guard's.
#[derive(Clone, Debug, Default)]
pub struct MemorySink {
    records: Arc<Mutex<Vec<DecisionRecord>>>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every record written so far (call [`AuditHandle::flush`](crate::AuditHandle::flush) first).
    pub fn records(&self) -> Vec<DecisionRecord> {
        self.records.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl AuditSink for MemorySink {
    fn write<'a>(&'a self, batch: &'a [DecisionRecord]) -> BoxFuture<'a, Result<(), StoreError>> {
        let done = self
            .records
            .lock()
            .map(|mut r| r.extend_from_slice(batch))
            .map_err(|_| StoreError::new("memory audit sink", "lock poisoned"));
        Box::pin(std::future::ready(done))
    }
}

enum Message {
    Record(DecisionRecord),
    Flush(oneshot::Sender<()>),
}

/// The request side of the audit channel. The writer task starts on the
/// first record, inside whatever Tokio runtime serves the app.
pub(crate) struct Auditor {
    sink: Arc<dyn AuditSink>,
    capacity: usize,
    sender: OnceLock<mpsc::Sender<Message>>,
    failing: Arc<AtomicBool>,
}

impl Auditor {
    pub(crate) fn new(sink: Arc<dyn AuditSink>, capacity: usize) -> Self {
        Auditor { sink, capacity, sender: OnceLock::new(), failing: Arc::new(AtomicBool::new(false)) }
    }

    fn sender(&self) -> &mpsc::Sender<Message> {
        self.sender.get_or_init(|| {
            let (tx, rx) = mpsc::channel(self.capacity);
            tokio::spawn(write_loop(rx, self.sink.clone(), self.failing.clone()));
            tx
        })
    }

    /// Whether the sink is currently failing: the guard then denies.
    pub(crate) fn is_failing(&self) -> bool {
        self.failing.load(Ordering::Relaxed)
    }

    /// Queues a record, waiting for room when the channel is full.
    pub(crate) async fn send(&self, record: DecisionRecord) -> Result<(), StoreError> {
        let stopped = || StoreError::new("audit channel", "writer stopped");
        // The channel has room almost always: no future, no waker. When it
        // is full, wait for room (boxed, so the common path stays small).
        match self.sender().try_send(Message::Record(record)) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(message)) => {
                Box::pin(self.sender().send(message)).await.map_err(|_| stopped())
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(stopped()),
        }
    }

    /// Waits until every record queued before this call is written.
    pub(crate) async fn flush(&self) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        self.sender().send(Message::Flush(tx)).await.map_err(|_| StoreError::new("audit channel", "writer stopped"))?;
        rx.await.map_err(|_| StoreError::new("audit channel", "writer stopped"))
    }
}

/// The most records handed to the sink in one write.
const BATCH: usize = 1024;

async fn write_loop(mut rx: mpsc::Receiver<Message>, sink: Arc<dyn AuditSink>, failing: Arc<AtomicBool>) {
    let mut messages = Vec::with_capacity(BATCH);
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut messages, BATCH).await > 0 {
        // Coalesce: one write per record would cost a system call per
        // request. Let the requests that are ready run first and queue their
        // records, unless a caller is waiting on a flush.
        if messages.len() < BATCH / 4 && !messages.iter().any(|m| matches!(m, Message::Flush(_))) {
            tokio::task::yield_now().await;
            while messages.len() < BATCH {
                match rx.try_recv() {
                    Ok(message) => messages.push(message),
                    Err(_) => break,
                }
            }
        }
        let mut flushes = Vec::new();
        for message in messages.drain(..) {
            match message {
                Message::Record(record) => batch.push(record),
                Message::Flush(done) => flushes.push(done),
            }
        }
        let mut backoff = Duration::from_millis(10);
        while !batch.is_empty() {
            match sink.write(&batch).await {
                Ok(()) => {
                    batch.clear();
                    failing.store(false, Ordering::Relaxed);
                }
                Err(err) => {
                    failing.store(true, Ordering::Relaxed);
                    tracing::error!(target: "guard::audit", error = %err, pending = batch.len(), "audit sink failed; denying until it recovers");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}
