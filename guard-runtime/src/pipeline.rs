//! The order of the guard's steps for one request, in one list.
//!
//! Each step is a check of its own in [`checks`](crate::checks); this file
//! only says in which order they run and what each is handed, numbered as
//! in the README and ARCHITECTURE.md. A refusal goes to the
//! gate, which audits it, counts it toward probing and answers.
//!
//! Generated code makes one call, [`run`] (or [`run_public`]), with the
//! action's extractors as a tuple and its input type: the steps are compiled
//! once per signature, not once per action, and an action's own future has
//! three suspension points (guard, body, finish) instead of one per step.

use std::time::SystemTime;

use axum::body::Body;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::__private::JsonInput;
use crate::authn::{Authenticated, Via};
use crate::authorized::{self, Proof};
use crate::checks::approval::{self, Binding, Outcome};
use crate::checks::custom::CheckFn;
use crate::checks::{
    acr, authenticate, binding, caller_kind, csrf, custom, extract, form, freshness, input, object, permission,
    probing, replay, Refusal, Verdict,
};
use crate::form::Form;
use crate::gate::{Facts, Gate};
use crate::parameter::ActionParameters;
use crate::runtime::Mounted;
use crate::store::ApprovalRequest;
use crate::{Authorized, CheckContext, Code, Reach, StoreFuture};

/// What an action adds to its spec for [`run`]: the pieces that need its
/// own types.
pub struct Plan<I> {
    /// Reads the input (step 7).
    pub read: ReadFn<I>,
    /// Where the object key comes from when it is an input field; `None`
    /// reads the path parameter the spec names (if any).
    pub key: Option<KeyFn<I>>,
    /// The custom check (step 9), if any.
    pub check: Option<CheckFn>,
    /// The input's digest, for an action with `approval`: [`json_digest`]
    /// or [`no_input_digest`].
    pub digest: Option<DigestFn<I>>,
}

/// The digest an approval is bound to: SHA-256 of the input's canonical
/// JSON, in hex.
pub type DigestFn<I> = fn(&I) -> Verdict<String>;

/// Reads the object key from an action's decoded input (`owner = "field"`
/// naming an input field).
pub type KeyFn<I> = fn(&I) -> Option<String>;

/// Reads an action's input from the body (step 7): [`no_input`] or
/// [`json_input`]. A function pointer rather than a trait bound on `run`,
/// so an input type that is not a `JsonInput` is one error, on the type.
pub type ReadFn<I> = for<'a> fn(&'a Parts, Body, usize) -> StoreFuture<'a, Verdict<I>>;

/// The input of an action that takes none: the body is not read.
#[derive(Debug)]
pub struct NoInput;

/// The input reader of an action without input.
pub fn no_input(_: &Parts, _: Body, _: usize) -> StoreFuture<'_, Verdict<NoInput>> {
    StoreFuture::ready(Ok(NoInput))
}

/// The input reader of an action with a `Json<T>` input: strict decoding.
pub fn json_input<T: JsonInput>(parts: &Parts, body: Body, limit: usize) -> StoreFuture<'_, Verdict<Json<T>>> {
    StoreFuture::new(async move { input::check(parts, body, limit).await.map(Json) })
}

/// The input reader of an action with a `Form<T>` input: strict decoding.
pub fn form_input<T: JsonInput>(parts: &Parts, body: Body, limit: usize) -> StoreFuture<'_, Verdict<Form<T>>> {
    StoreFuture::new(async move { form::check(parts, body, limit).await.map(Form) })
}

/// The digest of a `Json<T>` input: its canonical JSON (as the action
/// receives it, keys sorted), hashed.
pub fn json_digest<T: JsonInput>(input: &Json<T>) -> Verdict<String> {
    crate::approval::digest_of(&input.0).map_err(|_| Refusal::code(Code::InvalidInput))
}

