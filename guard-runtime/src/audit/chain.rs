//! The audit log's hash chain: each line names the link of the line before
//! it, so an edited, deleted, inserted or reordered line breaks the chain
//! at the next line.
//!
//! The link of a line is SHA-256 of its bytes (without the newline), or
//! HMAC-SHA256 under a key the app holds: without the key, whoever can
//! write the file cannot compute the links of lines they change, so they
//! cannot rebuild the chain after them. The first line of a log is the
//! epoch record, `{"epoch":…,"link":"sha256"|"hmac-sha256","ts":…}`;
//! every other line is a decision record ending in `"prev":"<link>"`.
//!
//! The sink links the lines in its writer task, in the order it writes
//! them; [`verify`] reads a log back and names the first broken link.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, Read, Seek, SeekFrom};
use std::path::Path;
use std::time::SystemTime;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::timestamp;
use crate::hex::{encode, hex};

/// A link: SHA-256 or HMAC-SHA256 output.
pub(crate) type Link = [u8; 32];

/// The suffix a record line gets before its closing brace: `,"prev":"` +
/// 64 hex digits + `"`.
const PREV: &[u8] = b",\"prev\":\"";

/// The shortest HMAC key accepted: as long as the hash's output, as
/// RFC 2104 recommends.
const MIN_KEY: usize = 32;

/// The key of a keyed chain (HMAC-SHA256): the app holds it, the log's
/// readers and writers need not.
///
/// Its `Debug` shows no key material.
#[derive(Clone)]
pub struct HmacKey(Hmac<Sha256>);

impl std::fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacKey(..)")
    }
}

impl HmacKey {
    /// A key of at least 32 bytes (a shorter one is refused: it would be
    /// guessable sooner than the links are).
    pub fn new(key: &[u8]) -> Result<HmacKey, KeyError> {
        if key.len() < MIN_KEY {
            return Err(KeyError(format!(
                "an audit HMAC key needs at least {MIN_KEY} bytes, this one has {}",
                key.len()
            )));
        }
        Hmac::<Sha256>::new_from_slice(key).map(HmacKey).map_err(|e| KeyError(e.to_string()))
    }

    /// The key in `path`: its bytes, less one trailing newline (what an
    /// editor or `echo` adds), at least 32 of them.
    pub fn from_file(path: impl AsRef<Path>) -> Result<HmacKey, KeyError> {
        let path = path.as_ref();
        let mut bytes = std::fs::read(path).map_err(|e| KeyError(format!("{}: {e}", path.display())))?;
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
            if bytes.last() == Some(&b'\r') {
                bytes.pop();
            }
        }
        HmacKey::new(&bytes).map_err(|e| KeyError(format!("{}: {}", path.display(), e.0)))
    }
}

/// A key that cannot be used: too short, or its file unreadable.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(String);

/// How lines are linked: plain SHA-256, or HMAC-SHA256 under a key.
#[derive(Clone, Debug)]
pub(crate) enum Linker {
    Sha256,
    Hmac(HmacKey),
}

impl Linker {
    pub(crate) fn new(key: Option<&HmacKey>) -> Linker {
        key.map_or(Linker::Sha256, |key| Linker::Hmac(key.clone()))
    }

