//! Refusals as RFC 9457 problem documents, and the errors stores report.

use std::borrow::Cow;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Declares [`Code`] from one table: each refusal's variant, status, wire
/// name, whether it counts toward probing, and its fixed detail in one row,
/// so a new refusal cannot miss a match arm (axum-core's
/// `define_rejection!` does the same).
macro_rules! codes {
    ($(
        $(#[$doc:meta])*
        $variant:ident => $status:ident, $name:literal, probe: $probe:literal, $detail:literal;
    )*) => {
        /// The stable machine-readable reason of a refusal: the `code` member
        /// of every problem document guard writes.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Code {
            $($(#[$doc])* $variant,)*
            /// A refusal of the app's own, such as 409 `out_of_stock`: see
            /// [`AppCode`].
            App(AppCode),
        }

        impl Code {
            /// Every code of guard's own, in the table's order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The HTTP status this code is always sent with.
            pub fn status(self) -> StatusCode {
                match self {
                    $(Code::$variant => StatusCode::$status,)*
                    Code::App(app) => app.status(),
                }
            }

            /// The code as written in problem documents and audit records.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)*
                    Code::App(app) => app.name,
                }
            }

            /// Whether this refusal counts toward the probing limit:
            /// authorization denials do, malformed input and outages do not.
            pub(crate) const fn is_probe(self) -> bool {
                match self {
                    $(Code::$variant => $probe,)*
                    Code::App(_) => false,
                }
            }

            /// The fixed, internals-free `detail` of a refusal.
            const fn default_detail(self) -> &'static str {
                match self {
                    $(Code::$variant => $detail,)*
                    Code::App(_) => "The request was refused.",
                }
            }
        }
    };
}

codes! {
    /// 400: malformed request (bad JSON, missing replay header, odd parameter).
    BadRequest => BAD_REQUEST, "bad_request", probe: false, "The request is malformed.";
    /// 401: no valid credential.
    Unauthenticated => UNAUTHORIZED, "unauthenticated", probe: true, "A valid credential is required.";
    /// 401: the authentication is older than the action allows.
    ReauthRequired => UNAUTHORIZED, "reauth_required", probe: false,
        "This action needs a recent authentication: authenticate again.";
    /// 403: the caller lacks the permission, or a custom check refused.
    Forbidden => FORBIDDEN, "forbidden", probe: true, "The caller may not perform this action.";
    /// 403: a cookie-authenticated unsafe request failed the CSRF checks.
    CsrfFailed => FORBIDDEN, "csrf_failed", probe: true,
        "The request failed the cross-site request forgery checks.";
    /// 403: the caller is of a kind (user, service, agent) the action refuses.
    WrongCallerKind => FORBIDDEN, "wrong_caller_kind", probe: true,
        "This kind of caller may not perform this action.";
    /// 403: the credential is not bound to what the action requires (a CI
    /// job's token for another environment, say).
    BindingFailed => FORBIDDEN, "binding_failed", probe: true,
        "The credential is not bound to what this action requires.";
    /// 403: the route is neither a mounted action nor a declared public
    /// route (see `Accounted`): a handler that slipped past the guard.
    UnguardedRoute => FORBIDDEN, "unguarded_route", probe: false,
        "This route is neither a guarded action nor a declared public route: it is not served.";
    /// 404: no such object, or one the caller may not see.
    NotFound => NOT_FOUND, "not_found", probe: true, "No such resource.";
    /// 409: the replay key was already used.
    Replayed => CONFLICT, "replayed", probe: true, "This request key was already used.";
    /// 403: the approval request the retry names is unknown, expired, or
    /// bound to another action, object, requester or input.
    ApprovalInvalid => FORBIDDEN, "approval_invalid", probe: true,
        "This approval request does not exist, has expired, or was made for another request.";
    /// 403: the approval request is still waiting for an approver.
    ApprovalPending => FORBIDDEN, "approval_pending", probe: false,
        "This request is waiting for a second person's approval.";
    /// 403: an approver denied the approval request.
    ApprovalDenied => FORBIDDEN, "approval_denied", probe: false, "This request was denied by an approver.";
    /// 409: the approval was already used: it runs the action once.
    ApprovalUsed => CONFLICT, "approval_used", probe: true, "This approval was already used.";
    /// 409: an approver tried to decide a request that is no longer pending.
    ApprovalDecided => CONFLICT, "approval_decided", probe: false, "This approval request was already decided.";
    /// 413: the body is over the action's limit.
    PayloadTooLarge => PAYLOAD_TOO_LARGE, "payload_too_large", probe: false, "The request body is too large.";
    /// 415: the body is not `application/json`.
    UnsupportedMediaType => UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", probe: false,
        "The request body's media type is not one this action accepts.";
    /// 422: the JSON does not fit the action's input type.
    InvalidInput => UNPROCESSABLE_ENTITY, "invalid_input", probe: false,
        "The request body does not fit this action's input.";
    /// 429: too many denials inside the probing window.
    ProbingSuspected => TOO_MANY_REQUESTS, "probing_suspected", probe: false,
        "Too many denied requests: try again later.";
    /// 503: a store, resolver or audit sink failed; the action did not run.
    Unavailable => SERVICE_UNAVAILABLE, "unavailable", probe: false,
        "The service is unavailable: the action did not run.";
}

