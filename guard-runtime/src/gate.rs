//! One request's state on its way through the guard: what its audit records
//! will say (who, what, which object, since when), its refusal, and its
//! answer's headers. The checks in [`checks`](crate::checks) decide; the
//! [`pipeline`](crate::pipeline) orders them; the gate records and answers.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::http::{header, request::Parts, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::audit::{Decision, DecisionRecord, Reserved};
use crate::checks::{Denial, Refusal};
use crate::error::Problem;
use crate::request_id::{RequestId, REQUEST_ID};
use crate::runtime::Mounted;
use crate::{ActionError, BoxFuture, Code, Principal, StoreFuture};

/// `Cache-Control` of every answer the guard's router gives: each was
/// meant for one caller.
pub(crate) const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

/// One request's journey through the guard. Not constructible outside it.
pub struct Gate {
    pub(crate) action: Arc<Mounted>,
    pub(crate) facts: Facts,
}

/// What this request's audit records say.
pub(crate) struct Facts {
    /// When the request reached the guard: audit latency is measured from
    /// it, on the monotonic clock (a wall clock stepped by NTP mid-request
    /// would read 0 or hours).
    started: Instant,
    /// Made by the server: unique, whatever clients send.
    pub(crate) request_id: RequestId,
    /// The client's own well-formed `x-request-id`, kept beside it and
    /// echoed back.
    client_request_id: Option<RequestId>,
    method: Method,
    /// The audit records' path: copied, not the request's `Uri`, whose
    /// bytes share the server's read buffer (a record in the audit queue
    /// would keep that buffer alive, and its last drop freed it, a large
    /// free that consolidated the heap).
    path: Arc<str>,
    /// What this request's denials count against (a principal, or a client
    /// address); only set while probing detection is on.
    pub(crate) probe_key: String,
    /// Whether this attempt is counted under `probe_key` (step 1 reserved
    /// it): taken back unless the request ends denied.
    pub(crate) reserved: bool,
    /// The caller, once authenticated.
    pub(crate) caller: Option<Arc<Principal>>,
    /// `resource/key` of the object the request names, once read.
    pub(crate) resource: Option<Arc<str>>,
    /// For a browser (a request that prefers `text/html`): the path and
    /// query it asked for, where its login comes back to. `None` for API
    /// clients, which get problem+json.
    browser: Option<Box<str>>,
    /// The code of the allow record: `ok`, or `approved` when the request
    /// uses a second person's approval.
    pub(crate) allow_code: &'static str,
}

impl Gate {
    /// A gate for one request to `action`: nothing is checked yet.
    ///
    /// Boxed: the gate lives across every await of the action's future,
    /// and inline it would push that future past the allocator's small-size
    /// cache (about 1 KiB in glibc), where every request's allocation took
    /// the slow path and consolidated the heap. Two small allocations cost
    /// less than one large one.
    pub fn new(action: Arc<Mounted>, parts: &Parts) -> Box<Gate> {
        let request_id = action.rt.request_ids.next();
        let client_request_id = crate::request_id::sent_by_client(parts);
        // For a `TraceLayer` span that declares the field (see the README's
        // recipe); a no-op when no span does.
        tracing::Span::current().record("request_id", request_id.as_str());
        Box::new(Gate {
            facts: Facts {
                request_id,
                client_request_id,
                method: parts.method.clone(),
                path: Arc::from(parts.uri.path()),
                probe_key: String::new(),
                reserved: false,
                caller: None,
                resource: None,
                browser: crate::html::prefers_html(&parts.headers)
                    .then(|| parts.uri.path_and_query().map_or("/", |pq| pq.as_str()).into()),
                allow_code: "ok",
                started: Instant::now(),
            },
            action,
        })
    }

