//! The shared, immutable configuration every request's gate reads.

use std::sync::Arc;
use std::time::Duration;

use crate::audit::Auditor;
use crate::store::{DenialStore, ReplayStore};
use crate::{Authenticator, Policy, Resolver};

/// Everything the gate needs, built once by `Actions` and shared by all routes.
pub(crate) struct Runtime {
    pub(crate) authenticator: Arc<dyn Authenticator>,
    pub(crate) policy: Arc<dyn Policy>,
    pub(crate) replay: Arc<dyn ReplayStore>,
    pub(crate) denials: Arc<dyn DenialStore>,
    pub(crate) auditor: Arc<Auditor>,
    pub(crate) probe_threshold: u32,
    pub(crate) probe_window: Duration,
    pub(crate) reauth_window: Duration,
    pub(crate) replay_ttl: Duration,
    pub(crate) body_limit: usize,
    pub(crate) allowed_origins: Arc<[String]>,
    pub(crate) request_ids: crate::request_id::RequestIds,
}

/// One mounted action: its spec, what mounting resolved, and the runtime.
/// Generated code passes it to [`Gate::open`](crate::gate::Gate) unopened.
#[doc(hidden)]
pub struct Mounted {
    pub(crate) rt: Arc<Runtime>,
    pub(crate) spec: &'static crate::ActionSpec,
    pub(crate) resolver: Option<Arc<dyn Resolver>>,
    /// The required permissions, comma-joined once for audit records.
    pub(crate) permission: Option<Arc<str>>,
}
