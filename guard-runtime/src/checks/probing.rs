//! Step 1's second half: the probing limit. Repeated denials inside a window
//! mark a caller as probing: 429 until the window ends.
//!
//! Denials are counted per principal for authenticated requests and per
//! client address (the peer the server saw, never a forwarding header a
//! client can forge) for unauthenticated ones, so one prober never locks
//! out another user. The gate adds each denial to the count; this check
//! reads it.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::request::Parts;

use super::{Denial, Refusal, Verdict};
use crate::store::DenialStore;
use crate::{Code, Principal};

/// The app's probing limit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limit {
    /// Denials inside `window` before 429; 0 turns detection off.
    pub(crate) threshold: u32,
    pub(crate) window: Duration,
}

impl Limit {
    /// Whether detection is on. Every use of a probe key is behind this
    /// switch, so a request pays for none of it when it is off.
    pub(crate) fn is_on(self) -> bool {
        self.threshold > 0
    }
}

/// Refuses (429) once the denials counted under `key` reach the threshold.
pub(crate) async fn check(store: &dyn DenialStore, limit: Limit, key: &str) -> Verdict {
    // A threshold of 0 would refuse everyone (`count >= 0`): it means off.
    if !limit.is_on() {
        return Ok(());
    }
    let window = store.current(key, limit.window).await?;
    if window.count >= limit.threshold {
        return Err(Refusal::Denied(Denial {
            code: Code::ProbingSuspected,
            detail: "Too many denied requests: try again later.".into(),
            retry_after: Some(window.resets_in),
        }));
    }
    Ok(())
}

/// What an unauthenticated request's denials count against.
pub(crate) fn client_key(parts: &Parts) -> String {
    match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(addr)) => format!("addr:{}", addr.ip()),
        None => "addr:unknown".to_owned(),
    }
}

/// What an authenticated request's denials count against.
pub(crate) fn principal_key(principal: &Principal) -> String {
    ["principal:", &principal.tenant, "/", &principal.id].concat()
}
