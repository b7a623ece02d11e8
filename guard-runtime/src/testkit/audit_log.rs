//! Reading the app's decision records back, to prove each refusal was
//! audited and that no body ran.

use std::path::PathBuf;

use crate::audit::{Decision, MemorySink};
use crate::AuditHandle;

/// Where the sweep reads the app's decision records: the sink the app was
/// mounted with, and the [`AuditHandle`] that flushes records to it.
///
/// ```no_run
/// use guard_runtime::audit::MemorySink;
/// use guard_runtime::testkit::AuditSource;
/// # fn demo(actions: guard_runtime::Actions) {
/// let sink = MemorySink::new();
/// let actions = actions.audit(sink.clone(), 1024);
/// let audit = AuditSource::memory(sink, actions.audit_handle());
/// # let _ = audit;
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct AuditSource {
    place: Place,
    handle: AuditHandle,
}

#[derive(Clone, Debug)]
enum Place {
    Memory(MemorySink),
    JsonLines(PathBuf),
}

/// The part of a decision record the sweep checks. The sweep names each of
/// its requests with an `x-request-id` of its own, which the record keeps
/// as `client_request_id`.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) request_id: String,
    pub(crate) allow: bool,
    pub(crate) code: String,
}

impl AuditSource {
    /// Records kept by a [`MemorySink`] the app was mounted with
    /// (`Actions::audit(sink.clone(), …)`).
    pub fn memory(sink: MemorySink, handle: AuditHandle) -> Self {
        AuditSource { place: Place::Memory(sink), handle }
    }

    /// Records appended to a JSON-lines file by a
    /// [`JsonLinesSink`](crate::audit::JsonLinesSink) the app was mounted with.
    pub fn json_lines(path: impl Into<PathBuf>, handle: AuditHandle) -> Self {
        AuditSource { place: Place::JsonLines(path.into()), handle }
    }

    /// Flushes, then reads every record that carries the sweep's request id.
    pub(crate) async fn entries(&self) -> Result<Vec<Entry>, String> {
        self.handle.flush().await.map_err(|e| format!("audit flush failed: {e}"))?;
        match &self.place {
            Place::Memory(sink) => Ok(sink
                .records()
                .into_iter()
                .filter_map(|r| {
                    Some(Entry {
                        request_id: r.client_request_id.as_deref()?.to_owned(),
                        allow: r.decision == Decision::Allow,
                        code: r.code.to_string(),
                    })
                })
                .collect()),
            Place::JsonLines(path) => {
                let text = match tokio::fs::read_to_string(path).await {
                    Ok(text) => text,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
                    Err(e) => return Err(format!("cannot read the audit log {}: {e}", path.display())),
                };
                let mut entries = Vec::new();
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    let value: serde_json::Value = serde_json::from_str(line)
                        .map_err(|e| format!("audit log {}: a line is not JSON: {e}", path.display()))?;
                    let Some(request_id) = value["client_request_id"].as_str() else { continue };
                    entries.push(Entry {
                        request_id: request_id.to_owned(),
                        allow: value["decision"] == "allow",
                        code: value["code"].as_str().unwrap_or_default().to_owned(),
                    });
                }
                Ok(entries)
            }
        }
    }
}
