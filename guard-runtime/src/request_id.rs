//! Request ids that cost a counter increment, not a UUID from the OS's
//! random source on every request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::http::{HeaderValue, Request};
use tower_http::request_id::{MakeRequestId, RequestId};

/// `<random per-router prefix>-<counter>`: unique within a process, and
/// unguessable across restarts. A client's own `x-request-id` is kept.
#[derive(Clone)]
pub(crate) struct CounterRequestId {
    prefix: Arc<str>,
    next: Arc<AtomicU64>,
}

impl CounterRequestId {
    pub(crate) fn new() -> Self {
        let mut bytes = [0u8; 6];
        // Without randomness the prefix is still unique enough for
        // correlation; ids are not credentials.
        let _ = getrandom::fill(&mut bytes);
        CounterRequestId { prefix: crate::authn::hex(&bytes).into(), next: Arc::new(AtomicU64::new(1)) }
    }
}

impl MakeRequestId for CounterRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::try_from(format!("{}-{n:x}", self.prefix)).ok().map(RequestId::new)
    }
}