    /// The name the epoch record gives the scheme.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Linker::Sha256 => "sha256",
            Linker::Hmac(_) => "hmac-sha256",
        }
    }

    /// The link of `line` (its bytes without the newline).
    pub(crate) fn link(&self, line: &[u8]) -> Link {
        match self {
            Linker::Sha256 => Sha256::digest(line).into(),
            Linker::Hmac(HmacKey(mac)) => {
                let mut mac = mac.clone();
                mac.update(line);
                mac.finalize().into_bytes().into()
            }
        }
    }

    /// Appends the epoch record that starts a new log to `out`, and returns
    /// its link: a random epoch id, the scheme, the time.
    pub(crate) fn epoch(&self, out: &mut Vec<u8>) -> Link {
        let mut id = [0u8; 16];
        // Without the system's randomness the time still tells epochs apart.
        let _ = getrandom::fill(&mut id);
        let start = out.len();
        out.extend_from_slice(b"{\"epoch\":\"");
        out.extend_from_slice(hex(&id).as_bytes());
        out.extend_from_slice(b"\",\"link\":\"");
        out.extend_from_slice(self.name().as_bytes());
        out.extend_from_slice(b"\",\"ts\":\"");
        out.extend_from_slice(timestamp::rfc3339_micros(SystemTime::now(), &mut [0; timestamp::LEN]).as_bytes());
        out.extend_from_slice(b"\"}");
        let link = self.link(&out[start..]);
        out.push(b'\n');
        link
    }

    /// Turns the record line that `out` ends with (from `start`, written
    /// with its `}\n`) into a linked one: `"prev"` names `prev`. Returns the
    /// new line's link.
    pub(crate) fn seal(&self, out: &mut Vec<u8>, start: usize, prev: &Link) -> Link {
        debug_assert!(out.ends_with(b"}\n"));
        out.truncate(out.len() - 2);
        out.extend_from_slice(PREV);
        let at = out.len();
        out.resize(at + 64, 0);
        encode(&mut out[at..], prev);
        out.extend_from_slice(b"\"}");
        let link = self.link(&out[start..]);
        out.push(b'\n');
        link
    }
}

/// Where the chain of an existing log ends, read back when a sink opens
/// it: `None` for an empty file (the sink starts it with an epoch record).
///
/// A last line cut off by a crash in the middle of a write (no newline) is
/// removed, and its length returned, for the sink to record in the chain:
/// it never was a whole record, and with a durable sink no body waited on
/// it. Refuses a log whose first line is not an epoch record of `linker`'s
/// scheme, or whose last line does not link to the one before it (edited,
/// or another key): appending to it would hide the break behind fresh links.
pub(crate) fn resume(file: &mut File, linker: &Linker) -> io::Result<Resumed> {
    let mut len = file.metadata()?.len();
    if len == 0 {
        return Ok(Resumed { tip: None, cut: 0 });
    }
    let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    file.seek(SeekFrom::Start(0))?;
    let mut first = Vec::new();
    io::BufReader::new(&mut *file).take(64 * 1024).read_until(b'\n', &mut first)?;
    let epoch = first
        .strip_suffix(b"\n")
        .and_then(Epoch::parse)
        .ok_or_else(|| invalid("the audit log does not start with an epoch record: not a chained log".into()))?;
    if epoch.link != linker.name() {
        return Err(invalid(format!("the audit log is linked with {}, the sink with {}", epoch.link, linker.name())));
    }
    let mut tail = read_tail(file, len)?;
    let mut cut = 0;
    if !tail.ends_with(b"\n") {
        // The epoch line is whole, so a newline is in the file; `read_tail`
        // holds at least the last one.
        let kept = tail.iter().rposition(|&b| b == b'\n').map_or(0, |at| at + 1);
        cut = (tail.len() - kept) as u64;
        len -= cut;
        file.set_len(len)?;
        tail.truncate(kept);
    }
    let body = tail.strip_suffix(b"\n").unwrap_or(&tail);
    let mut lines = body.rsplitn(3, |&b| b == b'\n');
    let last = lines.next().unwrap_or_default();
    if let Some(before) = lines.next() {
        // `before` is whole only if a newline came before it, or it starts the file.
        let whole = lines.next().is_some() || tail.len() as u64 == len;
        if whole && prev_of(last) != Some(linker.link(before)) {
            return Err(invalid(
                "the audit log's last line does not link to the one before it (edited, or another key)".into(),
            ));
        }
    }
    Ok(Resumed { tip: Some(linker.link(last)), cut })
}

/// What [`resume`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Resumed {
    /// The last whole line's link; `None` for a new log.
    pub(crate) tip: Option<Link>,
    /// Bytes of a cut-off last line removed.
    pub(crate) cut: u64,
}

