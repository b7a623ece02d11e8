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
    /// The sink's [`AuditSink::is_durable`], read once.
    durable: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    capacity: usize,
    /// Wakes the writer: the queue went from empty to not, or a flush waits.
    work: Notify,
    /// Wakes requests waiting for room (or to learn that none will come).
    room: Notify,
    /// The sink's last write failed: the guard denies until one succeeds.
    failing: AtomicBool,
}

#[derive(Default)]
struct Queue {
    records: Vec<DecisionRecord>,
    /// Flushes waiting for every record queued before them: all of those
    /// are in the batch the writer takes together with the flush.
    /// Each learns whether they were (`false`: the sink failed, the records
    /// are kept for its retry).
    flushes: Vec<oneshot::Sender<bool>>,
    /// The writer is gone (its runtime shut down): nothing can be audited.
    /// Under the lock, so no record is accepted after the writer's end.
    stopped: bool,
    /// Places promised to records not pushed yet (see [`Reserved`]): they
    /// count toward the capacity.
    reserved: usize,
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
        let mut queue = self.lock()?;
        if queue.stopped {
            return Err(stopped());
        }
        if queue.records.len() + queue.reserved >= self.capacity {
            // While the sink fails the queue does not drain: waiting for
            // room would hang the request instead of answering 503.
            if self.failing.load(Ordering::Relaxed) {
                return Err(StoreError::new("audit queue", "full while the audit sink fails"));
            }
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
        };
        let durable = sink.is_durable();
        Auditor { sink, shared: Arc::new(shared), writer: OnceLock::new(), durable }
    }

    /// Whether the sink writes to stable storage: the pipeline then waits
    /// for the allow record to be written before the body runs.
    pub(crate) fn is_durable(&self) -> bool {
        self.durable
    }

    fn start(&self) {
        self.writer.get_or_init(|| {
            // The guard is built here, not inside the task: a task dropped
            // with its runtime before it ever ran must stop the queue too.
            tokio::spawn(write_loop(StopOnDrop(self.shared.clone()), self.sink.clone()));
        });
    }

    /// Whether the sink is currently failing: the guard then denies.
    pub(crate) fn is_failing(&self) -> bool {
        self.shared.failing.load(Ordering::Relaxed)
    }

    /// Queues a record; when the queue is full, waits for room
    /// (back-pressure) rather than drop it. Only that wait is boxed. Fails
    /// at once when the writer is gone, or the queue is full while the sink
    /// fails.
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
            // Registered before trying, so a batch taken (or a failure, or
            // the writer's end) in between still wakes this request.
            room.as_mut().enable();
            match self.shared.try_push(record)? {
                Ok(()) => return Ok(()),
                Err(back) => record = back,
            }
            room.await;
        }
    }

    /// Promises a place in the queue to a record that is not made yet, so
    /// that queuing it later cannot fail for want of room. Waits for room
    /// like [`send`](Auditor::send), and fails as it does.
    ///
    /// The pipeline takes one before it claims a replay key: once the key
    /// is claimed, nothing may refuse the request, or the refusal would
    /// burn the key.
    pub(crate) async fn reserve(&self) -> Result<Reserved<'_>, StoreError> {
        self.start();
        loop {
            let room = self.shared.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            {
                let mut queue = self.shared.lock()?;
                if queue.stopped {
                    return Err(stopped());
                }
                if queue.records.len() + queue.reserved < self.shared.capacity {
                    queue.reserved += 1;
                    return Ok(Reserved { shared: &self.shared, used: false });
                }
                if self.shared.failing.load(Ordering::Relaxed) {
                    return Err(StoreError::new("audit queue", "full while the audit sink fails"));
                }
            }
            room.await;
        }
    }

    /// Waits until every record queued before this call is written.
    pub(crate) async fn flush(&self) -> Result<(), StoreError> {
        self.start();
        let (done, written) = oneshot::channel();
        {
            let mut queue = self.shared.lock()?;
            if queue.stopped {
                return Err(stopped());
            }
            queue.flushes.push(done);
        }
        self.shared.work.notify_one();
        match written.await {
            Ok(true) => Ok(()),
            Ok(false) => {
                Err(StoreError::new("audit queue", "the audit sink failed; the records are kept for its retry"))
            }
            Err(_) => Err(stopped()),
        }
    }
}