/// The digest of a `Form<T>` input: that of the same value sent as JSON, so
/// an approval binds what the action receives, however it was encoded.
pub fn form_digest<T: JsonInput>(input: &Form<T>) -> Verdict<String> {
    crate::approval::digest_of(&input.0).map_err(|_| Refusal::code(Code::InvalidInput))
}

/// The digest of no input: that of JSON `null`.
pub fn no_input_digest(_: &NoInput) -> Verdict<String> {
    crate::approval::digest_of(&()).map_err(|_| Refusal::code(Code::InvalidInput))
}

/// Hands a refusal to the gate, which audits it and answers.
macro_rules! step {
    ($facts:ident, $action:ident, $verdict:expr) => {
        match $verdict {
            Ok(found) => found,
            Err(refusal) => return Err($facts.refuse($action, refusal).await),
        }
    };
}

/// Steps 1 to 10 for an action that names a policy (`requires` or
/// `authenticated`). Returns the extracted parameters, the input, and the
/// proof the body needs; or the refusal, already audited.
pub async fn run<E, I, S>(
    gate: &mut Gate,
    parts: &mut Parts,
    state: &S,
    body: Body,
    plan: Plan<I>,
) -> Result<(E, I, Authorized), Response>
where
    E: ActionParameters<S>,
    S: Send + Sync,
{
    let Gate { action, facts } = gate;
    let action: &Mounted = action;
    let (rt, spec) = (&*action.rt, action.spec);
    step!(facts, action, audit_is_healthy(action));

    // 1. Authenticate; then the probing limit of whoever that turned out to
    //    be (the client address, when nobody).
    let authenticated = authenticate::check(&*rt.authenticator, parts).await;
    if let Ok(found) = &authenticated {
        facts.identified(&found.principal);
    }
    if rt.probing.is_on() && !matches!(authenticated, Err(Refusal::Unavailable(_))) {
        facts.probe_key = match &authenticated {
            Ok(found) => probing::principal_key(&found.principal),
            Err(_) => probing::client_key(parts),
        };
        step!(facts, action, probing::reserve(&*rt.denials, rt.probing, &facts.probe_key).await);
        facts.reserved = true;
    }
    let Authenticated { principal, via } = step!(facts, action, authenticated);

    // 2. Caller kind.
    step!(facts, action, caller_kind::check(spec.callers, principal.kind));

    // 3. Freshness, for sessions: a bearer request proves its key anew.
    //    Then how the caller authenticated (`acr`), for any credential.
    let max_age = rt.max_age(spec.fresh);
    if let (Some(max_age), Via::Session { .. }) = (max_age, &via) {
        step!(facts, action, freshness::check(max_age, principal.authenticated_at, SystemTime::now()));
    }
    if !spec.acr.is_empty() {
        let acr = principal.claims.get_str("acr");
        step!(facts, action, acr::check(spec.acr, spec.acr_values, acr, max_age));
    }

    // 4. CSRF, for cookie sessions on unsafe methods. A form post's token
    //    is in its body, which is read for it (and handed on whole).
    let mut body = body;
    if let csrf::Csrf::InForm(expected) = step!(facts, action, csrf::check(parts, &via, &rt.allowed_origins)) {
        body = step!(facts, action, csrf::form_field(parts, body, rt.body_limit(spec), expected).await);
    }

    // 5. The replay header must be there; it is claimed only in step 10.
    let replay_key = match spec.replay {
        Some(header) => Some(step!(facts, action, replay::key(parts, header, spec.name, Some(&principal)))),
        None => None,
    };

    // 6. Permission: every required one; the narrowest reach wins.
    let reach = match spec.policy.required() {
        Some(required) => step!(facts, action, permission::check(&*rt.policy, &principal, required)),
        None => Reach::Own,
    };
    //    Then the credential's binding: the claims it must carry.
    step!(facts, action, binding::check(spec.binding, |claim| principal.claims.get_str(claim)));

    // 7. Input: the action's own extractors, then the body.
    let extracted = step!(facts, action, extract::check::<E, S>(parts, state).await);
    let input = step!(facts, action, (plan.read)(parts, body, rt.body_limit(spec)).await);

    // 8. Tenant and owner of the object the action names.
    let object = match &action.object {
        Some(rule) => {
            let from_input = plan.key.and_then(|key_of| key_of(&input));
            // Cannot fail for a matched route; if it did, the miss denies
            // as 404. The key is borrowed, not copied.
            let params = match rule.param {
                Some(_) => RawPathParams::from_request_parts(parts, &()).await.ok(),
                None => None,
            };
            let sent = match (&from_input, &params, rule.param) {
                (Some(key), _, _) => Some(key.as_str()),
                (None, Some(params), Some(name)) => params.iter().find(|(k, _)| *k == name).map(|(_, v)| v),
                _ => None,
            };
            let key = object::usable_key(sent);
            if let Some(key) = key {
                facts.resource = Some(object::resource_id(rule.resource, key));
            }
            Some(step!(facts, action, object::check(rule, key, &principal, reach).await))
        }
        None => None,
    };

    // 9. The action's own check. A replay key already used answers 409
    //    first, since its first use may have changed what the check sees.
    if let Some(check) = plan.check {
        if let Some(key) = &replay_key {
            step!(facts, action, replay::unused(&*rt.replay, key).await);
        }
        let context = CheckContext { principal: &principal, object: object.as_ref(), request: parts };
        step!(facts, action, custom::check(check, &context).await);
    }

    //    Then, for `approval`, a second person's approval: the first call
    //    asks (202, nothing runs); the retry must name an approved request
    //    bound to this very call.
    let approved = match spec.approval {
        Some(permission) => {
            let digest = match plan.digest {
                Some(digest_of) => step!(facts, action, digest_of(&input)),
                // The macro always writes one: fail closed if not.
                None => step!(facts, action, Err(Refusal::code(Code::Unavailable))),
            };
            let request_id = facts.request_id.clone();
            let Some(resource) = facts.resource.clone() else {
                return Err(facts.refuse(action, Refusal::code(Code::Unavailable)).await);
            };
            let binding = Binding {
                action: spec.name,
                object: &resource,
                object_owner: object.as_ref().and_then(|o| o.owner.as_deref()),
                principal: &principal,
                permission,
                digest,
                request_id: request_id.as_str(),
            };
            match step!(facts, action, approval::check(&*rt.approvals, rt.approval_ttl, parts, binding).await) {
                Outcome::Approved(id) => Some(id),
                Outcome::Ask(request) => return Err(ask(facts, action, request).await),
            }
        }
        None => None,
    };

    // 10. Claim the approval and the replay key, audit the allow; then the
    //     body runs.
    admit(facts, action, replay_key.as_deref(), approved.as_deref()).await?;
    let (session, csrf_token) = match via {
        Via::Session { id, csrf_token } => (Some(id), Some(csrf_token)),
        Via::Bearer => (None, None),
    };
    let authorized = authorized::admit(Proof {
        session,
        csrf_token,
        reach,
        required: spec.policy.required().unwrap_or_default(),
        object,
        request_id: Some(facts.request_id.clone()),
        principal,
    });
    Ok((extracted, input, authorized))
}

