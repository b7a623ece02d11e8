//! Request ids that cost a counter increment, not a UUID from the OS's
//! random source on every request, and one allocation shared by the
//! response's `x-request-id` header and every audit record of the request.

use std::fmt;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue};
use bytes::Bytes;

pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// `<random per-app prefix>-<counter>`: unique within a process, and
/// unguessable across restarts. A client's own well-formed `x-request-id`
/// (1 to 128 visible ASCII characters) is kept for correlation beside it,
/// never instead of it: the client chooses it, so two requests could share
/// one.
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

    /// A new id, unique within this process.
    pub(crate) fn next(&self) -> RequestId {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut id = [0u8; GENERATED_LEN];
        id[..12].copy_from_slice(&self.prefix);
        id[12] = b'-';
        crate::hex::encode(&mut id[13..], &n.to_be_bytes());
        RequestId::from_owner(id).unwrap_or_else(|| RequestId(HeaderValue::from_static("request")))
    }
}

/// The client's own id, if it sent exactly one well-formed `x-request-id`.
pub(crate) fn sent_by_client(parts: &Parts) -> Option<RequestId> {
    let mut sent = parts.headers.get_all(REQUEST_ID).iter();
    match (sent.next(), sent.next()) {
        (Some(value), None) => RequestId::new(value.as_bytes()),
        _ => None,
    }
}

/// The longest id a client may send.
const MAX_LEN: usize = 128;
/// `<12 hex digits>-<16 hex digits>`.
const GENERATED_LEN: usize = 12 + 1 + 16;

/// A request's id, as its audit records and its `x-request-id` header carry
/// it: 1 to 128 visible ASCII characters. Cloning it shares one allocation.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestId(HeaderValue);

/// Up to `N` bytes of an id, inline: the id's one allocation holds them (a
/// copy of a client's id never keeps the server's read buffer alive, as a
/// slice of it would).
struct IdBytes<const N: usize> {
    len: u8,
    bytes: [u8; N],
}

impl<const N: usize> IdBytes<N> {
    /// `id`, which is at most `N` (and 255) bytes long.
    fn copy(id: &[u8]) -> Option<Self> {
        let mut copy = IdBytes { len: u8::try_from(id.len()).ok()?, bytes: [0; N] };
        copy.bytes.get_mut(..id.len())?.copy_from_slice(id);
        Some(copy)
    }
}

impl<const N: usize> AsRef<[u8]> for IdBytes<N> {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl RequestId {
    /// `id` as a request id; `None` unless it is 1 to 128 visible ASCII
    /// characters.
    pub fn new(id: impl AsRef<[u8]>) -> Option<RequestId> {
        let id = id.as_ref();
        if !(1..=MAX_LEN).contains(&id.len()) || !id.iter().all(u8::is_ascii_graphic) {
            return None;
        }
        // Most ids are short: a small copy for them.
        if id.len() <= 32 {
            RequestId::from_owner(IdBytes::<32>::copy(id)?)
        } else {
            RequestId::from_owner(IdBytes::<MAX_LEN>::copy(id)?)
        }
    }

    fn from_owner(id: impl AsRef<[u8]> + Send + 'static) -> Option<RequestId> {
        HeaderValue::from_maybe_shared(Bytes::from_owner(id)).ok().map(RequestId)
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        // Visible ASCII, checked when it was made.
        self.0.to_str().unwrap_or_default()
    }

    /// The `x-request-id` value: the same allocation, not a copy.
    pub(crate) fn header_value(&self) -> HeaderValue {
        self.0.clone()
    }
}

impl Deref for RequestId {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_visible_ascii_of_1_to_128_characters_is_an_id() {
        assert_eq!(RequestId::new("req-1").as_deref(), Some("req-1"));
        assert_eq!(RequestId::new("a".repeat(128)).map(|id| id.len()), Some(128));
        for bad in ["", "a b", "tab\t", "caf\u{e9}", "nul\0"] {
            assert!(RequestId::new(bad).is_none(), "{bad:?}");
        }
        assert!(RequestId::new("a".repeat(129)).is_none());
    }

    #[test]
    fn generated_ids_are_unique_and_share_one_allocation_with_the_header() {
        let ids = RequestIds::new();
        let (a, b) = (ids.next(), ids.next());
        assert_ne!(a, b);
        assert_eq!(a.len(), GENERATED_LEN);
        assert_eq!(a[..12], b[..12], "one prefix per process");
        let header = a.header_value();
        assert_eq!(header.as_bytes().as_ptr(), a.as_str().as_ptr(), "the header is the id, not a copy");
    }

    fn sent(values: &[&[u8]]) -> (Option<RequestId>, Vec<*const u8>) {
        let mut request = axum::http::Request::builder();
        for value in values {
            request = request.header(REQUEST_ID, HeaderValue::from_bytes(value).expect("header value"));
        }
        let parts = request.body(()).expect("request").into_parts().0;
        let sent = parts.headers.get_all(REQUEST_ID).iter().map(|v| v.as_bytes().as_ptr()).collect();
        (sent_by_client(&parts), sent)
    }

    #[test]
    fn a_clients_id_is_kept_when_well_formed_and_copied() {
        let (id, sent_at) = sent(&[b"client-7"]);
        let id = id.expect("kept");
        assert_eq!(id.as_str(), "client-7");
        assert_ne!(id.as_str().as_ptr(), sent_at[0], "a copy: the request's buffer is not kept alive");
        let long = "k".repeat(128);
        assert_eq!(sent(&[long.as_bytes()]).0.expect("kept").as_str(), long);
    }

    #[test]
    fn a_malformed_or_repeated_client_id_is_not_kept() {
        let too_long = "k".repeat(129);
        let refused: [&[&[u8]]; 5] =
            [&[b"has space"], &[b"tab\tid"], &[b"caf\xc3\xa9"], &[too_long.as_bytes()], &[b"one", b"two"]];
        for values in refused {
            assert!(sent(values).0.is_none(), "{values:?}");
        }
    }
}