/// Appends the record that notes, in the chain, a cut-off line removed at
/// restart: `{"cut_bytes":N,"ts":…,"prev":…}`. Returns its link.
pub(crate) fn cut_record(linker: &Linker, out: &mut Vec<u8>, cut: u64, prev: &Link) -> Link {
    let start = out.len();
    out.extend_from_slice(format!("{{\"cut_bytes\":{cut},\"ts\":\"").as_bytes());
    out.extend_from_slice(timestamp::rfc3339_micros(SystemTime::now(), &mut [0; timestamp::LEN]).as_bytes());
    out.extend_from_slice(b"\"}\n");
    linker.seal(out, start, prev)
}

/// The file's last two lines at least (or all of it): its last 64 KiB,
/// growing until they hold two newlines before the final one.
fn read_tail(file: &mut File, len: u64) -> io::Result<Vec<u8>> {
    let mut size = 64 * 1024u64;
    loop {
        let from = len.saturating_sub(size);
        file.seek(SeekFrom::Start(from))?;
        let mut tail = Vec::with_capacity((len - from) as usize);
        file.take(len - from).read_to_end(&mut tail)?;
        if from == 0 || tail.iter().filter(|&&b| b == b'\n').count() >= 3 {
            return Ok(tail);
        }
        size *= 4;
    }
}

/// The epoch record's fields.
struct Epoch {
    id: String,
    link: String,
}

impl Epoch {
    fn parse(line: &[u8]) -> Option<Epoch> {
        let value: serde_json::Value = serde_json::from_slice(line).ok()?;
        Some(Epoch { id: value.get("epoch")?.as_str()?.to_owned(), link: value.get("link")?.as_str()?.to_owned() })
    }
}

/// The link a record line names as its `prev`, if it names one well-formed.
fn prev_of(line: &[u8]) -> Option<Link> {
    let value: serde_json::Value = serde_json::from_slice(line).ok()?;
    let text = value.get("prev")?.as_str()?;
    parse_link(text)
}

fn parse_link(text: &str) -> Option<Link> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    let mut link = [0u8; 32];
    for (out, pair) in link.iter_mut().zip(bytes.chunks_exact(2)) {
        *out = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(link)
}

/// A log whose chain holds from its epoch record to its last line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The epoch record's id.
    pub epoch: String,
    /// `"sha256"` or `"hmac-sha256"`.
    pub link: String,
    /// Decision records after the epoch record.
    pub records: u64,
    /// The last line's link, hex: compare it with a copy kept elsewhere to
    /// tell whole lines cut off the end, which no chain can show alone.
    pub head: String,
}

/// The first place a log's chain breaks.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {kind}: {detail}")]
pub struct Broken {
    /// The line (1-based) where the chain stops holding.
    pub line: u64,
    /// What kind of break it is.
    pub kind: BreakKind,
    /// What was found, for a person.
    pub detail: String,
}

/// The kinds of break [`verify`] tells apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BreakKind {
    /// The file is empty, or its first line is not an epoch record.
    #[error("no epoch record")]
    NoEpoch,
    /// The log is keyed and no key was given, or it is not keyed and a key
    /// was (a log rebuilt without the key), or the key is not the log's.
    #[error("wrong key")]
    Key,
    /// A line is not a JSON record with a well-formed `prev`.
    #[error("not a chained record")]
    NotARecord,
    /// A line's `prev` is not the link of the line before it: that line
    /// was edited, or lines were deleted, inserted or moved.
    #[error("broken link")]
    Link,
    /// The last line is cut off: it has no newline.
    #[error("truncated")]
    Truncated,
}

