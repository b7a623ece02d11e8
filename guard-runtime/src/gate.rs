//! The per-request check pipeline. Generated code drives a [`Gate`] through
//! its steps; every step either moves on or returns the refusal, already
//! audited and counted.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, RawPathParams};
use axum::http::{header, request::Parts, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{de::DeserializeOwned, Serialize};

use crate::audit::{Decision, DecisionRecord};
use crate::authn::{Authenticated, Authentication, SessionId, Via};
use crate::csrf::{csrf_ok, is_safe};
use crate::request_id::{RequestId, REQUEST_ID};
use crate::runtime::Mounted;
use crate::spec::{Fresh, KeySource, PolicyKind};
use crate::{
    ActionError, Authorized, BoxFuture, CheckContext, CheckError, Code, ObjectMeta, Principal, Reach, StoreFuture,
};

/// `Cache-Control` of every answer the guard's router gives: each was
/// meant for one caller.
pub(crate) const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");
/// Object keys longer than this cannot name anything: answered like a miss.
const MAX_KEY_LEN: usize = 256;

/// One request's journey through the guard. Not constructible outside it.
pub struct Gate {
    action: Arc<Mounted>,
    /// When the request reached the guard: audit latency is measured from
    /// it, on the monotonic clock (a wall clock stepped by NTP mid-request
    /// would read 0 or hours).
    started: Instant,
    request_id: RequestId,
    method: Method,
    /// The audit records' path: copied, not the request's `Uri`, whose
    /// bytes share the server's read buffer (a record in the audit queue
    /// would keep that buffer alive, and its last drop freed it, a large
    /// free that consolidated the heap).
    path: Arc<str>,
    probe_key: String,
    principal: Option<Arc<Principal>>,
    session: Option<(SessionId, String)>,
    reach: Reach,
    replay_key: Option<String>,
    resource: Option<Arc<str>>,
    object: Option<ObjectMeta>,
}

type Step<T = ()> = Result<T, Response>;

impl Gate {
    /// A gate for one request to `action`: nothing is checked yet.
    ///
    /// Boxed: the gate lives across every await of the action's future,
    /// and inline it would push that future past the allocator's small-size
    /// cache (about 1 KiB in glibc), where every request's allocation took
    /// the slow path and consolidated the heap. Two small allocations cost
    /// less than one large one.
    pub fn new(action: Arc<Mounted>, parts: &Parts) -> Box<Gate> {
        Box::new(Gate {
            request_id: action.rt.request_ids.of(parts),
            method: parts.method.clone(),
            path: Arc::from(parts.uri.path()),
            probe_key: String::new(),
            principal: None,
            session: None,
            reach: Reach::Own,
            replay_key: None,
            resource: None,
            object: None,
            started: Instant::now(),
            action,
        })
    }

    /// Steps 1 to 6: authentication, probing limit, caller kind, freshness,
    /// CSRF, replay header, permission.
    pub(crate) async fn open(&mut self, parts: &Parts) -> Step {
        if self.action.rt.auditor.is_failing() {
            return Err(self.deny(Code::Unavailable).await);
        }
        let spec = self.action.spec;
        if let PolicyKind::Public(_) = spec.policy {
            self.count_as(|| client_key(parts));
            if self.probing_on() {
                self.check_probing().await?;
            }
            return Ok(());
        }

        // 1. Authenticate. Any credential that is not valid is a 401; a store
        // failure is a 503, never "anonymous".
        let authenticated = match self.action.rt.authenticator.authenticate(parts).await {
            Ok(Authentication::Authenticated(found)) => found,
            Ok(Authentication::Missing | Authentication::Invalid) => {
                self.count_as(|| client_key(parts));
                if self.probing_on() {
                    self.check_probing().await?;
                }
                return Err(self.deny(Code::Unauthenticated).await);
            }
            Err(err) => return Err(self.unavailable(err).await),
        };
        let Authenticated { principal, via } = authenticated;
        self.count_as(|| ["principal:", &principal.tenant, "/", &principal.id].concat());
        let kind = principal.kind;
        // A bearer request proves its key anew: it is as fresh as it gets.
        let authenticated_at = match via {
            Via::Bearer => None,
            Via::Session { .. } => Some(principal.authenticated_at),
        };
        self.principal = Some(principal);
        if let Via::Session { id, csrf_token } = via {
            self.session = Some((id, csrf_token));
        }
        // Only awaited when detection is on: one future less per request.
        if self.probing_on() {
            self.check_probing().await?;
        }

        // 2. Caller kind.
        if !spec.accepts(kind) {
            return Err(self.deny(Code::WrongCallerKind).await);
        }

        // 3. Freshness.
        let max_age = match spec.fresh {
            Fresh::Any => None,
            Fresh::AppWindow => Some(self.action.rt.reauth_window),
            Fresh::Within(secs) => Some(Duration::from_secs(secs)),
        };
        if let (Some(max_age), Some(authenticated_at)) = (max_age, authenticated_at) {
            // A clock that went backwards reads as "just now": the session
            // store's own expiry still bounds it.
            let age = SystemTime::now().duration_since(authenticated_at).unwrap_or_default();
            if age > max_age {
                return Err(self.deny(Code::ReauthRequired).await);
            }
        }

        // 4. CSRF, for cookie sessions on unsafe methods.
        if let Some((_, token)) = &self.session {
            if !is_safe(&parts.method) && !csrf_ok(parts, token, &self.action.rt.allowed_origins) {
                return Err(self.deny(Code::CsrfFailed).await);
            }
        }

        // 5. The replay header must be there; it is claimed only at the end.
        if let Some(name) = spec.replay {
            match replay_key(parts, name) {
                Some(key) => self.replay_key = Some(scoped_replay_key(spec.name, self.principal.as_deref(), &key)),
                None => {
                    let detail =
                        format!("This action needs a single-use `{name}` header of 1 to 255 visible ASCII characters.");
                    return Err(self.deny_with(Code::BadRequest, detail.into(), None).await);
                }
            }
        }

        // 6. Permission: every required one, reach the narrowest.
        if let PolicyKind::Requires(required) = spec.policy {
            let policy = &self.action.rt.policy;
            // An empty list can only come from a spec the macro refused to
            // build (its fallback): it grants nothing.
            let reach = self.principal.as_ref().filter(|_| !required.is_empty()).and_then(|principal| {
                required.iter().try_fold(Reach::Tenant, |narrowest, permission| {
                    policy.reach(principal, permission).map(|r| narrowest.min(r))
                })
            });
            match reach {
                Some(reach) => self.reach = reach,
                None => return Err(self.deny(Code::Forbidden).await),
            }
        }
        Ok(())
    }

    /// Whether the action names an object (`owner`/`tenant`/`resource`).
    pub(crate) fn names_an_object(&self) -> bool {
        self.action.spec.object.is_some()
    }

    /// Whether the action is public.
    pub(crate) fn is_public(&self) -> bool {
        matches!(self.action.spec.policy, PolicyKind::Public(_))
    }

    /// Runs the action's own extractors (`State`, `Path`, …); its
    /// rejection keeps the problem format.
    pub(crate) async fn extract<T, S>(&mut self, parts: &mut Parts, state: &S) -> Step<T>
    where
        T: FromRequestParts<S>,
        S: Send + Sync,
    {
        // Keep nothing of `T` or its rejection alive across the await below:
        // their `Send`-ness is unknown in this generic code.
        let status = match T::from_request_parts(parts, state).await {
            Ok(value) => return Ok(value),
            Err(rejection) => rejection.into_response().status(),
        };
        Err(self.deny(Code::from_status(status)).await)
    }

    /// Step 7: decodes the JSON body strictly.
    pub(crate) async fn decode<T>(&mut self, parts: &Parts, body: Body) -> Step<T>
    where
        T: DeserializeOwned + Serialize,
    {
        let limit = self.action.spec.body_limit.unwrap_or(self.action.rt.body_limit);
        match crate::input::decode_json(parts, body, limit).await {
            Ok(input) => Ok(input),
            Err((code, detail)) => Err(self.deny_with(code, detail, None).await),
        }
    }

    /// The object key from the path parameter the action names.
    pub(crate) fn path_key<'p>(&self, params: &'p RawPathParams) -> Option<&'p str> {
        let KeySource::Path(name) = self.action.spec.object.as_ref()?.key else { return None };
        params.iter().find(|(key, _)| *key == name).map(|(_, value)| value)
    }

    /// Step 8: loads the object and checks tenant and owner. Every failure
    /// answers exactly like a missing object.
    pub(crate) async fn resolve(&mut self, key: Option<&str>) -> Step {
        let Some(spec) = self.action.spec.object.as_ref() else { return Err(self.deny(Code::Unavailable).await) };
        let key = key.filter(|k| !k.is_empty() && k.len() <= MAX_KEY_LEN && !k.chars().any(char::is_control));
        if let Some(key) = key {
            self.resource = Some(resource_id(spec.resource, key));
        }
        // No resolver is a 503 before a bad key's 404. The resolver is
        // borrowed, not an `Arc` clone: its answer is owned once awaited.
        let found = match (self.action.resolver.as_deref(), key) {
            (None, _) => return Err(self.deny(Code::Unavailable).await),
            (Some(_), None) => return Err(self.deny(Code::NotFound).await),
            (Some(resolver), Some(key)) => resolver.resolve(key).await,
        };
        let object = match found {
            Ok(Some(object)) => object,
            Ok(None) => return Err(self.deny(Code::NotFound).await),
            Err(err) => return Err(self.unavailable(err).await),
        };
        let Some(principal) = self.principal.as_ref() else { return Err(self.deny(Code::Unavailable).await) };
        let same_tenant = *object.tenant == *principal.tenant;
        let owner_ok = !spec.owner
            || self.reach == Reach::Tenant
            || matches!((principal.owner_id(), object.owner.as_deref()), (Some(me), Some(owner)) if me == owner);
        if !(same_tenant && owner_ok) {
            return Err(self.deny(Code::NotFound).await);
        }
        self.object = Some(object);
        Ok(())
    }

    /// What a custom check sees. `None` only for public actions, which
    /// cannot have checks.
    pub(crate) fn check_context<'a>(&'a self, parts: &'a Parts) -> Option<CheckContext<'a>> {
        Some(CheckContext { principal: self.principal.as_ref()?, object: self.object.as_ref(), request: parts })
    }

    /// Before the custom check: a replay key that is already used answers
    /// 409 now, since the first use may have changed what the check sees
    /// (a captured payment is no longer capturable). Nothing is claimed here.
    pub(crate) async fn check_replay_unused(&mut self) -> Step {
        let Some(key) = self.replay_key.as_deref() else { return Ok(()) };
        match self.action.rt.replay.is_claimed(key).await {
            Ok(false) => Ok(()),
            Ok(true) => Err(self.deny(Code::Replayed).await),
            Err(err) => Err(self.unavailable(err).await),
        }
    }

    /// Step 9: the custom check's verdict.
    pub(crate) async fn checked(&mut self, verdict: Option<Result<(), CheckError>>) -> Step {
        match verdict {
            Some(Ok(())) => Ok(()),
            Some(Err(CheckError::Denied(detail))) => Err(self.deny_with(Code::Forbidden, detail, None).await),
            Some(Err(CheckError::Unavailable(err))) => Err(self.unavailable(err).await),
            None => Err(self.deny(Code::Unavailable).await),
        }
    }

    /// Step 10: claims the replay key, audits the allow, and hands the body
    /// its proof.
    pub(crate) async fn admit(&mut self, required: &'static [&'static str]) -> Step<Authorized> {
        self.admit_common().await?;
        let Some(principal) = self.principal.clone() else { return Err(self.deny(Code::Unavailable).await) };
        Ok(Authorized {
            principal,
            session: self.session.take().map(|(id, _)| id),
            reach: self.reach,
            required,
            object: self.object.take(),
            request_id: Some(self.request_id.clone()),
        })
    }

    /// Step 10 for a public action: audits the allow.
    pub(crate) async fn admit_public(&mut self) -> Step {
        self.admit_common().await
    }

    async fn admit_common(&mut self) -> Step {
        if let Some(key) = self.replay_key.take() {
            match self.action.rt.replay.claim(&key, self.action.rt.replay_ttl).await {
                Ok(true) => {}
                Ok(false) => return Err(self.deny(Code::Replayed).await),
                Err(err) => return Err(self.unavailable(err).await),
            }
        }
        let record = self.record(Decision::Allow, "ok");
        if let Err(err) = self.action.rt.auditor.send(record).await {
            tracing::error!(target: "guard::gate", error = %err, "audit failed; denying");
            return Err(self.tag(ActionError::new(Code::Unavailable).into_response()));
        }
        Ok(())
    }

    /// After the body: an action's own refusal (a login form's wrong
    /// password: 401, a wrong current password: 403) is a decision too. It
    /// is audited as a deny after the allow, and counts toward probing.
    ///
    /// Ready at once unless the body refused: only that path awaits (the
    /// record and the denial count), boxed, so its state stays out of every
    /// request's future.
    pub fn finish(&mut self, response: Response) -> StoreFuture<'_, Response> {
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            let code = Code::from_status(status);
            return StoreFuture::new(async move {
                self.body_refused(code).await;
                self.tag(response)
            });
        }
        StoreFuture::ready(self.tag(response))
    }

    async fn body_refused(&mut self, code: Code) {
        let record = self.record(Decision::Deny, code.as_str());
        // The body already ran: a failure here can only be logged.
        if let Err(err) = self.action.rt.auditor.send(record).await {
            tracing::error!(target: "guard::gate", error = %err, "audit failed after the action ran");
        }
        if self.probing_on() {
            if let Err(err) = self.action.rt.denials.add(&self.probe_key, self.action.rt.probe_window).await {
                tracing::error!(target: "guard::gate", error = %err, "denial store failed after the action ran");
            }
        }
    }

    /// A 503 for an outcome that cannot happen when the macro's checks hold:
    /// fail closed rather than trust that.
    pub async fn fail_closed(&mut self) -> Response {
        self.deny(Code::Unavailable).await
    }

    /// Names what this request's denials count against (a principal, or a
    /// client address). Only built when probing detection is on: every use
    /// of the key is behind the same switch.
    fn count_as(&mut self, key: impl FnOnce() -> String) {
        if self.probing_on() {
            self.probe_key = key();
        }
    }

    /// Whether probing detection is on (a threshold above 0).
    fn probing_on(&self) -> bool {
        self.action.rt.probe_threshold > 0
    }

    /// Refuses (429) once this caller's denials in the window reach the
    /// threshold. Callers check [`probing_on`](Self::probing_on) first, to
    /// skip the future; the check here keeps a threshold of 0 from ever
    /// refusing everyone (`count >= 0`) if a new caller forgets to.
    async fn check_probing(&mut self) -> Step {
        if !self.probing_on() {
            return Ok(());
        }
        match self.action.rt.denials.current(&self.probe_key, self.action.rt.probe_window).await {
            Ok(window) if window.count >= self.action.rt.probe_threshold => Err(self
                .deny_with(
                    Code::ProbingSuspected,
                    Cow::Borrowed("Too many denied requests: try again later."),
                    Some(window.resets_in),
                )
                .await),
            Ok(_) => Ok(()),
            Err(err) => Err(self.unavailable(err).await),
        }
    }

    fn unavailable(&mut self, err: crate::StoreError) -> BoxFuture<'_, Response> {
        tracing::error!(target: "guard::gate", action = self.action.spec.name, error = %err, "store failed on the authorization path; denying");
        self.deny(Code::Unavailable)
    }

    fn deny(&mut self, code: Code) -> BoxFuture<'_, Response> {
        self.deny_with(code, Cow::Borrowed(""), None)
    }

    /// Audits and counts a refusal, and renders it. Boxed: refusals are the
    /// rare path, and inlining their state (a whole audit record and queue
    /// send) into every step's future would make each request move kilobytes.
    fn deny_with(
        &mut self,
        code: Code,
        detail: Cow<'static, str>,
        retry_after: Option<Duration>,
    ) -> BoxFuture<'_, Response> {
        Box::pin(self.deny_inner(code, detail, retry_after))
    }

    async fn deny_inner(&mut self, code: Code, detail: Cow<'static, str>, retry_after: Option<Duration>) -> Response {
        tracing::trace!(target: "guard::gate", action = self.action.spec.name, code = code.as_str(), "denied");
        let mut error = ActionError::new(code);
        if !detail.is_empty() {
            error = error.with_detail(detail);
        }
        if let Some(wait) = retry_after {
            error = error.with_retry_after(wait.as_secs_f64().ceil() as u64);
        }
        if code.is_probe() && self.probing_on() {
            if let Err(err) = self.action.rt.denials.add(&self.probe_key, self.action.rt.probe_window).await {
                tracing::error!(target: "guard::gate", error = %err, "denial store failed");
                error = ActionError::new(Code::Unavailable);
            }
        }
        let record = self.record(Decision::Deny, error.code().as_str());
        if let Err(err) = self.action.rt.auditor.send(record).await {
            tracing::error!(target: "guard::gate", error = %err, "audit failed");
            error = ActionError::new(Code::Unavailable);
        }
        self.tag(error.into_response())
    }

    fn record(&self, decision: Decision, code: &'static str) -> DecisionRecord {
        DecisionRecord {
            ts: SystemTime::now(),
            request_id: Some(self.request_id.clone()),
            caller: self.principal.clone(),
            action: self.action.spec.name,
            method: self.method.clone(),
            path: self.path.clone(),
            permission: self.action.permission.clone(),
            resource: self.resource.clone(),
            decision,
            code,
            latency_us: self.started.elapsed().as_micros() as u64,
        }
    }

    /// Every answer of an action names the id its audit records carry, and
    /// is never cached (it was meant for one caller). Set here rather than
    /// by a router layer, which would cost every request a boxed service.
    fn tag(&self, mut response: Response) -> Response {
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, NO_STORE);
        headers.insert(REQUEST_ID, self.request_id.header_value());
        response
    }
}

