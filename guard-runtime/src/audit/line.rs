//! One decision record as one JSON line, written straight into the
//! writer's buffer.
//!
//! The same JSON as `DecisionRecord`'s `Serialize` impl, byte for byte, at
//! a fraction of the cost: the keys are literals, and a string is escaped
//! only if it holds a character that needs it (serde_json escapes every
//! key and value byte by byte, which was half the line's cost).

use std::sync::Arc;

use axum::http::Method;

use super::timestamp::Stamps;
use super::{Decision, DecisionRecord};
use crate::Principal;

/// The line's bytes besides its values and the caller block (which is
/// counted by its own length): keys, quotes, punctuation, the timestamp,
/// the longest latency and decision, the newline (156 bytes), plus two for
/// each optional value written as `null` rather than quoted. With it, one
/// `reserve` makes room for any line whose strings need no escaping.
const FRAME: usize = 156 + r#","client_request_id":"#.len() + r#","claim":"#.len() + r#","via":"#.len() + 6 * 2;

/// Writes records as lines, keeping what consecutive records share: the
/// timestamp's date and time, and the JSON from the principal to the
/// method (the same caller calling the same action, record after record).
#[derive(Debug)]
pub(crate) struct Lines {
    stamps: Stamps,
    /// The caller, action and method `who` was written for; `None` before
    /// the first record. The caller is held, so an equal pointer is the
    /// same principal.
    key: Option<(Option<Arc<Principal>>, &'static str, Method)>,
    /// `,"principal":…,"method":"…"` for `key`.
    who: Vec<u8>,
}

impl Lines {
    pub(crate) fn new() -> Self {
        Lines { stamps: Stamps::new(), key: None, who: Vec::new() }
    }

    /// Appends `record` and a newline to `out`.
    pub(crate) fn write(&mut self, record: &DecisionRecord, out: &mut Vec<u8>) {
        let request_id = record.request_id.as_deref();
        let client_request_id = record.client_request_id.as_deref();
        let path = record.path();
        let permission = record.permission.as_deref();
        let resource = record.resource.as_deref();
        let len = |value: Option<&str>| value.map_or(0, str::len);
        let who = self.who(record).len();
        out.reserve(
            FRAME
                + who
                + len(request_id)
                + len(client_request_id)
                + path.len()
                + len(permission)
                + len(resource)
                + record.code.len(),
        );
        out.extend_from_slice(b"{\"ts\":\"");
        out.extend_from_slice(self.stamps.format(record.ts));
        out.extend_from_slice(b"\",\"request_id\":");
        string_or_null(out, request_id);
        out.extend_from_slice(b",\"client_request_id\":");
        string_or_null(out, client_request_id);
        out.extend_from_slice(&self.who);
        out.extend_from_slice(b",\"path\":");
        string(out, path);
        out.extend_from_slice(b",\"permission\":");
        string_or_null(out, permission);
        out.extend_from_slice(b",\"resource\":");
        string_or_null(out, resource);
        out.extend_from_slice(match record.decision {
            Decision::Allow => b",\"decision\":\"allow\",\"code\":",
            Decision::Deny => b",\"decision\":\"deny\",\"code\":",
        });
        string(out, record.code);
        out.extend_from_slice(b",\"claim\":");
        string_or_null(out, record.claim);
        out.extend_from_slice(b",\"via\":");
        string_or_null(out, record.via);
        out.extend_from_slice(b",\"latency_us\":");
        let mut digits = [0u8; 20];
        out.extend_from_slice(decimal(record.latency_us, &mut digits));
        out.extend_from_slice(b"}\n");
    }

    /// `,"principal":…,"method":"…"` for `record`, rewritten only when its
    /// caller, action or method differs from the last record's.
    fn who(&mut self, record: &DecisionRecord) -> &[u8] {
        let same = self.key.as_ref().is_some_and(|(caller, action, method)| {
            same_caller(caller.as_deref(), record.caller.as_deref())
                && *action == record.action
                && *method == record.method
        });
        if !same {
            self.key = Some((record.caller.clone(), record.action, record.method.clone()));
            let out = &mut self.who;
            out.clear();
            out.extend_from_slice(b",\"principal\":");
            string_or_null(out, record.principal());
            out.extend_from_slice(b",\"principal_kind\":");
            match record.principal_kind() {
                // A kind's name needs no escaping.
                Some(kind) => quoted(out, kind.as_str()),
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"on_behalf_of\":");
            string_or_null(out, record.on_behalf_of());
            out.extend_from_slice(b",\"tenant\":");
            string_or_null(out, record.tenant());
            out.extend_from_slice(b",\"action\":");
            string(out, record.action);
            out.extend_from_slice(b",\"method\":");
            // `http` admits only token characters in a method: nothing to escape.
            quoted(out, record.method.as_str());
        }
        &self.who
    }
}

/// Whether `a` and `b` write the same principal fields: the same `Arc`
/// (from an in-process store) or equal ones (a store that builds a new
/// principal for each request).
fn same_caller(a: Option<&Principal>, b: Option<&Principal>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            std::ptr::eq(a, b)
                || (a.id == b.id
                    && a.kind == b.kind
                    && a.tenant == b.tenant
                    && a.on_behalf_of.as_ref().map(|d| &d.user) == b.on_behalf_of.as_ref().map(|d| &d.user))
        }
        _ => false,
    }
}