/// Reads a log and checks its chain: the epoch record first, then every
/// line's `prev` against the link of the line before it, under `key` when
/// the log is keyed. Returns the first break; an I/O error is reported as
/// one too (at the line it stopped).
///
/// A chain cannot show that whole lines were cut off its end: compare
/// [`Verified::head`] with a head kept elsewhere for that.
pub fn verify(reader: impl BufRead, key: Option<&HmacKey>) -> Result<Verified, Broken> {
    let mut lines = LineReader { reader, number: 0 };
    let broken = |line: u64, kind: BreakKind, detail: String| Broken { line, kind, detail };
    let first = match lines.next()? {
        Some(Line::Whole(line)) => line,
        Some(Line::Cut) => return Err(broken(1, BreakKind::Truncated, "the only line is cut off".into())),
        None => return Err(broken(1, BreakKind::NoEpoch, "the log is empty".into())),
    };
    let epoch = Epoch::parse(&first)
        .ok_or_else(|| broken(1, BreakKind::NoEpoch, "the first line is not an epoch record".into()))?;
    let linker = match (epoch.link.as_str(), key) {
        ("sha256", None) => Linker::Sha256,
        ("hmac-sha256", Some(key)) => Linker::Hmac(key.clone()),
        ("hmac-sha256", None) => {
            return Err(broken(1, BreakKind::Key, "the log is keyed (hmac-sha256): give its key".into()));
        }
        ("sha256", Some(_)) => {
            return Err(broken(
                1,
                BreakKind::Key,
                "a key was given but the log is linked with plain sha256: it was written without the key (rebuilt?)"
                    .into(),
            ));
        }
        (other, _) => return Err(broken(1, BreakKind::NoEpoch, format!("unknown link scheme `{other}`"))),
    };
    let mut prev = linker.link(&first);
    // Every line's link so far, to say where a line that skips back links to.
    let mut seen: HashMap<Link, u64> = HashMap::from([(prev, 1)]);
    let mut records = 0u64;
    while let Some(line) = lines.next()? {
        let number = lines.number;
        let line = match line {
            Line::Whole(line) => line,
            Line::Cut => {
                return Err(broken(number, BreakKind::Truncated, "the last line is cut off (no newline)".into()));
            }
        };
        let Some(named) = prev_of(&line) else {
            return Err(broken(number, BreakKind::NotARecord, "not a JSON record with a 64-digit hex `prev`".into()));
        };
        if named != prev {
            let detail = if number == 2 && seen.len() == 1 && key.is_some() && !seen.contains_key(&named) {
                "its `prev` is not the epoch record's link under this key: another key, or an edited log".into()
            } else {
                match seen.get(&named) {
                    Some(&at) => format!(
                        "it links to line {at}, not line {}: lines {}..={} were inserted, or this line was moved",
                        number - 1,
                        at + 1,
                        number - 1
                    ),
                    None => format!(
                        "its `prev` is no earlier line's link: line {} was edited, or lines before this one were deleted or moved",
                        number - 1
                    ),
                }
            };
            return Err(broken(number, BreakKind::Link, detail));
        }
        prev = linker.link(&line);
        seen.insert(prev, number);
        records += 1;
    }
    Ok(Verified { epoch: epoch.id, link: epoch.link, records, head: hex(&prev) })
}

enum Line {
    Whole(Vec<u8>),
    /// The last line, without its newline: cut off.
    Cut,
}

struct LineReader<R> {
    reader: R,
    number: u64,
}