/// The steps of a `public` action: no caller to authenticate or authorize,
/// but the probing limit of the client address (1), the replay header (5),
/// the input (7), the replay claim and the allow record (10) all hold.
pub async fn run_public<E, I, S>(
    gate: &mut Gate,
    parts: &mut Parts,
    state: &S,
    body: Body,
    read: ReadFn<I>,
) -> Result<(E, I), Response>
where
    E: ActionParameters<S>,
    S: Send + Sync,
{
    let Gate { action, facts } = gate;
    let action: &Mounted = action;
    let (rt, spec) = (&*action.rt, action.spec);
    step!(facts, action, audit_is_healthy(action));

    // 1. Nobody to authenticate: the probing limit of the client address.
    if rt.probing.is_on() {
        facts.probe_key = probing::client_key(parts);
        step!(facts, action, probing::reserve(&*rt.denials, rt.probing, &facts.probe_key).await);
        facts.reserved = true;
    }

    // 5. The replay header.
    let replay_key = match spec.replay {
        Some(header) => Some(step!(facts, action, replay::key(parts, header, spec.name, None))),
        None => None,
    };

    // 7. Input.
    let extracted = step!(facts, action, extract::check::<E, S>(parts, state).await);
    let input = step!(facts, action, read(parts, body, rt.body_limit(spec)).await);

    // 10. Claim the replay key, audit the allow.
    admit(facts, action, replay_key.as_deref(), None).await?;
    Ok((extracted, input))
}