    /// After the body: an action's own refusal (a login form's wrong
    /// password: 401, a wrong current password: 403; an approver's
    /// decision refused by [`Approvals`](crate::approval::Approvals)) is a
    /// decision too. It is audited as a deny after the allow, and counts
    /// toward probing.
    ///
    /// Ready at once unless the body refused: only that path awaits (the
    /// record and the denial count), boxed, so its state stays out of every
    /// request's future.
    pub fn finish(&mut self, response: Response) -> StoreFuture<'_, Response> {
        let status = response.status();
        let Gate { action, facts } = self;
        // An `ActionError` names its code; any other answer, its status.
        let named = response.extensions().get::<Problem>().map(|problem| problem.code);
        let response = facts.for_browser(action, response);
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN || named.is_some_and(Code::is_approval)
        {
            let code = named.unwrap_or_else(|| Code::from_status(status));
            return StoreFuture::new(async move {
                facts.body_refused(action, code).await;
                facts.tag(response)
            });
        }
        // Not denied: the attempt step 1 counted is taken back. In-process,
        // that is at hand; only a network store's answer is awaited.
        if facts.reserved {
            facts.reserved = false;
            let window = action.rt.probing.window;
            // A store that must wait is called again from a future that owns
            // the gate; the first call's future is dropped unpolled, and a
            // network store's does nothing until polled.
            match action.rt.denials.release(&facts.probe_key, window).into_ready().ok() {
                Some(released) => log_release(released),
                None => {
                    return StoreFuture::new(async move {
                        log_release(action.rt.denials.release(&facts.probe_key, window).await);
                        facts.tag(response)
                    })
                }
            }
        }
        StoreFuture::ready(facts.tag(response))
    }

    /// A 503 for an outcome that cannot happen when the macro's checks hold:
    /// fail closed rather than trust that.
    pub async fn fail_closed(&mut self) -> Response {
        let Gate { action, facts } = self;
        facts.refuse(action, Refusal::code(Code::Unavailable)).await
    }
}

impl Facts {
    /// Step 1 found the caller: its audit records name it from now on, and
    /// so does the current span, if it declares a `principal` field.
    pub(crate) fn identified(&mut self, principal: &Arc<Principal>) {
        tracing::Span::current().record("principal", principal.id.as_str());
        self.caller = Some(principal.clone());
    }

    /// Audits the allow decision (step 10). If the record cannot be queued
    /// the request is refused with 503 and the body never runs.
    pub(crate) async fn allow(&mut self, action: &Mounted) -> Result<(), Response> {
        let record = self.record(action, Decision::Allow, self.allow_code);
        if let Err(err) = action.rt.auditor.send(record).await {
            tracing::error!(target: "guard::gate", error = %err, "audit failed; denying");
            return Err(self.answer(action, ActionError::new(Code::Unavailable)));
        }
        Ok(())
    }

    /// Audits the allow decision in a place reserved before the replay key
    /// was claimed. Only a writer that is gone (the runtime shutting down)
    /// can refuse it now: the answer is then this 503.
    pub(crate) fn allow_reserved(&mut self, action: &Mounted, place: Reserved<'_>) -> Option<Response> {
        let record = self.record(action, Decision::Allow, self.allow_code);
        let err = place.send(record).err()?;
        tracing::error!(target: "guard::gate", error = %err, "audit failed after the replay key was claimed; denying");
        Some(self.answer(action, ActionError::new(Code::Unavailable)))
    }

    /// For a durable sink: waits until the allow record is on disk. If it
    /// cannot get there, the body does not run (503); the queued record
    /// stays for the writer's retry, an allow whose body never ran.
    pub(crate) async fn allow_written(&mut self, action: &Mounted) -> Result<(), Response> {
        if let Err(err) = action.rt.auditor.flush().await {
            tracing::error!(target: "guard::gate", error = %err, "durable allow not written; denying");
            return Err(self.tag(ActionError::new(Code::Unavailable).into_response()));
        }
        Ok(())
    }

    /// An approval request was stored (step 9's approval): `answer` is its
    /// 202. Audited in the place reserved before the store was written, as
    /// a deny (the body did not run) with code `approval_requested`. Not a
    /// denial for probing: step 1's count is taken back.
    pub(crate) async fn held(&mut self, action: &Mounted, place: Reserved<'_>, answer: Response) -> Response {
        let record = self.record(action, Decision::Deny, "approval_requested");
        if let Err(err) = place.send(record) {
            tracing::error!(target: "guard::gate", error = %err, "audit failed after an approval request was stored");
            return self.tag(ActionError::new(Code::Unavailable).into_response());
        }
        if self.reserved {
            self.reserved = false;
            log_release(action.rt.denials.release(&self.probe_key, action.rt.probing.window).await);
        }
        self.tag(answer)
    }

    /// Audits and counts a refusal, and renders it. Boxed: refusals are the
    /// rare path, and inlining their state (a whole audit record and queue
    /// send) into every step's future would make each request move kilobytes.
    pub(crate) fn refuse<'a>(&'a mut self, action: &'a Mounted, refusal: Refusal) -> BoxFuture<'a, Response> {
        Box::pin(self.refuse_inner(action, refusal))
    }