impl<R: BufRead> LineReader<R> {
    fn next(&mut self) -> Result<Option<Line>, Broken> {
        let mut line = Vec::new();
        let read = self.reader.read_until(b'\n', &mut line).map_err(|e| Broken {
            line: self.number + 1,
            kind: BreakKind::Truncated,
            detail: format!("cannot read: {e}"),
        })?;
        if read == 0 {
            return Ok(None);
        }
        self.number += 1;
        Ok(Some(match line.strip_suffix(b"\n") {
            Some(whole) => Line::Whole(whole.to_vec()),
            None => Line::Cut,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> HmacKey {
        HmacKey::new(&[byte; 32]).expect("key")
    }

    /// A log of `n` records linked by `linker`, as the sink writes it.
    fn log(linker: &Linker, n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut prev = linker.epoch(&mut out);
        for i in 0..n {
            let start = out.len();
            out.extend_from_slice(format!("{{\"code\":\"ok\",\"n\":{i}}}\n").as_bytes());
            prev = linker.seal(&mut out, start, &prev);
        }
        out
    }

    fn lines(log: &[u8]) -> Vec<Vec<u8>> {
        log.split_inclusive(|&b| b == b'\n').map(<[u8]>::to_vec).collect()
    }

    fn check(log: &[u8], key: Option<&HmacKey>) -> Result<Verified, Broken> {
        verify(log, key)
    }

    #[test]
    fn an_untouched_log_verifies_and_names_its_head() {
        let text = log(&Linker::Sha256, 5);
        let verified = check(&text, None).expect("intact");
        assert_eq!(verified.records, 5);
        assert_eq!(verified.link, "sha256");
        let last = lines(&text).pop().expect("a line");
        assert_eq!(verified.head, hex(&Linker::Sha256.link(last.strip_suffix(b"\n").expect("newline"))));
    }

    #[test]
    fn an_edited_line_breaks_the_next_link() {
        let mut parts = lines(&log(&Linker::Sha256, 5));
        parts[3] = String::from_utf8(parts[3].clone()).expect("utf-8").replace("\"ok\"", "\"no\"").into_bytes();
        let broken = check(&parts.concat(), None).expect_err("edited");
        assert_eq!((broken.line, broken.kind), (5, BreakKind::Link), "{broken}");
        assert!(broken.detail.contains("line 4 was edited"), "{broken}");
    }

    #[test]
    fn a_deleted_line_breaks_where_it_was() {
        let mut parts = lines(&log(&Linker::Sha256, 5));
        parts.remove(2);
        let broken = check(&parts.concat(), None).expect_err("deleted");
        assert_eq!((broken.line, broken.kind), (3, BreakKind::Link), "{broken}");
    }

    #[test]
    fn an_inserted_line_breaks_at_it() {
        let mut parts = lines(&log(&Linker::Sha256, 5));
        parts.insert(3, b"{\"code\":\"ok\",\"forged\":true}\n".to_vec());
        let broken = check(&parts.concat(), None).expect_err("inserted");
        assert_eq!((broken.line, broken.kind), (4, BreakKind::NotARecord), "{broken}");
        // A forged line with a well-formed but wrong `prev`:
        let mut parts = lines(&log(&Linker::Sha256, 5));
        parts.insert(3, format!("{{\"code\":\"ok\",\"prev\":\"{}\"}}\n", "0".repeat(64)).into_bytes());
        let broken = check(&parts.concat(), None).expect_err("inserted");
        assert_eq!((broken.line, broken.kind), (4, BreakKind::Link), "{broken}");
    }

    #[test]
    fn an_inserted_line_with_a_correct_link_is_found_at_the_line_after_it() {
        // Unkeyed, a forger can link the inserted line itself; the line
        // after it still names the line before the insertion.
        let mut parts = lines(&log(&Linker::Sha256, 5));
        let mut forged = Vec::new();
        let before = parts[2].strip_suffix(b"\n").expect("newline").to_vec();
        forged.extend_from_slice(b"{\"code\":\"ok\",\"forged\":true}\n");
        Linker::Sha256.seal(&mut forged, 0, &Linker::Sha256.link(&before));
        parts.insert(3, forged);
        let broken = check(&parts.concat(), None).expect_err("inserted");
        assert_eq!((broken.line, broken.kind), (5, BreakKind::Link), "{broken}");
        assert!(broken.detail.contains("links to line 3, not line 4: lines 4..=4 were inserted"), "{broken}");
    }

    #[test]
    fn reordered_lines_break_at_the_first_moved_one() {
        let mut parts = lines(&log(&Linker::Sha256, 5));
        parts.swap(2, 3);
        let broken = check(&parts.concat(), None).expect_err("reordered");
        assert_eq!((broken.line, broken.kind), (3, BreakKind::Link), "{broken}");
    }

    #[test]
    fn a_cut_off_tail_is_reported() {
        let text = log(&Linker::Sha256, 3);
        let broken = check(&text[..text.len() - 10], None).expect_err("cut");
        assert_eq!((broken.line, broken.kind), (4, BreakKind::Truncated), "{broken}");
    }

    #[test]
    fn a_log_without_its_epoch_record_is_refused() {
        let parts = lines(&log(&Linker::Sha256, 3));
        let broken = check(&parts[1..].concat(), None).expect_err("no epoch");
        assert_eq!((broken.line, broken.kind), (1, BreakKind::NoEpoch));
        let broken = check(b"", None).expect_err("empty");
        assert_eq!((broken.line, broken.kind), (1, BreakKind::NoEpoch));
    }

    #[test]
    fn a_keyed_log_needs_its_key_and_only_its_key() {
        let keyed = Linker::Hmac(key(7));
        let text = log(&keyed, 4);
        assert_eq!(check(&text, Some(&key(7))).expect("intact").records, 4);
        assert_eq!(check(&text, None).expect_err("no key").kind, BreakKind::Key);
        let broken = check(&text, Some(&key(8))).expect_err("wrong key");
        assert_eq!((broken.line, broken.kind), (2, BreakKind::Link), "{broken}");
    }

    #[test]
    fn a_keyed_log_rebuilt_without_the_key_is_refused() {
        // Whoever can write the file but lacks the key can only rebuild
        // the chain as plain sha256 (or under a key of their own): both
        // fail against the app's key.
        let rebuilt = log(&Linker::Sha256, 4);
        assert_eq!(check(&rebuilt, None).expect("a plain chain holds").records, 4);
        assert_eq!(check(&rebuilt, Some(&key(7))).expect_err("not keyed").kind, BreakKind::Key);
        let forged = log(&Linker::Hmac(key(9)), 4);
        let broken = check(&forged, Some(&key(7))).expect_err("the forger's own key");
        assert_eq!((broken.line, broken.kind), (2, BreakKind::Link), "{broken}");
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(HmacKey::new(&[1; 31]).is_err());
        assert!(HmacKey::new(&[1; 32]).is_ok());
    }

    #[test]
    fn resume_reads_the_last_link_back_and_refuses_a_broken_tail() {
        let dir =
            std::env::temp_dir().join(format!("guard-chain-{}-{:?}", std::process::id(), std::thread::current().id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("audit.jsonl");
        let text = log(&Linker::Sha256, 3);
        std::fs::write(&path, &text).expect("write");
        let mut file = File::open(&path).expect("open");
        let tip = resume(&mut file, &Linker::Sha256).expect("resumes").tip.expect("a tip");
        let last = lines(&text).pop().expect("line");
        assert_eq!(tip, Linker::Sha256.link(last.strip_suffix(b"\n").expect("newline")));
        // Another scheme, an edited line before the last: refused.
        assert!(resume(&mut file, &Linker::Hmac(key(1))).is_err());
        // A line cut off by a crash: removed, and its length reported.
        let whole = text.len() - lines(&text).pop().expect("line").len();
        std::fs::write(&path, &text[..text.len() - 10]).expect("write");
        let writable = || std::fs::OpenOptions::new().read(true).append(true).open(&path).expect("open");
        let resumed = resume(&mut writable(), &Linker::Sha256).expect("resumes after a cut");
        let before_last = lines(&text)[lines(&text).len() - 2].clone();
        assert_eq!(resumed.tip, Some(Linker::Sha256.link(before_last.strip_suffix(b"\n").expect("newline"))));
        assert_eq!(resumed.cut as usize, text.len() - 10 - whole);
        assert_eq!(std::fs::read(&path).expect("read"), text[..whole]);
        let edited = String::from_utf8(text.clone()).expect("utf-8");
        let last_start = edited[..edited.len() - 1].rfind('\n').expect("two lines");
        let at = edited[..last_start].rfind("\"ok\"").expect("a code");
        std::fs::write(&path, format!("{}\"no\"{}", &edited[..at], &edited[at + 4..])).expect("write");
        assert!(resume(&mut writable(), &Linker::Sha256).is_err());
        std::fs::write(&path, b"").expect("write");
        assert_eq!(resume(&mut writable(), &Linker::Sha256).expect("empty"), Resumed { tip: None, cut: 0 });
        let _ = std::fs::remove_dir_all(&dir);
    }
}
