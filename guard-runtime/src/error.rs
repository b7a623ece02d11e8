//! Refusals as RFC 9457 problem documents, and the errors stores report.

use std::borrow::Cow;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The stable machine-readable reason of a refusal: the `code` member of every
/// problem document guard writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    /// 400: malformed request (bad JSON, missing replay header, odd parameter).
    BadRequest,
    /// 401: no valid credential.
    Unauthenticated,
    /// 401: the authentication is older than the action allows.
    ReauthRequired,
    /// 403: the caller lacks the permission, or a custom check refused.
    Forbidden,
    /// 403: a cookie-authenticated unsafe request failed the CSRF checks.
    CsrfFailed,
    /// 403: the caller is of a kind (user, service, agent) the action refuses.
    WrongCallerKind,
    /// 404: no such object, or one the caller may not see.
    NotFound,
    /// 409: the replay key was already used.
    Replayed,
    /// 413: the body is over the action's limit.
    PayloadTooLarge,
    /// 415: the body is not `application/json`.
    UnsupportedMediaType,
    /// 422: the JSON does not fit the action's input type.
    InvalidInput,
    /// 429: too many denials inside the probing window.
    ProbingSuspected,
    /// 503: a store, resolver or audit sink failed; the action did not run.
    Unavailable,
}

impl Code {
    /// The HTTP status this code is always sent with.
    pub const fn status(self) -> StatusCode {
        match self {
            Code::BadRequest => StatusCode::BAD_REQUEST,
            Code::Unauthenticated | Code::ReauthRequired => StatusCode::UNAUTHORIZED,
            Code::Forbidden | Code::CsrfFailed | Code::WrongCallerKind => StatusCode::FORBIDDEN,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::Replayed => StatusCode::CONFLICT,
            Code::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Code::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::InvalidInput => StatusCode::UNPROCESSABLE_ENTITY,
            Code::ProbingSuspected => StatusCode::TOO_MANY_REQUESTS,
            Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The code as written in problem documents and audit records.
    pub const fn as_str(self) -> &'static str {
        match self {
            Code::BadRequest => "bad_request",
            Code::Unauthenticated => "unauthenticated",
            Code::ReauthRequired => "reauth_required",
            Code::Forbidden => "forbidden",
            Code::CsrfFailed => "csrf_failed",
            Code::WrongCallerKind => "wrong_caller_kind",
            Code::NotFound => "not_found",
            Code::Replayed => "replayed",
            Code::PayloadTooLarge => "payload_too_large",
            Code::UnsupportedMediaType => "unsupported_media_type",
            Code::InvalidInput => "invalid_input",
            Code::ProbingSuspected => "probing_suspected",
            Code::Unavailable => "unavailable",
        }
    }

    /// Whether this refusal counts toward the probing limit: authorization
    /// denials do, malformed input and outages do not.
    pub(crate) const fn is_probe(self) -> bool {
        matches!(
            self,
            Code::Unauthenticated
                | Code::Forbidden
                | Code::CsrfFailed
                | Code::WrongCallerKind
                | Code::NotFound
                | Code::Replayed
        )
    }

    /// The fixed, internals-free `detail` of a refusal.
    const fn default_detail(self) -> &'static str {
        match self {
            Code::BadRequest => "The request is malformed.",
            Code::Unauthenticated => "A valid credential is required.",
            Code::ReauthRequired => "This action needs a recent authentication: authenticate again.",
            Code::Forbidden => "The caller may not perform this action.",
            Code::CsrfFailed => "The request failed the cross-site request forgery checks.",
            Code::WrongCallerKind => "This kind of caller may not perform this action.",
            Code::NotFound => "No such resource.",
            Code::Replayed => "This request key was already used.",
            Code::PayloadTooLarge => "The request body is too large.",
            Code::UnsupportedMediaType => "The request body must be application/json.",
            Code::InvalidInput => "The request body does not fit this action's input.",
            Code::ProbingSuspected => "Too many denied requests: try again later.",
            Code::Unavailable => "The service is unavailable: the action did not run.",
        }
    }

    /// The code for an HTTP status produced outside guard (an extractor's
    /// rejection, say), so that every refusal keeps the problem format.
    pub(crate) fn from_status(status: StatusCode) -> Code {
        match status.as_u16() {
            401 => Code::Unauthenticated,
            403 => Code::Forbidden,
            404 => Code::NotFound,
            409 => Code::Replayed,
            413 => Code::PayloadTooLarge,
            415 => Code::UnsupportedMediaType,
            422 => Code::InvalidInput,
            429 => Code::ProbingSuspected,
            400..=499 => Code::BadRequest,
            _ => Code::Unavailable,
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error an action body returns: rendered as a problem document with one
/// of guard's stable codes.
///
/// Bodies never need to build a 401/403 by hand (the guard did that before
/// they ran); they return [`ActionError::not_found`] for a row that vanished,
/// [`ActionError::invalid_input`] for a value their type cannot express, and
/// [`ActionError::unavailable`] when their own store fails.
///
/// # Example
///
/// ```
/// use guard_runtime::{ActionError, Code};
///
/// let err = ActionError::invalid_input("quantity must be between 1 and 10000");
/// assert_eq!(err.code(), Code::InvalidInput);
/// ```
#[derive(Debug)]
pub struct ActionError {
    code: Code,
    detail: Cow<'static, str>,
    retry_after: Option<u64>,
}

impl ActionError {
    /// A refusal with `code` and its default detail.
    pub fn new(code: Code) -> Self {
        ActionError { code, detail: Cow::Borrowed(code.default_detail()), retry_after: None }
    }

    /// Replaces the human-readable `detail`. Never put internals here.
    pub fn with_detail(mut self, detail: impl Into<Cow<'static, str>>) -> Self {
        self.detail = detail.into();
        self
    }

    pub(crate) fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// 404 `not_found`.
    pub fn not_found() -> Self {
        Self::new(Code::NotFound)
    }

    /// 422 `invalid_input` with a detail for the client.
    pub fn invalid_input(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Code::InvalidInput).with_detail(detail)
    }

    /// 400 `bad_request` with a detail for the client.
    pub fn bad_request(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Code::BadRequest).with_detail(detail)
    }

    /// 401 `unauthenticated`: for actions that check a credential themselves
    /// (a login form's password).
    pub fn unauthenticated() -> Self {
        Self::new(Code::Unauthenticated)
    }

    /// 503 `unavailable`, logging `err` at ERROR level (the client never
    /// sees it).
    pub fn unavailable(err: impl std::fmt::Display) -> Self {
        tracing::error!(target: "guard::action", error = %err, "action failed on its own store");
        Self::new(Code::Unavailable)
    }

    /// The stable code.
    pub fn code(&self) -> Code {
        self.code
    }
}

impl From<StoreError> for ActionError {
    fn from(err: StoreError) -> Self {
        ActionError::unavailable(err)
    }
}

impl From<Code> for ActionError {
    fn from(code: Code) -> Self {
        ActionError::new(code)
    }
}

impl IntoResponse for ActionError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        let body = serde_json::json!({
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "code": self.code.as_str(),
            "detail": self.detail,
        });
        let mut response = (status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"guard\""));
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        response
    }
}

/// A store (sessions, tokens, replay keys, denial counters), resolver or
/// audit sink failed. On the authorization path this always denies with 503.
#[derive(Debug, thiserror::Error)]
#[error("{what} failed: {source}")]
pub struct StoreError {
    what: &'static str,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl StoreError {
    /// Wraps the error of the store named `what` (`"session store"`, …).
    pub fn new(what: &'static str, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        StoreError { what, source: source.into() }
    }
}
