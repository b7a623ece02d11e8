//! The guard's checks: one module per step of the pipeline, each with one
//! entry point that takes what it needs and returns a [`Verdict`].
//!
//! A check never touches the request's gate: it does not audit, count
//! denials or render answers. It says what it found, or why it refused, and
//! [`pipeline`](crate::pipeline) (the order of the steps, in one list) hands
//! a refusal to the gate, which audits it, counts it and answers.
//!
//! | step | module | refusal |
//! |---|---|---|
//! | 1 | [`authenticate`], [`probing`] | 401 `unauthenticated`, 429 `probing_suspected` |
//! | 2 | [`caller_kind`] | 403 `wrong_caller_kind` |
//! | 3 | [`freshness`], [`acr`] | 401 `reauth_required` (with the RFC 9470 challenge) |
//! | 4 | [`csrf`] | 403 `csrf_failed` |
//! | 5 | [`replay`] (the header) | 400 `bad_request` |
//! | 6 | [`permission`], [`binding`] | 403 `forbidden`, 403 `binding_failed` |
//! | 7 | [`extract`], [`input`] | 400, 413, 415, 422 |
//! | 8 | [`object`] | 404 `not_found` |
//! | 9 | [`custom`], then [`approval`] (202 with a request on the first call) | 403 `forbidden`, 403 `approval_invalid`, `approval_pending`, `approval_denied` |
//! | 10 | [`approval`] and [`replay`] (the claims), then the allow record | 409 `approval_used`, `replayed` |
//!
//! Any check whose store fails answers [`Refusal::Unavailable`]: 503, and the
//! body never runs.

pub(crate) mod acr;
pub(crate) mod approval;
pub(crate) mod authenticate;
pub(crate) mod binding;
pub(crate) mod body;
pub(crate) mod caller_kind;
pub(crate) mod csrf;
pub(crate) mod custom;
pub(crate) mod extract;
pub(crate) mod form;
pub(crate) mod freshness;
pub(crate) mod input;
pub(crate) mod object;
pub(crate) mod permission;
pub(crate) mod probing;
pub(crate) mod replay;

use std::borrow::Cow;
use std::time::Duration;

use crate::error::StepUp;
use crate::{Code, StoreError};

// `Verdict`, `Refusal` and `Denial` are `pub` only because the input
// readers generated code names (`__private::ReadFn`) return them: nothing
// outside the crate can build or read one.

/// What a check decided: allowed, with what it found, or refused.
pub type Verdict<T = ()> = Result<T, Refusal>;

/// Why a check refused.
#[derive(Debug)]
pub enum Refusal {
    /// The request is refused with this code.
    Denied(Denial),
    /// A store, resolver or custom check could not decide: 503, fail closed.
    /// The error is logged, never shown to the client.
    Unavailable(StoreError),
}

/// A refusal's code, and what the answer says beyond the code's default.
#[derive(Debug)]
pub struct Denial {
    pub(crate) code: Code,
    /// Client-safe; empty for the code's default detail.
    pub(crate) detail: Cow<'static, str>,
    /// For 429: when the caller may try again.
    pub(crate) retry_after: Option<Duration>,
    /// For 401 `reauth_required`: the RFC 9470 challenge.
    pub(crate) step_up: Option<StepUp>,
    /// For a credential binding: the claim that failed, for the audit
    /// record only (the answer never names it).
    pub(crate) claim: Option<&'static str>,
}

impl Refusal {
    /// A refusal with the code's default detail.
    pub(crate) fn code(code: Code) -> Self {
        Refusal::Denied(Denial { code, detail: Cow::Borrowed(""), retry_after: None, step_up: None, claim: None })
    }

    /// A refusal with a detail for the client.
    pub(crate) fn detailed(code: Code, detail: impl Into<Cow<'static, str>>) -> Self {
        Refusal::Denied(Denial { code, detail: detail.into(), retry_after: None, step_up: None, claim: None })
    }
}

impl From<StoreError> for Refusal {
    fn from(err: StoreError) -> Self {
        Refusal::Unavailable(err)
    }
}
