//! Decision records and where they go.
//!
//! Every decision of the guard, allow or deny, becomes one [`DecisionRecord`].
//! Records go into a bounded queue that a background task empties in
//! batches into the [`AuditSink`], so requests never wait on file or network
//! I/O; when the queue is full, requests wait for room (back-pressure)
//! rather than drop a record. When the sink fails, the batch
//! is kept and retried, and until it succeeds every request answers 503:
//! guard does not act unaudited.

use std::sync::Arc;
use std::time::SystemTime;

use axum::http::Method;
use serde::Serialize;

use crate::{CallerKind, Principal, RequestId, StoreError, StoreFuture};

mod chain;
mod line;
mod queue;
mod sinks;
mod timestamp;

pub use chain::{verify, BreakKind, Broken, HmacKey, KeyError, Verified};
pub(crate) use queue::{Auditor, Reserved};
pub use sinks::{JsonLinesSink, MemorySink, SyncCount, TracingSink};

/// Allowed or denied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// The body ran (or is about to).
    Allow,
    /// The request was refused before the body.
    Deny,
}

impl Decision {
    /// `"allow"` or `"deny"`, as the log writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
        }
    }
}

/// One authorization decision, as written to the audit log.
///
/// Built once per request from shared parts: the request id (one
/// allocation), a copy of the path, the
/// resource id, the principal and the permission are shared by the
/// request's records, and the writer flattens them into the
/// contract's JSON fields (`ts, request_id, client_request_id, principal, principal_kind,
/// on_behalf_of, tenant, action, method, path, permission, resource,
/// decision, code, claim, latency_us`).
#[derive(Clone, Debug)]
pub struct DecisionRecord {
    /// Time of the decision; written as RFC 3339 UTC with microseconds.
    pub ts: SystemTime,
    /// The request's id, made by the server and unique: a client cannot
    /// choose it, so two requests never share one. See [`RequestId`].
    pub request_id: Option<RequestId>,
    /// The client's own `x-request-id`, if it sent one well-formed: kept
    /// for correlation beside the server's `request_id`, never instead of it.
    pub client_request_id: Option<RequestId>,
    /// For a `binding_failed` denial: the claim of the credential that was
    /// missing or different (never its value).
    pub claim: Option<&'static str>,
    /// The caller; `None` when unauthenticated.
    pub caller: Option<Arc<Principal>>,
    /// The action's name (its function's name).
    pub action: &'static str,
    /// HTTP method.
    pub method: Method,
    /// The request's path, without the query (which may carry what does
    /// not belong in a log). Copied once per request and shared by its
    /// records: the request's own URI points into the server's read
    /// buffer, which a queued record must not keep alive.
    pub path: Arc<str>,
    /// The permissions required, comma-separated; `None` for public and
    /// authenticated-only actions.
    pub permission: Option<Arc<str>>,
    /// `resource/key` of the object named, if any.
    pub resource: Option<Arc<str>>,
    /// Allow or deny.
    pub decision: Decision,
    /// `ok`, or the refusal's code.
    pub code: &'static str,
    /// Time from the request reaching the guard to the decision.
    pub latency_us: u64,
}

impl DecisionRecord {
    /// The request path, without the query (`path` in the log).
    pub fn path(&self) -> &str {
        &self.path
    }

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
        let mut out = serializer.serialize_struct("DecisionRecord", 16)?;
        out.serialize_field("ts", timestamp::rfc3339_micros(self.ts, &mut [0; timestamp::LEN]))?;
        out.serialize_field("request_id", &self.request_id.as_deref())?;
        out.serialize_field("client_request_id", &self.client_request_id.as_deref())?;
        out.serialize_field("principal", &self.principal())?;
        out.serialize_field("principal_kind", &self.principal_kind())?;
        out.serialize_field("on_behalf_of", &self.on_behalf_of())?;
        out.serialize_field("tenant", &self.tenant())?;
        out.serialize_field("action", self.action)?;
        out.serialize_field("method", self.method.as_str())?;
        out.serialize_field("path", self.path())?;
        out.serialize_field("permission", &self.permission.as_deref())?;
        out.serialize_field("resource", &self.resource.as_deref())?;
        out.serialize_field("decision", &self.decision)?;
        out.serialize_field("code", self.code)?;
        out.serialize_field("claim", &self.claim)?;
        out.serialize_field("latency_us", &self.latency_us)?;
        out.end()
    }
}

/// Where decision records are written.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a guard audit sink",
    label = "expected a `guard_runtime::AuditSink`, such as `JsonLinesSink` or `TracingSink`",
    note = "implement `guard_runtime::audit::AuditSink`; its documentation (`cargo doc -p guard-runtime --open`) says what to implement"
)]
pub trait AuditSink: Send + Sync + 'static {
    /// Writes a batch durably enough for the app's needs. An error keeps the
    /// batch for a retry and makes the guard deny (503) until a retry succeeds.
    fn write<'a>(&'a self, batch: &'a [DecisionRecord]) -> StoreFuture<'a, Result<(), StoreError>>;

    /// Whether [`write`](AuditSink::write) returns only once the batch is
    /// on stable storage. If so, the guard waits for each request's allow
    /// record to be written before the body runs (a durable allow).
    /// Default: no, the body runs once the record is queued.
    fn is_durable(&self) -> bool {
        false
    }
}