impl Code {
    /// Whether this is a refusal of the approval step or of an approver's
    /// decision: audited even when a body answers it (a 409 too).
    pub(crate) const fn is_approval(self) -> bool {
        matches!(
            self,
            Code::ApprovalInvalid
                | Code::ApprovalPending
                | Code::ApprovalDenied
                | Code::ApprovalUsed
                | Code::ApprovalDecided
        )
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

/// A refusal code of the app's own, such as 409 `out_of_stock`, rendered
/// like guard's: a problem document whose `status` member is the HTTP
/// status, with this stable `code`.
///
/// Declared as a constant, so a malformed one fails the build: the status
/// must be 4xx or 5xx, the name `snake_case`, and not one of guard's own.
///
/// # Example
///
/// ```
/// use guard_runtime::{ActionError, AppCode, Code};
///
/// const OUT_OF_STOCK: AppCode = AppCode::new(409, "out_of_stock");
///
/// let err = ActionError::new(Code::App(OUT_OF_STOCK)).with_detail("Only 3 left.");
/// assert_eq!(err.code().as_str(), "out_of_stock");
/// assert_eq!(err.code().status().as_u16(), 409);
/// ```
///
/// ```compile_fail
/// const CLASH: guard_runtime::AppCode = guard_runtime::AppCode::new(404, "not_found");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AppCode {
    status: u16,
    name: &'static str,
}

impl AppCode {
    /// The code `name`, answered with HTTP `status`.
    ///
    /// # Panics
    ///
    /// At compile time (in a `const`): if `status` is not 4xx or 5xx, if
    /// `name` is not `snake_case` ASCII, or if it is one of guard's codes.
    pub const fn new(status: u16, name: &'static str) -> AppCode {
        assert!(status >= 400 && status <= 599, "an app's refusal code answers with a 4xx or 5xx status");
        assert!(is_snake_case(name), "a refusal code is `snake_case`, like \"out_of_stock\"");
        let mut i = 0;
        while i < Code::ALL.len() {
            assert!(
                !crate::permission::const_str_eq(Code::ALL[i].as_str(), name),
                "this name is one of guard's own codes: pick another"
            );
            i += 1;
        }
        AppCode { status, name }
    }

    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

const fn is_snake_case(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_empty() || !bytes[0].is_ascii_lowercase() {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if !(bytes[i].is_ascii_lowercase() || bytes[i].is_ascii_digit() || bytes[i] == b'_') {
            return false;
        }
        i += 1;
    }
    true
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error an action body returns: rendered as a problem document with one
/// of guard's stable codes, or an [`AppCode`] of the app's own.
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
    step_up: Option<StepUp>,
}

/// What a caller must do to authenticate well enough: the RFC 9470 step-up
/// challenge of a 401 `reauth_required`.
///
/// Rendered as `WWW-Authenticate: Bearer
/// error="insufficient_user_authentication", error_description="…",
/// max_age=…, acr_values="…"`, so an OAuth client knows to send its user
/// back to the identity provider with those parameters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StepUp {
    /// The oldest authentication accepted, in seconds.
    pub max_age: Option<u64>,
    /// The authentication context classes accepted, space-separated.
    pub acr_values: Option<&'static str>,
}

impl StepUp {
    /// The `WWW-Authenticate` value. Its parameters are numbers and the
    /// macro-checked `acr` names, so nothing in it needs escaping.
    fn challenge(self) -> String {
        let mut out = String::from(
            "Bearer error=\"insufficient_user_authentication\", error_description=\"A more recent or stronger authentication is required\"",
        );
        if let Some(secs) = self.max_age {
            out.push_str(&format!(", max_age={secs}"));
        }
        if let Some(acr) = self.acr_values {
            out.push_str(&format!(", acr_values=\"{acr}\""));
        }
        out
    }
}

impl ActionError {
    /// A refusal with `code` and its default detail.
    pub fn new(code: Code) -> Self {
        ActionError { code, detail: Cow::Borrowed(code.default_detail()), retry_after: None, step_up: None }
    }

    /// Replaces the human-readable `detail`. Never put internals here.
    pub fn with_detail(mut self, detail: impl Into<Cow<'static, str>>) -> Self {
        self.detail = detail.into();
        self
    }

    /// Adds `Retry-After: secs` (at least 1): for a 429 or a 503 the client
    /// may retry, such as a login refused while every password-hashing slot
    /// is busy.
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// Adds the RFC 9470 step-up challenge to a 401: what authentication
    /// the caller must come back with.
    pub fn with_step_up(mut self, step_up: StepUp) -> Self {
        self.step_up = Some(step_up);
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

impl std::fmt::Display for ActionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.code.status().as_u16(), self.code, self.detail)
    }
}

impl std::error::Error for ActionError {}

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
        response.extensions_mut().insert(Problem { code: self.code, detail: self.detail });
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if status == StatusCode::UNAUTHORIZED {
            let challenge = match self.step_up.map(StepUp::challenge).and_then(|c| HeaderValue::try_from(c).ok()) {
                Some(challenge) => challenge,
                None => HeaderValue::from_static("Bearer realm=\"guard\""),
            };
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        response
    }
}

/// A refusal's code and detail, riding along on its problem+json answer, so
/// that the gate can write the same refusal as an HTML page for a browser
/// (whether the guard or the action's body refused).
#[derive(Clone, Debug)]
pub(crate) struct Problem {
    pub(crate) code: Code,
    pub(crate) detail: Cow<'static, str>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_own_name_and_an_error_status() {
        let mut names: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Code::ALL.len(), "two codes share a name");
        for code in Code::ALL {
            assert!(code.status().is_client_error() || code.status().is_server_error(), "{code}");
            assert!(!code.default_detail().is_empty(), "{code}");
        }
    }
}