/// A place in the audit queue, promised by [`Auditor::reserve`]. Dropped
/// unused, it is given back.
pub(crate) struct Reserved<'a> {
    shared: &'a Shared,
    used: bool,
}

impl Reserved<'_> {
    /// Queues `record` in the promised place. Fails only if the writer is
    /// gone (the runtime is shutting down).
    pub(crate) fn send(mut self, record: DecisionRecord) -> Result<(), StoreError> {
        self.used = true;
        let mut queue = self.shared.lock()?;
        queue.reserved -= 1;
        if queue.stopped {
            return Err(stopped());
        }
        queue.records.push(record);
        let first = queue.records.len() == 1 && queue.flushes.is_empty();
        drop(queue);
        if first {
            self.shared.work.notify_one();
        }
        Ok(())
    }
}

impl Drop for Reserved<'_> {
    fn drop(&mut self) {
        if self.used {
            return;
        }
        match self.shared.queue.lock() {
            Ok(mut queue) => queue.reserved -= 1,
            Err(poisoned) => poisoned.into_inner().reserved -= 1,
        }
        self.shared.room.notify_waiters();
    }
}

/// Below this many queued records the writer first lets the requests that
/// are ready run, so one write carries many records, not one each.
const COALESCE_BELOW: usize = 512;

/// Marks the queue stopped when the writer task ends or is dropped with
/// its runtime: requests then answer 503 instead of waiting forever, and
/// waiting flushes get an error (their senders are dropped).
struct StopOnDrop(Arc<Shared>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let flushes = match self.0.queue.lock() {
            Ok(mut queue) => {
                queue.stopped = true;
                std::mem::take(&mut queue.flushes)
            }
            Err(poisoned) => std::mem::take(&mut poisoned.into_inner().flushes),
        };
        drop(flushes);
        self.0.room.notify_waiters();
    }
}

