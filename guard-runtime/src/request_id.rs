//! Request ids that cost a counter increment, not a UUID from the OS's
//! random source on every request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::http::request::Parts;
use axum::http::HeaderName;

pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// `<random per-app prefix>-<counter>`: unique within a process, and
/// unguessable across restarts. A client's own well-formed `x-request-id`
/// (1 to 128 visible ASCII characters) is kept for correlation.
pub(crate) struct RequestIds {
    /// Six random bytes, hex.
    prefix: [u8; 12],
    next: AtomicU64,
}

impl RequestIds {
    pub(crate) fn new() -> Self {
        let mut bytes = [0u8; 6];
        // Without randomness the prefix is still unique enough for
        // correlation; ids are not credentials.
        let _ = getrandom::fill(&mut bytes);
        let mut prefix = [0u8; 12];
        crate::hex::write_hex(&mut prefix, &bytes);
        RequestIds { prefix, next: AtomicU64::new(1) }
    }

    /// The request's id: the client's, or a new one.
    pub(crate) fn of(&self, parts: &Parts) -> Arc<str> {
        let mut sent = parts.headers.get_all(REQUEST_ID).iter();
        if let (Some(value), None) = (sent.next(), sent.next()) {
            let bytes = value.as_bytes();
            if (1..=128).contains(&bytes.len()) && bytes.iter().all(u8::is_ascii_graphic) {
                if let Ok(id) = value.to_str() {
                    return Arc::from(id);
                }
            }
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        // Built on the stack, so the id costs one allocation (its `Arc`).
        let mut buf = [0u8; 12 + 1 + 16];
        buf[..12].copy_from_slice(&self.prefix);
        buf[12] = b'-';
        crate::hex::encode(&mut buf[13..], &n.to_be_bytes());
        Arc::from(std::str::from_utf8(&buf).unwrap_or("request"))
    }
}
