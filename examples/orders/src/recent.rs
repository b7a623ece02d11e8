//! The latest decisions in memory, for the admin's audit page.
//!
//! [`Recent`] is an audit sink that passes every batch on to the app's real
//! sink (the JSON-lines file, or `tracing`) and, once that write succeeded,
//! keeps the records in a bounded ring. The page shows what reached the
//! log, never a record the log lost; the oldest records fall off the ring.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use guard_runtime::audit::AuditSink;
use guard_runtime::{DecisionRecord, StoreError, StoreFuture};

/// How many records the audit page can look back over.
pub const RECENT_CAPACITY: usize = 2_000;

/// The ring shared by the sink (writing) and the audit page (reading).
#[derive(Clone, Debug)]
pub struct RecentDecisions {
    ring: Arc<Mutex<VecDeque<DecisionRecord>>>,
    capacity: usize,
}

impl RecentDecisions {
    /// An empty ring keeping the latest `capacity` records.
    pub fn new(capacity: usize) -> Self {
        RecentDecisions { ring: Arc::new(Mutex::new(VecDeque::with_capacity(capacity))), capacity }
    }

    /// The records kept, newest first.
    pub fn newest_first(&self) -> Vec<DecisionRecord> {
        // A panic while holding the lock leaves whole records behind (each
        // push is one call): the ring stays readable.
        let ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        ring.iter().rev().cloned().collect()
    }

    fn keep(&self, batch: &[DecisionRecord]) {
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        for record in batch {
            if ring.len() == self.capacity {
                ring.pop_front();
            }
            ring.push_back(record.clone());
        }
    }

    /// A sink writing to `inner`, then keeping the batch in this ring.
    pub fn tee<S: AuditSink>(&self, inner: S) -> Recent<S> {
        Recent { inner, recent: self.clone() }
    }
}

/// The sink of [`RecentDecisions::tee`].
#[derive(Debug)]
pub struct Recent<S> {
    inner: S,
    recent: RecentDecisions,
}

impl<S: AuditSink> AuditSink for Recent<S> {
    fn write<'a>(&'a self, batch: &'a [DecisionRecord]) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            // A failed write is retried by guard with the same batch: keep
            // nothing until it is written, so nothing is kept twice.
            self.inner.write(batch).await?;
            self.recent.keep(batch);
            Ok(())
        })
    }

    /// The inner sink's: with `--audit-durable`, keeping a copy in memory
    /// must not make the allow records stop waiting for the disk.
    fn is_durable(&self) -> bool {
        self.inner.is_durable()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::SystemTime;

    use axum::http::Method;
    use guard_runtime::audit::{Decision, MemorySink};
    use guard_runtime::DecisionRecord;

    use super::RecentDecisions;

    fn record(code: &'static str) -> DecisionRecord {
        DecisionRecord {
            ts: SystemTime::now(),
            request_id: None,
            client_request_id: None,
            claim: None,
            caller: None,
            action: "a",
            method: Method::GET,
            path: Arc::from("/"),
            permission: None,
            resource: None,
            decision: Decision::Deny,
            code,
            latency_us: 0,
            via: None,
        }
    }

    #[tokio::test]
    async fn keeps_the_latest_records_newest_first_after_the_inner_sink_wrote_them() {
        use guard_runtime::audit::AuditSink;
        let recent = RecentDecisions::new(2);
        let inner = MemorySink::new();
        let sink = recent.tee(inner.clone());
        sink.write(&[record("one"), record("two"), record("three")]).await.expect("write");
        let codes: Vec<_> = recent.newest_first().iter().map(|r| r.code).collect();
        assert_eq!(codes, ["three", "two"]);
        assert_eq!(inner.records().len(), 3, "the inner sink got every record");
    }

    /// A sink whose every write fails, like a full disk.
    struct Failing;

    impl guard_runtime::audit::AuditSink for Failing {
        fn write<'a>(
            &'a self,
            _batch: &'a [DecisionRecord],
        ) -> guard_runtime::StoreFuture<'a, Result<(), guard_runtime::StoreError>> {
            guard_runtime::StoreFuture::ready(Err(guard_runtime::StoreError::new("audit log", "disk full")))
        }
    }

    #[tokio::test]
    async fn keeps_nothing_the_inner_sink_failed_to_write() {
        use guard_runtime::audit::AuditSink;
        let recent = RecentDecisions::new(4);
        let sink = recent.tee(Failing);
        assert!(sink.write(&[record("lost")]).await.is_err(), "the failure reaches guard, which retries");
        assert!(recent.newest_first().is_empty(), "the page never shows what the log lacks");
    }
}
