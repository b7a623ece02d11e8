//! Step 1's second half: the probing limit. Repeated denials inside a window
//! mark a caller as probing: 429 until the window ends.
//!
//! Denials are counted per principal for authenticated requests and per
//! client address (the peer the server saw, never a forwarding header a
//! client can forge) for unauthenticated ones, so one prober never locks
//! out another user. This check counts each attempt up front; the gate
//! takes back the attempts that were not denied.

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

/// Counts this attempt under `key` before any work is done (a
/// reservation), and refuses (429) once the attempts counted in the window
/// pass the threshold. Counting first, atomically, is what bounds a
/// concurrent burst: of any number of simultaneous attempts, at most the
/// threshold get past here. The gate takes the reservation back when the
/// attempt ends without an authorization denial; a refused attempt keeps
/// it, as the denial it is, and so does a 429'd one.
pub(crate) async fn reserve(store: &dyn DenialStore, limit: Limit, key: &str) -> Verdict {
    // A threshold of 0 would refuse everyone: it means off.
    if !limit.is_on() {
        return Ok(());
    }
    let window = store.add(key, limit.window).await?;
    if window.count > limit.threshold {
        return Err(Refusal::Denied(Denial {
            code: Code::ProbingSuspected,
            detail: "Too many denied requests: try again later.".into(),
            retry_after: Some(window.resets_in),
            step_up: None,
            claim: None,
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
