//! The sinks guard ships: `tracing` events, a JSON-lines file, memory.

use std::path::Path;
use std::sync::{Arc, Mutex};

use super::line::Lines;
use super::{timestamp, AuditSink, DecisionRecord};
use crate::{CallerKind, StoreError, StoreFuture};

/// Writes records as `tracing` events (target `guard::audit`, level INFO),
/// one structured field per member of the record (the JSON line's names),
/// so a subscriber can filter and index them: `principal`, `decision`,
/// `code`, ... Absent members (`principal` of an unauthenticated request)
/// are left out of the event.
#[derive(Clone, Copy, Debug, Default)]
pub struct TracingSink;

impl AuditSink for TracingSink {
    fn write<'a>(&'a self, batch: &'a [DecisionRecord]) -> StoreFuture<'a, Result<(), StoreError>> {
        let mut ts = [0; timestamp::LEN];
        for record in batch {
            tracing::info!(
                target: "guard::audit",
                ts = timestamp::rfc3339_micros(record.ts, &mut ts),
                request_id = record.request_id.as_deref(),
                client_request_id = record.client_request_id.as_deref(),
                principal = record.principal(),
                principal_kind = record.principal_kind().map(CallerKind::as_str),
                on_behalf_of = record.on_behalf_of(),
                tenant = record.tenant(),
                action = record.action,
                method = record.method.as_str(),
                path = record.path(),
                permission = record.permission.as_deref(),
                resource = record.resource.as_deref(),
                decision = record.decision.as_str(),
                code = record.code,
                claim = record.claim,
                latency_us = record.latency_us,
                "decision"
            );
        }
        StoreFuture::ready(Ok(()))
    }
}

/// Appends records to a file, one JSON object a line.
///
/// Each batch is formatted into a buffer kept between batches, then
/// written with one `write` on Tokio's blocking pool: the runtime's threads
/// never wait on the disk, and a batch costs one hand-off, not one per
/// record.
#[derive(Debug)]
pub struct JsonLinesSink {
    /// Shared with each batch's blocking write without a copy.
    path: Arc<Path>,
    writer: tokio::sync::Mutex<Writer>,
}

#[derive(Debug)]
struct Writer {
    /// Opened on the first write, and again after a failed one.
    file: Option<std::fs::File>,
    buf: Vec<u8>,
    /// Kept from batch to batch, with what the last record shares with
    /// the next.
    lines: Lines,
}

impl JsonLinesSink {
    /// A sink appending to `path` (created if missing, opened on first write).
    pub fn new(path: impl AsRef<Path>) -> Self {
        JsonLinesSink {
            path: Arc::from(path.as_ref()),
            writer: tokio::sync::Mutex::new(Writer { file: None, buf: Vec::new(), lines: Lines::new() }),
        }
    }
}

impl AuditSink for JsonLinesSink {
    fn write<'a>(&'a self, batch: &'a [DecisionRecord]) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            let mut writer = self.writer.lock().await;
            let mut buf = std::mem::take(&mut writer.buf);
            buf.clear();
            for record in batch {
                writer.lines.write(record, &mut buf);
            }
            let (file, path) = (writer.file.take(), self.path.clone());
            let written = tokio::task::spawn_blocking(move || {
                let result = append(file, &path, &buf);
                (result, buf)
            })
            .await;
            let (result, buf) = written.map_err(|e| StoreError::new("audit log", e))?;
            writer.buf = buf;
            // On an error the file is dropped: the retry reopens it.
            writer.file = Some(result.map_err(|e| StoreError::new("audit log", e))?);
            Ok(())
        })
    }
}

/// Appends `bytes` to `file`, opening `path` first if there is no file.
/// A write that fails part-way is cut back off, so the retry of the whole
/// batch leaves neither a torn line nor a duplicate (the file is the sink's
/// own: nothing else appends to it).
fn append(file: Option<std::fs::File>, path: &Path, bytes: &[u8]) -> std::io::Result<std::fs::File> {
    use std::io::Write;
    let mut file = match file {
        Some(file) => file,
        None => std::fs::OpenOptions::new().create(true).append(true).open(path)?,
    };
    let start = file.metadata()?.len();
    if let Err(err) = file.write_all(bytes) {
        let _ = file.set_len(start);
        return Err(err);
    }
    Ok(file)
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
    fn write<'a>(&'a self, batch: &'a [DecisionRecord]) -> StoreFuture<'a, Result<(), StoreError>> {
        let done = self
            .records
            .lock()
            .map(|mut r| r.extend_from_slice(batch))
            .map_err(|_| StoreError::new("memory audit sink", "lock poisoned"));
        StoreFuture::ready(done)
    }
}