/// Step 10: claims the approval and the replay key, if any, and audits the
/// allow. The allow record's place in the audit queue is reserved before
/// the claims, so that once one is made nothing can refuse the request: a
/// refusal never burns a key. The approval is claimed first: a retry that
/// lost the approval's race keeps its replay key.
///
/// With a durable sink, the body then waits until the allow record is
/// written (group commit: the writer syncs whatever is queued as one batch).
async fn admit(
    facts: &mut Facts,
    action: &Mounted,
    replay_key: Option<&str>,
    approval: Option<&str>,
) -> Result<(), Response> {
    audit_allow(facts, action, replay_key, approval).await?;
    if action.rt.auditor.is_durable() {
        facts.allow_written(action).await?;
    }
    Ok(())
}

async fn audit_allow(
    facts: &mut Facts,
    action: &Mounted,
    replay_key: Option<&str>,
    approval: Option<&str>,
) -> Result<(), Response> {
    let rt = &*action.rt;
    if replay_key.is_none() && approval.is_none() {
        return facts.allow(action).await;
    }
    let place = step!(facts, action, rt.auditor.reserve().await.map_err(Refusal::from));
    let mut claimed = Ok(());
    if let Some(id) = approval {
        claimed = approval::claim(&*rt.approvals, id).await;
        facts.allow_code = "approved";
    }
    if let (Ok(()), Some(key)) = (&claimed, replay_key) {
        claimed = replay::claim(&*rt.replay, key, rt.replay_ttl).await;
    }
    if let Err(refusal) = claimed {
        // The place goes back before the refusal is audited: with a queue
        // of one, the refusal's record needs it.
        drop(place);
        return Err(facts.refuse(action, refusal).await);
    }
    facts.allow_reserved(action, place).map_or(Ok(()), Err)
}

/// An approval's first call: stores the request and answers 202 with it.
/// The audit record's place is reserved first, so a stored request always
/// has its record (and a full audit queue stores nothing).
async fn ask(facts: &mut Facts, action: &Mounted, request: ApprovalRequest) -> Response {
    let rt = &*action.rt;
    let place = match rt.auditor.reserve().await {
        Ok(place) => place,
        Err(err) => return facts.refuse(action, Refusal::from(err)).await,
    };
    // Kept past its expiry, so an approver meets it as expired rather
    // than unknown.
    let keep = rt.approval_ttl.saturating_add(crate::approval::KEPT_AFTER_EXPIRY);
    if let Err(err) = rt.approvals.create(&request, keep).await {
        drop(place);
        return facts.refuse(action, Refusal::from(err)).await;
    }
    let answer = (StatusCode::ACCEPTED, Json(request)).into_response();
    facts.held(action, place, answer).await
}

/// Before any step: a sink that keeps failing means no decision can be
/// recorded, so none is made.
fn audit_is_healthy(action: &Mounted) -> Verdict {
    if action.rt.auditor.is_failing() {
        Err(Refusal::code(Code::Unavailable))
    } else {
        Ok(())
    }
}
