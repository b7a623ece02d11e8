//! The sinks guard ships: `tracing` events, a JSON-lines file, memory.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::chain::{self, HmacKey, Link, Linker};
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
///
/// Two options, for logs that are evidence:
///
/// * [`chained`](JsonLinesSink::chained) (or
///   [`chained_with_key`](JsonLinesSink::chained_with_key)): every line
///   carries the link of the line before it, from an epoch record on, so
///   [`verify`](crate::audit::verify) finds an edited, deleted, inserted,
///   reordered or cut-off line. The writer task links the lines as it
///   writes them; requests only hand their records over, as always.
/// * [`durable`](JsonLinesSink::durable): each batch is on disk (`fdatasync`)
///   before the write returns, and the guard waits for the allow record to
///   be written before the body runs. Requests that arrive while a batch is
///   synced go into the next one: one sync per batch (group commit).
#[derive(Debug)]
pub struct JsonLinesSink {
    /// Shared with each batch's blocking write without a copy.
    path: Arc<Path>,
    chain: Option<Linker>,
    durable: bool,
    syncs: SyncCount,
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
    /// For a chained log: the last written line's link, read back from the
    /// file when it is opened; `None` for a new log, which starts with its
    /// epoch record.
    tip: Option<Link>,
    /// Bytes of a cut-off line removed when the log was reopened, to note
    /// in the chain before the next record.
    cut: u64,
}

/// How many batches a [`durable`](JsonLinesSink::durable) sink has synced
/// to disk, and how many records they held: records per sync is the group
/// commit's batch size.
#[derive(Clone, Debug, Default)]
pub struct SyncCount(Arc<(AtomicU64, AtomicU64)>);

impl SyncCount {
    /// Batches written and synced.
    pub fn syncs(&self) -> u64 {
        self.0 .0.load(Ordering::Relaxed)
    }

    /// Records in those batches.
    pub fn records(&self) -> u64 {
        self.0 .1.load(Ordering::Relaxed)
    }
}

impl JsonLinesSink {
    /// A sink appending to `path` (created if missing, opened on first write).
    pub fn new(path: impl AsRef<Path>) -> Self {
        JsonLinesSink {
            path: Arc::from(path.as_ref()),
            chain: None,
            durable: false,
            syncs: SyncCount::default(),
            writer: tokio::sync::Mutex::new(Writer {
                file: None,
                buf: Vec::new(),
                lines: Lines::new(),
                tip: None,
                cut: 0,
            }),
        }
    }

    /// Links every line to the one before it with SHA-256 (see
    /// [`verify`](crate::audit::verify)). A new file starts with an epoch
    /// record; an existing one is continued from its last line, after
    /// checking that it is a chain of the same kind and ends in a whole
    /// line that links to the one before it (else every write fails, and
    /// the guard answers 503, until the log is looked at).
    pub fn chained(mut self) -> Self {
        self.chain = Some(Linker::new(None));
        self
    }

    /// Like [`chained`](JsonLinesSink::chained), with HMAC-SHA256 links
    /// under `key`: whoever can write the file but lacks the key cannot
    /// rebuild the chain after a line they changed.
    pub fn chained_with_key(mut self, key: HmacKey) -> Self {
        self.chain = Some(Linker::new(Some(&key)));
        self
    }

    /// Syncs each batch to disk before its write returns, and makes the
    /// guard wait for a request's allow record to be written before the
    /// body runs: a body that ran has its allow record on disk, even if the
    /// process is killed right after. Costs a sync per batch; batches grow
    /// with the load.
    pub fn durable(mut self) -> Self {
        self.durable = true;
        self
    }

    /// The counts of a durable sink's syncs, to read while it runs.
    pub fn sync_count(&self) -> SyncCount {
        self.syncs.clone()
    }
}

impl AuditSink for JsonLinesSink {
    fn write<'a>(&'a self, batch: &'a [DecisionRecord]) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            let mut writer = self.writer.lock().await;
            let writer = &mut *writer;
            if writer.file.is_none() {
                let (path, chain, durable) = (self.path.clone(), self.chain.clone(), self.durable);
                let opened = tokio::task::spawn_blocking(move || open(&path, chain.as_ref(), durable)).await;
                let (file, resumed) = opened
                    .map_err(|e| StoreError::new("audit log", e))?
                    .map_err(|e| StoreError::new("audit log", e))?;
                if resumed.cut > 0 {
                    tracing::warn!(target: "guard::audit", path = %self.path.display(), bytes = resumed.cut, "removed a cut-off last line of the audit log (a crash mid-write); noted in the chain");
                }
                writer.file = Some(file);
                writer.tip = resumed.tip;
                writer.cut = resumed.cut;
            }
            let mut buf = std::mem::take(&mut writer.buf);
            buf.clear();
            let tip = match &self.chain {
                Some(linker) => {
                    let mut tip = match writer.tip {
                        Some(tip) => tip,
                        None => linker.epoch(&mut buf),
                    };
                    if writer.cut > 0 {
                        tip = chain::cut_record(linker, &mut buf, writer.cut, &tip);
                    }
                    for record in batch {
                        let start = buf.len();
                        writer.lines.write(record, &mut buf);
                        tip = linker.seal(&mut buf, start, &tip);
                    }
                    Some(tip)
                }
                None => {
                    for record in batch {
                        writer.lines.write(record, &mut buf);
                    }
                    None
                }
            };
            let (file, durable) = (writer.file.take(), self.durable);
            let written = tokio::task::spawn_blocking(move || {
                let result = append(file, &buf, durable);
                (result, buf)
            })
            .await;
            let (result, buf) = written.map_err(|e| StoreError::new("audit log", e))?;
            writer.buf = buf;
            // On an error the file is dropped: the retry reopens it, and a
            // chain is read back from what is really in it.
            writer.file = Some(result.map_err(|e| StoreError::new("audit log", e))?);
            writer.tip = tip;
            writer.cut = 0;
            if self.durable {
                self.syncs.0 .0.fetch_add(1, Ordering::Relaxed);
                self.syncs.0 .1.fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
            Ok(())
        })
    }

    fn is_durable(&self) -> bool {
        self.durable
    }
}

/// Opens `path` for appending (creating it), and for a chained log reads
/// back where its chain ends. A durable sink that created the file syncs
/// its directory too, so the file itself survives a crash.
fn open(path: &Path, chain: Option<&Linker>, durable: bool) -> std::io::Result<(std::fs::File, chain::Resumed)> {
    let mut file = std::fs::OpenOptions::new().create(true).read(true).append(true).open(path)?;
    let resumed = match chain {
        Some(linker) => chain::resume(&mut file, linker)?,
        None => chain::Resumed { tip: None, cut: 0 },
    };
    if durable && file.metadata()?.len() == 0 {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok((file, resumed))
}

/// Appends `bytes` to `file`, and syncs them to disk if `durable`.
/// A write that fails part-way is cut back off, so the retry of the whole
/// batch leaves neither a torn line nor a duplicate (the file is the sink's
/// own: nothing else appends to it).
fn append(file: Option<std::fs::File>, bytes: &[u8], durable: bool) -> std::io::Result<std::fs::File> {
    use std::io::Write;
    let Some(mut file) = file else {
        return Err(std::io::Error::other("the audit log is not open"));
    };
    let start = file.metadata()?.len();
    let written = file.write_all(bytes).and_then(|()| if durable { file.sync_data() } else { Ok(()) });
    if let Err(err) = written {
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