/// The key unauthenticated denials are counted under: the peer address the
/// server saw, never a forwarding header a client can forge.
fn client_key(parts: &Parts) -> String {
    match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(addr)) => format!("addr:{}", addr.ip()),
        None => "addr:unknown".to_owned(),
    }
}

/// Replay keys are single-use per action and principal, so two callers (or
/// two actions) never collide on a client-chosen key.
fn scoped_replay_key(action: &str, principal: Option<&Principal>, key: &str) -> String {
    let principal = principal.map_or("", |p| p.id.as_str());
    format!("{action}\u{0}{principal}\u{0}{key}")
}

/// The replay header's value, if exactly one well-formed one was sent.
fn replay_key(parts: &Parts, name: &str) -> Option<String> {
    let mut values = parts.headers.get_all(name).iter();
    let (Some(value), None) = (values.next(), values.next()) else { return None };
    let bytes = value.as_bytes();
    let ok = (1..=255).contains(&bytes.len()) && bytes.iter().all(|b| b.is_ascii_graphic());
    ok.then(|| String::from_utf8_lossy(bytes).into_owned())
}

/// `resource/key`, the audit record's resource: built on the stack so it
/// costs one allocation, shared by every record of the request.
fn resource_id(resource: &str, key: &str) -> Arc<str> {
    let mut buf = [0u8; 64 + 1 + MAX_KEY_LEN];
    let len = resource.len() + 1 + key.len();
    match buf.get_mut(..len) {
        Some(out) => {
            out[..resource.len()].copy_from_slice(resource.as_bytes());
            out[resource.len()] = b'/';
            out[resource.len() + 1..].copy_from_slice(key.as_bytes());
            Arc::from(std::str::from_utf8(out).unwrap_or_default())
        }
        None => Arc::from([resource, "/", key].concat()),
    }
}