fn string_or_null(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(value) => string(out, value),
        None => out.extend_from_slice(b"null"),
    }
}

/// A JSON string. Most values (ids, paths, codes) need no escaping: they
/// are copied whole; the rest go through serde_json's escaper.
fn string(out: &mut Vec<u8>, value: &str) {
    if needs_escape(value.as_bytes()) {
        // Writing into a Vec cannot fail, nor can serializing a str.
        let _ = serde_json::to_writer(&mut *out, value);
    } else {
        quoted(out, value);
    }
}

/// `value` between quotes, as it is.
fn quoted(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    out.extend_from_slice(value.as_bytes());
    out.push(b'"');
}

/// Whether `bytes` holds a control character, `"` or `\\`: eight bytes at a
/// time (the classic "has a zero byte" bit tricks), the tail as one last
/// word overlapping the one before, and a short string as two overlapping
/// halves, since a byte-wise scan was a third of the line's cost.
fn needs_escape(bytes: &[u8]) -> bool {
    let n = bytes.len();
    match bytes {
        [] => false,
        [a, rest @ ..] if n < 4 => {
            // One to three bytes, the first repeated to fill a word.
            let (b, c) = (rest.first().unwrap_or(a), rest.last().unwrap_or(a));
            word_needs_escape(u64::from_ne_bytes([*a, *b, *c, *a, *a, *a, *a, *a]))
        }
        [a, b, c, d, ..] if n < 8 => {
            let [e, f, g, h] = [bytes[n - 4], bytes[n - 3], bytes[n - 2], bytes[n - 1]];
            word_needs_escape(u64::from_ne_bytes([*a, *b, *c, *d, e, f, g, h]))
        }
        _ => {
            let word = |at: usize| {
                let b = &bytes[at..at + 8];
                u64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
            };
            let mut at = 0;
            while at + 8 < n {
                if word_needs_escape(word(at)) {
                    return true;
                }
                at += 8;
            }
            word_needs_escape(word(n - 8))
        }
    }
}

/// Whether any byte of `word` is a control character, `"` or `\\`.
fn word_needs_escape(word: u64) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const SPACES: u64 = u64::from_ne_bytes([0x20; 8]);
    const QUOTES: u64 = u64::from_ne_bytes([b'"'; 8]);
    const BACKSLASHES: u64 = u64::from_ne_bytes([b'\\'; 8]);
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS != 0;
    // A byte below 0x20: `byte - 0x20` borrows into its high bit while the
    // byte's own high bit is clear.
    let control = word.wrapping_sub(SPACES) & !word & HIGHS != 0;
    control || has_zero(word ^ QUOTES) || has_zero(word ^ BACKSLASHES)
}

fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, UNIX_EPOCH};

    use axum::http::Method;

    use super::Lines;
    use crate::audit::{Decision, DecisionRecord};
    use crate::{CallerKind, Delegation, Principal, RequestId};

    fn agent() -> Principal {
        let delegation = Delegation { user: "alice".into(), roles: vec!["customer".into()] };
        Principal::agent("assistant", "acme", ["orders:*"], delegation)
    }

    fn same_as_serde(record: &DecisionRecord) {
        let mut line = Vec::new();
        Lines::new().write(record, &mut line);
        let mut expected = serde_json::to_vec(record).expect("serializes");
        expected.push(b'\n');
        assert_eq!(String::from_utf8_lossy(&line), String::from_utf8_lossy(&expected));
    }

    #[test]
    fn an_allow_is_the_serde_line_byte_for_byte() {
        same_as_serde(&DecisionRecord {
            ts: UNIX_EPOCH + Duration::new(1_795_440_000, 42_000),
            request_id: RequestId::new("req-1"),
            client_request_id: RequestId::new("client-7"),
            claim: Some("environment"),
            caller: Some(Arc::new(agent())),
            action: "read_order",
            method: Method::GET,
            path: Arc::from("/orders/42"),
            permission: Some(Arc::from("orders:read,orders:write")),
            resource: Some(Arc::from("orders/42")),
            decision: Decision::Allow,
            code: "ok",
            via: None,
            latency_us: 1_234_567,
        });
    }

    #[test]
    fn an_anonymous_deny_writes_nulls() {
        same_as_serde(&DecisionRecord {
            ts: UNIX_EPOCH,
            request_id: None,
            client_request_id: None,
            claim: None,
            caller: None,
            action: "login",
            method: Method::POST,
            path: Arc::from("/login"),
            permission: None,
            resource: None,
            decision: Decision::Deny,
            code: "unauthenticated",
            via: None,
            latency_us: 0,
        });
    }

    #[test]
    fn the_word_scan_agrees_with_a_byte_scan() {
        // Every byte value at every position of every length up to 17
        // (short halves, two words and a tail), among bytes that need no
        // escaping.
        for len in 0..=17 {
            for at in 0..len {
                for byte in 0..=255u8 {
                    let mut text = b"abcdefghijklmnopq"[..len].to_vec();
                    text[at] = byte;
                    let expected = text.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
                    assert_eq!(super::needs_escape(&text), expected, "byte {byte:#04x} at {at} of {len}");
                }
            }
            assert!(!super::needs_escape(&b"abcdefghijklmnopq"[..len]));
        }
    }

    #[test]
    fn no_method_needs_escaping() {
        // `Lines` copies the method without a scan.
        for byte in 0..=255u8 {
            for bytes in [vec![byte], vec![b'G', byte, b'T'], vec![b'P', b'U', b'R', b'G', b'E', byte]] {
                if let Ok(method) = Method::from_bytes(&bytes) {
                    assert!(!super::needs_escape(method.as_str().as_bytes()), "{method}");
                }
            }
        }
    }

    #[test]
    fn lines_in_a_row_are_each_their_own_serde_line() {
        // One `Lines` for a run of records, as the sinks write a batch:
        // whatever it keeps from the last record must not leak into the
        // next when a field it keeps differs.
        let first = DecisionRecord {
            ts: UNIX_EPOCH + Duration::new(1_798_761_599, 999_999_000), // 2026-12-31T23:59:59
            request_id: RequestId::new("req-1"),
            client_request_id: RequestId::new("client-7"),
            claim: None,
            caller: Some(Arc::new(agent())),
            action: "read_order",
            method: Method::GET,
            path: Arc::from("/orders/42"),
            permission: Some(Arc::from("orders:read")),
            resource: Some(Arc::from("orders/42")),
            decision: Decision::Allow,
            code: "ok",
            via: None,
            latency_us: 12,
        };
        let with = |change: fn(&mut Principal)| {
            let mut principal = agent();
            change(&mut principal);
            DecisionRecord { caller: Some(Arc::new(principal)), ..first.clone() }
        };
        let records = [
            DecisionRecord { ts: first.ts + Duration::from_micros(1), ..first.clone() }, // the next year
            DecisionRecord { ts: first.ts - Duration::from_micros(999_999), ..first.clone() }, // the same second
            with(|_| {}), // an equal principal in another `Arc`
            with(|p| p.id = "other".into()),
            with(|p| p.tenant = "other".into()),
            with(|p| p.kind = CallerKind::Service),
            with(|p| p.on_behalf_of = None),
            with(|p| p.on_behalf_of = Some(Delegation { user: "bob".into(), roles: Vec::new() })),
            with(|p| p.id = "needs \"escaping\"".into()),
            DecisionRecord { caller: None, ..first.clone() },
            DecisionRecord { caller: None, action: "other_action", ..first.clone() },
            DecisionRecord { caller: None, method: Method::POST, ..first.clone() },
            DecisionRecord { request_id: None, permission: None, resource: None, ..first.clone() },
            DecisionRecord { action: "other_action", ..first.clone() },
            DecisionRecord { method: Method::DELETE, ..first.clone() },
            DecisionRecord { decision: Decision::Deny, code: "forbidden", ..first.clone() },
        ];
        let (mut writer, mut lines, mut expected) = (Lines::new(), Vec::new(), Vec::new());
        // Each after the first record, then the first again after it.
        for record in records.iter().flat_map(|record| [&first, record]).chain([&first]) {
            writer.write(record, &mut lines);
            serde_json::to_writer(&mut expected, record).expect("serializes");
            expected.push(b'\n');
        }
        assert_eq!(String::from_utf8_lossy(&lines), String::from_utf8_lossy(&expected));
    }

    #[test]
    fn strings_that_need_escaping_are_escaped() {
        let mut principal = agent();
        principal.id = "quote\"back\\slash\u{1}nl\n".into();
        principal.tenant = "ténant ✓".into();
        same_as_serde(&DecisionRecord {
            ts: UNIX_EPOCH,
            request_id: RequestId::new("a\"b"),
            client_request_id: RequestId::new("c\\d"),
            claim: None,
            caller: Some(Arc::new(principal)),
            action: "read_order",
            method: Method::from_bytes(b"PURGE").expect("method"),
            path: Arc::from("/orders/%22x%22"),
            permission: None,
            resource: Some(Arc::from("orders/\"x\"")),
            decision: Decision::Deny,
            code: "not_found",
            via: Some("mcp"),
            latency_us: u64::MAX,
        });
    }
}
