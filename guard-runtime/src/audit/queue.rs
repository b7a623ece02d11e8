//! The queue between requests and the sink.
//!
//! A request pushes its record under a lock and returns: no I/O, no
//! serialization, no allocation once the queue has grown. One writer task
//! takes the whole queue at a time (swapping in its emptied buffer) and
//! hands it to the sink as one batch. A bounded channel would do the same
//! job one record at a time on both sides; this is the batching the sink
//! wants, at a lock per record.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use tokio::sync::{oneshot, Notify};

use super::{AuditSink, DecisionRecord};
use crate::{StoreError, StoreFuture};

/// The request side of the audit queue. The writer task starts with the
/// first record, inside whatever Tokio runtime serves the app.
pub(crate) struct Auditor {
    sink: Arc<dyn AuditSink>,
    shared: Arc<Shared>,
    writer: OnceLock<()>,
}

struct Shared {
    queue: Mutex<Queue>,
    capacity: usize,
    /// Wakes the writer: the queue went from empty to not.
    work: Notify,
    /// Wakes requests waiting for room.
    room: Notify,
    /// The sink's last write failed: the guard denies until one succeeds.
    failing: AtomicBool,
    /// The writer is gone (its runtime shut down): nothing can be audited.
    stopped: AtomicBool,
}

#[derive(Default)]
struct Queue {
    records: Vec<DecisionRecord>,
    /// Flushes waiting for every record queued before them: all of those
    /// are in the batch the writer takes together with the flush.
    flushes: Vec<oneshot::Sender<()>>,
}

fn stopped() -> StoreError {
    StoreError::new("audit queue", "writer stopped")
}

impl Shared {
    fn lock(&self) -> Result<MutexGuard<'_, Queue>, StoreError> {
        self.queue.lock().map_err(|_| StoreError::new("audit queue", "lock poisoned"))
    }

    /// Queues `record` if there is room; hands it back if not.
    fn try_push(&self, record: DecisionRecord) -> Result<Result<(), DecisionRecord>, StoreError> {
        if self.stopped.load(Ordering::Acquire) {
            return Err(stopped());
        }
        let mut queue = self.lock()?;
        if queue.records.len() >= self.capacity {
            return Ok(Err(record));
        }
        queue.records.push(record);
        let first = queue.records.len() == 1 && queue.flushes.is_empty();
        drop(queue);
        if first {
            self.work.notify_one();
        }
        Ok(Ok(()))
    }
}

impl Auditor {
    pub(crate) fn new(sink: Arc<dyn AuditSink>, capacity: usize) -> Self {
        let shared = Shared {
            queue: Mutex::new(Queue::default()),
            capacity,
            work: Notify::new(),
            room: Notify::new(),
            failing: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
        };
        Auditor { sink, shared: Arc::new(shared), writer: OnceLock::new() }
    }

    fn start(&self) {
        self.writer.get_or_init(|| {
            tokio::spawn(write_loop(self.shared.clone(), self.sink.clone()));
        });
    }

    /// Whether the sink is currently failing: the guard then denies.
    pub(crate) fn is_failing(&self) -> bool {
        self.shared.failing.load(Ordering::Relaxed)
    }

    /// Queues a record; when the queue is full, waits for room
    /// (back-pressure) rather than drop it. Only that wait is boxed.
    pub(crate) fn send(&self, record: DecisionRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        self.start();
        match self.shared.try_push(record) {
            Ok(Ok(())) => StoreFuture::ready(Ok(())),
            Ok(Err(record)) => StoreFuture::new(self.wait_for_room(record)),
            Err(err) => StoreFuture::ready(Err(err)),
        }
    }

    async fn wait_for_room(&self, mut record: DecisionRecord) -> Result<(), StoreError> {
        loop {
            let room = self.shared.room.notified();
            tokio::pin!(room);
            // Registered before trying, so a batch taken in between still
            // wakes this request.
            room.as_mut().enable();
            match self.shared.try_push(record)? {
                Ok(()) => return Ok(()),
                Err(back) => record = back,
            }
            room.await;
        }
    }

    /// Waits until every record queued before this call is written.
    pub(crate) async fn flush(&self) -> Result<(), StoreError> {
        self.start();
        let (done, written) = oneshot::channel();
        if self.shared.stopped.load(Ordering::Acquire) {
            return Err(stopped());
        }
        self.shared.lock()?.flushes.push(done);
        self.shared.work.notify_one();
        written.await.map_err(|_| stopped())
    }
}

/// Below this many queued records the writer first lets the requests that
/// are ready run, so one write carries many records, not one each.
const COALESCE_BELOW: usize = 512;

/// Marks the queue stopped when the writer task ends or is dropped with
/// its runtime, so requests answer 503 instead of waiting forever.
struct StopOnDrop(Arc<Shared>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stopped.store(true, Ordering::Release);
        self.0.room.notify_waiters();
    }
}

async fn write_loop(shared: Arc<Shared>, sink: Arc<dyn AuditSink>) {
    let _stop = StopOnDrop(shared.clone());
    let mut batch = Vec::new();
    loop {
        shared.work.notified().await;
        // Coalesce: while requests keep adding records, let them run first,
        // so one write carries many records (a write costs a hand-off to a
        // blocking thread and a system call). Stop as soon as the queue stops
        // growing, a flush waits, or the batch is big enough.
        let mut seen = 0;
        loop {
            let (queued, flushing) = match shared.lock() {
                Ok(queue) => (queue.records.len(), !queue.flushes.is_empty()),
                Err(_) => return,
            };
            if flushing || queued >= COALESCE_BELOW || (seen > 0 && queued == seen) {
                break;
            }
            seen = queued;
            tokio::task::yield_now().await;
        }
        let flushes = match shared.lock() {
            Ok(mut queue) => {
                std::mem::swap(&mut queue.records, &mut batch);
                std::mem::take(&mut queue.flushes)
            }
            Err(_) => return,
        };
        shared.room.notify_waiters();
        {
            static B: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            static R: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let b = B.fetch_add(1, Ordering::Relaxed) + 1;
            let r = R.fetch_add(batch.len(), Ordering::Relaxed) + batch.len();
            if b % 5000 == 0 {
                eprintln!("TMPSTAT batches {b} records {r} avg {}", r / b);
            }
        }
        let mut backoff = Duration::from_millis(10);
        while !batch.is_empty() {
            match sink.write(&batch).await {
                Ok(()) => {
                    batch.clear();
                    shared.failing.store(false, Ordering::Relaxed);
                }
                Err(err) => {
                    shared.failing.store(true, Ordering::Relaxed);
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
