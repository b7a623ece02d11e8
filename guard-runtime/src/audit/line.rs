//! One decision record as one JSON line, written straight into the
//! writer's buffer.
//!
//! The same JSON as `DecisionRecord`'s `Serialize` impl, byte for byte, at
//! a fraction of the cost: the keys are literals, and a string is escaped
//! only if it holds a character that needs it (serde_json escapes every
//! key and value byte by byte, which was half the line's cost).

use super::{Decision, DecisionRecord};
use crate::CallerKind;

/// Appends `record` and a newline to `out`.
pub(crate) fn write_line(record: &DecisionRecord, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"ts\":\"");
    out.extend_from_slice(super::timestamp::rfc3339_micros(record.ts, &mut [0; super::timestamp::LEN]).as_bytes());
    out.extend_from_slice(b"\",\"request_id\":");
    string_or_null(out, record.request_id.as_deref());
    out.extend_from_slice(b",\"principal\":");
    string_or_null(out, record.principal());
    out.extend_from_slice(b",\"principal_kind\":");
    string_or_null(out, record.principal_kind().map(CallerKind::as_str));
    out.extend_from_slice(b",\"on_behalf_of\":");
    string_or_null(out, record.on_behalf_of());
    out.extend_from_slice(b",\"tenant\":");
    string_or_null(out, record.tenant());
    out.extend_from_slice(b",\"action\":");
    string(out, record.action);
    out.extend_from_slice(b",\"method\":");
    string(out, record.method.as_str());
    out.extend_from_slice(b",\"path\":");
    string(out, record.path());
    out.extend_from_slice(b",\"permission\":");
    string_or_null(out, record.permission.as_deref());
    out.extend_from_slice(b",\"resource\":");
    string_or_null(out, record.resource.as_deref());
    out.extend_from_slice(match record.decision {
        Decision::Allow => b",\"decision\":\"allow\",\"code\":",
        Decision::Deny => b",\"decision\":\"deny\",\"code\":",
    });
    string(out, record.code);
    out.extend_from_slice(b",\"latency_us\":");
    let mut digits = [0u8; 20];
    out.extend_from_slice(decimal(record.latency_us, &mut digits));
    out.extend_from_slice(b"}\n");
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
        out.push(b'"');
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
    }
}

/// Whether `bytes` holds a control character, `"` or `\`: eight bytes at a
/// time (the classic "has a zero byte" bit tricks), since a byte-wise scan
/// was a third of the line's cost.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const SPACES: u64 = u64::from_ne_bytes([0x20; 8]);
    const QUOTES: u64 = u64::from_ne_bytes([b'"'; 8]);
    const BACKSLASHES: u64 = u64::from_ne_bytes([b'\\'; 8]);
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS != 0;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let word = u64::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7]]);
        // A byte below 0x20: `byte - 0x20` borrows into its high bit while
        // the byte's own high bit is clear.
        let control = word.wrapping_sub(SPACES) & !word & HIGHS != 0;
        if control || has_zero(word ^ QUOTES) || has_zero(word ^ BACKSLASHES) {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\')
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

    use axum::http::{Method, Uri};

    use super::write_line;
    use crate::audit::{Decision, DecisionRecord};
    use crate::{Delegation, Principal};

    fn agent() -> Principal {
        let delegation = Delegation { user: "alice".into(), roles: vec!["customer".into()] };
        Principal::agent("assistant", "acme", ["orders:*"], delegation)
    }

    fn same_as_serde(record: &DecisionRecord) {
        let mut line = Vec::new();
        write_line(record, &mut line);
        let mut expected = serde_json::to_vec(record).expect("serializes");
        expected.push(b'\n');
        assert_eq!(String::from_utf8_lossy(&line), String::from_utf8_lossy(&expected));
    }

    #[test]
    fn an_allow_is_the_serde_line_byte_for_byte() {
        same_as_serde(&DecisionRecord {
            ts: UNIX_EPOCH + Duration::new(1_795_440_000, 42_000),
            request_id: Some(Arc::from("req-1")),
            caller: Some(Arc::new(agent())),
            action: "read_order",
            method: Method::GET,
            uri: Uri::from_static("/orders/42?secret=never-logged"),
            permission: Some(Arc::from("orders:read,orders:write")),
            resource: Some(Arc::from("orders/42")),
            decision: Decision::Allow,
            code: "ok",
            latency_us: 1_234_567,
        });
    }

    #[test]
    fn an_anonymous_deny_writes_nulls() {
        same_as_serde(&DecisionRecord {
            ts: UNIX_EPOCH,
            request_id: None,
            caller: None,
            action: "login",
            method: Method::POST,
            uri: Uri::from_static("/login"),
            permission: None,
            resource: None,
            decision: Decision::Deny,
            code: "unauthenticated",
            latency_us: 0,
        });
    }

    #[test]
    fn the_word_scan_agrees_with_a_byte_scan() {
        // Every byte value at every position of a 17-byte string (two
        // words and a remainder), among bytes that need no escaping.
        for at in 0..17 {
            for byte in 0..=255u8 {
                let mut text = *b"abcdefghijklmnopq";
                text[at] = byte;
                let expected = text.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
                assert_eq!(super::needs_escape(&text), expected, "byte {byte:#04x} at {at}");
            }
        }
    }

    #[test]
    fn strings_that_need_escaping_are_escaped() {
        let mut principal = agent();
        principal.id = "quote\"back\\slash\u{1}nl\n".into();
        principal.tenant = "ténant ✓".into();
        same_as_serde(&DecisionRecord {
            ts: UNIX_EPOCH,
            request_id: Some(Arc::from("a\"b")),
            caller: Some(Arc::new(principal)),
            action: "read_order",
            method: Method::from_bytes(b"PURGE").expect("method"),
            uri: Uri::from_static("/orders/%22x%22"),
            permission: None,
            resource: Some(Arc::from("orders/\"x\"")),
            decision: Decision::Deny,
            code: "not_found",
            latency_us: u64::MAX,
        });
    }
}
