//! The shared, immutable configuration every request's pipeline reads, and
//! what mounting resolved for each action.

use std::sync::Arc;
use std::time::Duration;

use crate::audit::{Auditor, TracingSink};
use crate::checks::object::ObjectRule;
use crate::checks::probing;
use crate::html::RenderErrorPage;
use crate::request_id::RequestIds;
use crate::spec::{ActionSpec, Fresh};
use crate::store::{
    ApprovalStore, DenialStore, MemoryApprovalStore, MemoryDenialStore, MemoryReplayStore, ReplayStore,
};
use crate::{Authenticator, Policy};

/// Everything the pipeline needs, set by `Actions`' builder methods and
/// shared by all routes. The builder holds one and changes it in place, so
/// a new setting is one field here and one method there.
pub(crate) struct Runtime {
    pub(crate) authenticator: Arc<dyn Authenticator>,
    pub(crate) policy: Arc<dyn Policy>,
    pub(crate) replay: Arc<dyn ReplayStore>,
    pub(crate) denials: Arc<dyn DenialStore>,
    pub(crate) approvals: Arc<dyn ApprovalStore>,
    /// How long an approval request stays open.
    pub(crate) approval_ttl: Duration,
    pub(crate) auditor: Arc<Auditor>,
    pub(crate) probing: probing::Limit,
    pub(crate) reauth_window: Duration,
    pub(crate) replay_ttl: Duration,
    pub(crate) body_limit: usize,
    pub(crate) allowed_origins: Vec<String>,
    pub(crate) request_ids: RequestIds,
    /// Where a signed-out browser on a `page` is sent.
    pub(crate) login_page: Arc<str>,
    /// How a refusal is written for a browser.
    pub(crate) error_page: RenderErrorPage,
}

impl Runtime {
    /// The defaults `Actions::new` documents.
    pub(crate) fn new(policy: Arc<dyn Policy>, authenticator: Arc<dyn Authenticator>) -> Self {
        Runtime {
            authenticator,
            policy,
            replay: Arc::new(MemoryReplayStore::new()),
            denials: Arc::new(MemoryDenialStore::new()),
            approvals: Arc::new(MemoryApprovalStore::new()),
            approval_ttl: crate::approval::DEFAULT_TTL,
            auditor: Arc::new(Auditor::new(Arc::new(TracingSink), 4096)),
            probing: probing::Limit { threshold: 20, window: Duration::from_secs(60) },
            reauth_window: Duration::from_secs(300),
            replay_ttl: Duration::from_secs(24 * 3600),
            body_limit: 64 * 1024,
            allowed_origins: Vec::new(),
            request_ids: RequestIds::new(),
            login_page: Arc::from("/login"),
            error_page: crate::html::default_error_page,
        }
    }

    /// The authentication age limit of `fresh`, if any.
    pub(crate) fn max_age(&self, fresh: Fresh) -> Option<Duration> {
        match fresh {
            Fresh::Any => None,
            Fresh::AppWindow => Some(self.reauth_window),
            Fresh::Within(secs) => Some(Duration::from_secs(secs)),
        }
    }

    /// The action's body limit: its own, or the app's.
    pub(crate) fn body_limit(&self, spec: &ActionSpec) -> usize {
        spec.body_limit.unwrap_or(self.body_limit)
    }
}

/// One mounted action: its spec, what mounting resolved, and the runtime.
/// Generated code passes it to the pipeline unopened.
#[doc(hidden)]
pub struct Mounted {
    pub(crate) rt: Arc<Runtime>,
    pub(crate) spec: &'static ActionSpec,
    /// The resolver of the object the action names: found at mount, so a
    /// missing one fails at startup, naming the action, never per request.
    pub(crate) object: Option<ObjectRule>,
    /// The required permissions, comma-joined once for audit records.
    pub(crate) permission: Option<Arc<str>>,
}