    async fn refuse_inner(&mut self, action: &Mounted, refusal: Refusal) -> Response {
        let Denial { code, detail, retry_after, step_up, claim } = match refusal {
            Refusal::Denied(denial) => denial,
            Refusal::Unavailable(err) => {
                tracing::error!(target: "guard::gate", action = action.spec.name, error = %err, "store failed on the authorization path; denying");
                Denial {
                    code: Code::Unavailable,
                    detail: Cow::Borrowed(""),
                    retry_after: None,
                    step_up: None,
                    claim: None,
                }
            }
        };
        tracing::trace!(target: "guard::gate", action = action.spec.name, code = code.as_str(), "denied");
        let mut error = ActionError::new(code);
        if !detail.is_empty() {
            error = error.with_detail(detail);
        }
        if let Some(wait) = retry_after {
            error = error.with_retry_after(retry_secs(wait));
        }
        if let Some(step_up) = step_up {
            error = error.with_step_up(step_up);
        }
        // An authorization denial keeps the attempt step 1 counted; any other
        // refusal (bad input, an outage) takes it back.
        if self.reserved && !code.is_probe() {
            self.reserved = false;
            log_release(action.rt.denials.release(&self.probe_key, action.rt.probing.window).await);
        }
        let mut record = self.record(action, Decision::Deny, error.code().as_str());
        record.claim = claim;
        if let Err(err) = action.rt.auditor.send(record).await {
            tracing::error!(target: "guard::gate", error = %err, "audit failed");
            error = ActionError::new(Code::Unavailable);
        }
        self.answer(action, error)
    }

    /// A refusal's answer: problem+json, or for a browser the same refusal
    /// as an HTML page (or, signed out on a page, the way to the login).
    fn answer(&self, action: &Mounted, error: ActionError) -> Response {
        let response = self.for_browser(action, error.into_response());
        self.tag(response)
    }

    fn for_browser(&self, action: &Mounted, response: Response) -> Response {
        match &self.browser {
            Some(here) => {
                crate::html::for_browser(response, &action.rt, action.spec.page, self.method == Method::GET, here)
            }
            None => response,
        }
    }

    /// The body's own 401/403: audited as a deny. Step 1's reservation
    /// stays counted, as this denial.
    async fn body_refused(&mut self, action: &Mounted, code: Code) {
        self.reserved = false;
        let record = self.record(action, Decision::Deny, code.as_str());
        // The body already ran: a failure here can only be logged.
        if let Err(err) = action.rt.auditor.send(record).await {
            tracing::error!(target: "guard::gate", error = %err, "audit failed after the action ran");
        }
    }

    fn record(&self, action: &Mounted, decision: Decision, code: &'static str) -> DecisionRecord {
        DecisionRecord {
            ts: SystemTime::now(),
            request_id: Some(self.request_id.clone()),
            client_request_id: self.client_request_id.clone(),
            claim: None,
            caller: self.caller.clone(),
            action: action.spec.name,
            method: self.method.clone(),
            path: self.path.clone(),
            permission: action.permission.clone(),
            resource: self.resource.clone(),
            decision,
            code,
            latency_us: self.started.elapsed().as_micros() as u64,
        }
    }

    /// Every answer of an action carries an `x-request-id`, and is never
    /// cached (it was meant for one caller). Set here rather than by a
    /// router layer, which would cost every request a boxed service. The
    /// header echoes the client's own id if it sent one, as
    /// tower-http's `PropagateRequestIdLayer` would; otherwise it is the
    /// server's, the `request_id` of the audit records.
    ///
    /// The request id and the caller also ride along as response
    /// extensions, for the app's own layers (a `TraceLayer`'s
    /// `on_response`, say) to read.
    fn tag(&self, mut response: Response) -> Response {
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, NO_STORE);
        let echoed = self.client_request_id.as_ref().unwrap_or(&self.request_id);
        headers.insert(REQUEST_ID, echoed.header_value());
        let extensions = response.extensions_mut();
        extensions.insert(self.request_id.clone());
        if let Some(caller) = &self.caller {
            extensions.insert(caller.clone());
        }
        response
    }
}

/// A reservation that could not be taken back leaves one attempt too many
/// counted until the window ends: the caller meets the limit sooner, never
/// later. Logged, never a refusal of its own.
fn log_release(released: Result<(), crate::StoreError>) {
    if let Err(err) = released {
        tracing::error!(target: "guard::gate", error = %err, "denial store failed to take back an attempt");
    }
}

/// `Retry-After` in whole seconds, rounded up.
fn retry_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil() as u64
}