async fn write_loop(stop: StopOnDrop, sink: Arc<dyn AuditSink>) {
    let shared = &stop.0;
    let mut batch = Vec::new();
    loop {
        shared.work.notified().await;
        // Coalesce: while requests keep adding records, let them run first,
        // so one write carries many records (a write costs a hand-off to a
        // blocking thread and a system call). Stop as soon as the queue is
        // empty or stops growing, a flush waits, or the batch is big enough.
        let mut seen = None;
        loop {
            let (queued, flushing) = match shared.lock() {
                Ok(queue) => (queue.records.len(), !queue.flushes.is_empty()),
                Err(_) => return,
            };
            if flushing || queued == 0 || queued >= COALESCE_BELOW || seen == Some(queued) {
                break;
            }
            seen = Some(queued);
            tokio::task::yield_now().await;
        }
        let mut flushes = match shared.lock() {
            Ok(mut queue) => {
                std::mem::swap(&mut queue.records, &mut batch);
                std::mem::take(&mut queue.flushes)
            }
            Err(_) => return,
        };
        shared.room.notify_waiters();
        let mut backoff = Duration::from_millis(10);
        while !batch.is_empty() {
            match sink.write(&batch).await {
                Ok(()) => {
                    batch.clear();
                    shared.failing.store(false, Ordering::Relaxed);
                }
                Err(err) => {
                    // A flush waiting on this batch (a durable allow, a
                    // shutdown) learns now, not after the sink recovers.
                    for done in flushes.drain(..) {
                        let _ = done.send(false);
                    }
                    if !shared.failing.swap(true, Ordering::Relaxed) {
                        // Requests waiting for room would wait for as long as
                        // the sink is down: let them answer 503 now.
                        shared.room.notify_waiters();
                    }
                    tracing::error!(target: "guard::audit", error = %err, pending = batch.len(), "audit sink failed; denying until it recovers");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        }
        for done in flushes {
            let _ = done.send(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use axum::http::Method;

    use super::Auditor;
    use crate::audit::{AuditSink, Decision, DecisionRecord, MemorySink};
    use crate::{StoreError, StoreFuture};

    fn record() -> DecisionRecord {
        DecisionRecord {
            ts: SystemTime::now(),
            request_id: None,
            client_request_id: None,
            claim: None,
            caller: None,
            action: "test",
            method: Method::GET,
            path: Arc::from("/"),
            permission: None,
            resource: None,
            decision: Decision::Deny,
            code: "unauthenticated",
            latency_us: 0,
        }
    }

    /// Runs `test` on a current-thread runtime in its own thread, failing
    /// if it has not finished after `limit` of real time.
    fn within(limit: Duration, test: impl std::future::Future<Output = ()> + Send + 'static) {
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build();
            runtime.expect("runtime").block_on(test);
            let _ = done.send(());
        });
        finished.recv_timeout(limit).expect("the test hung: a task never went idle or a request never got an answer");
    }

    #[test]
    fn the_writer_goes_idle_after_a_flush_that_raced_a_record() {
        // A record and a flush both wake the writer; it takes them in one
        // batch, and the spare wake-up must not leave it spinning on an
        // empty queue. With the clock paused, the hour-long sleep below ends
        // only once every task is idle.
        within(Duration::from_secs(10), async {
            let sink = MemorySink::new();
            let auditor = Auditor::new(Arc::new(sink.clone()), 16);
            auditor.send(record()).await.expect("queued");
            auditor.flush().await.expect("flushed");
            tokio::time::sleep(Duration::from_secs(3600)).await;
            auditor.send(record()).await.expect("queued");
            auditor.flush().await.expect("flushed");
            tokio::time::sleep(Duration::from_secs(3600)).await;
            assert_eq!(sink.records().len(), 2);
        });
    }

    struct Failing(Arc<AtomicUsize>);

    impl AuditSink for Failing {
        fn write<'a>(&'a self, _: &'a [DecisionRecord]) -> StoreFuture<'a, Result<(), StoreError>> {
            self.0.fetch_add(1, Ordering::Relaxed);
            StoreFuture::ready(Err(StoreError::new("test sink", "down")))
        }
    }

    #[test]
    fn a_full_queue_while_the_sink_fails_answers_at_once() {
        within(Duration::from_secs(10), async {
            let attempts = Arc::new(AtomicUsize::new(0));
            let auditor = Auditor::new(Arc::new(Failing(attempts.clone())), 2);
            auditor.send(record()).await.expect("queued");
            // Let the writer take it and fail.
            while attempts.load(Ordering::Relaxed) == 0 {
                tokio::task::yield_now().await;
            }
            assert!(auditor.is_failing());
            auditor.send(record()).await.expect("room for two");
            auditor.send(record()).await.expect("room for two");
            let err = auditor.send(record()).await.expect_err("full while failing: an error, not a wait");
            assert!(err.to_string().contains("full while the audit sink fails"), "{err}");
        });
    }

    #[test]
    fn after_the_writers_runtime_is_gone_sends_and_flushes_fail() {
        let auditor = Arc::new(Auditor::new(Arc::new(MemorySink::new()), 16));
        let first = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        first.block_on(async { auditor.send(record()).await.expect("queued") });
        drop(first); // drops the writer task with its runtime
        let auditor2 = auditor.clone();
        within(Duration::from_secs(10), async move {
            assert!(auditor2.send(record()).await.is_err(), "no record is accepted once the writer is gone");
            assert!(auditor2.flush().await.is_err(), "a flush gets an error, not a wait");
        });
    }
}
