//! The sinks guard ships: `tracing` events, a JSON-lines file, memory.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::io::AsyncWriteExt;

use super::{AuditSink, DecisionRecord};
use crate::{StoreError, StoreFuture};

/// Writes records as `tracing` events (target `guard::audit`, level INFO).
#[derive(Clone, Copy, Debug, Default)]
pub struct TracingSink;

impl AuditSink for TracingSink {
    fn write<'a>(&'a self, batch: &'a [DecisionRecord]) -> StoreFuture<'a, Result<(), StoreError>> {
        for record in batch {
            let line = serde_json::to_string(record).unwrap_or_default();
            tracing::info!(target: "guard::audit", decision = ?record.decision, code = record.code, record = %line);
        }
        StoreFuture::ready(Ok(()))
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
    fn write<'a>(&'a self, batch: &'a [DecisionRecord]) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            let mut buf = Vec::with_capacity(batch.len() * 320);
            for record in batch {
                super::line::write_line(record, &mut buf);
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
    fn write<'a>(&'a self, batch: &'a [DecisionRecord]) -> StoreFuture<'a, Result<(), StoreError>> {
        let done = self
            .records
            .lock()
            .map(|mut r| r.extend_from_slice(batch))
            .map_err(|_| StoreError::new("memory audit sink", "lock poisoned"));
        StoreFuture::ready(done)
    }
}
