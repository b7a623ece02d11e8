//! The form twins of the writes: what the pages' forms post to.
//!
//! One action per method and path: the JSON routes keep taking JSON for
//! API clients, and each form posts to the same path plus `/form` with
//! `application/x-www-form-urlencoded` and the session's CSRF token as the
//! hidden `csrf_token` field. Each is guarded exactly like its JSON twin
//! (same permission, owner and check), runs the same operation, and
//! answers 303 to the page that shows the result (Post/Redirect/Get). A
//! refusal is guard's HTML error page with the status and `code`.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use guard_runtime::html::safe_next;
use guard_runtime::{action, ActionError, Authorized, Code, Form};

use super::{account, orders};
use crate::model::{Confirm, Login, LoginForm, NewAddress, NewOrder};
use crate::passwords::{self, Refusal};
use crate::state::AppState;

/// Where a login goes when the form names no page to go back to.
const AFTER_LOGIN: &str = "/orders";

/// The login form: a new session, then 303 to `next` if it is a local
/// path (never another site: `//evil.example`), else to "my orders". A
/// wrong password shows the form again with a 401, counted as a probe.
#[action(POST "/login/form", public = "the login form: it checks the password itself, and denials count as probes")]
pub async fn login_form(
    State(app): State<AppState>,
    headers: HeaderMap,
    Form(input): Form<LoginForm>,
) -> Result<Response, ActionError> {
    let next = safe_next(&input.next).unwrap_or(AFTER_LOGIN).to_owned();
    let login = Login { username: input.username, password: input.password };
    match account::start_session(&app, &headers, login).await {
        Ok((_, session)) => Ok(([(header::SET_COOKIE, session.set_cookie)], Redirect::to(&next)).into_response()),
        Err(Refusal::Action(e)) if e.code() == Code::Unauthenticated => {
            let page = crate::html::login::form(&next, Some("Wrong username or password."));
            // The challenge guard's own 401s carry.
            let challenge = HeaderValue::from_static("Bearer realm=\"guard\"");
            Ok((StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, challenge)], page).into_response())
        }
        Err(refusal) => passwords::answer(Err(refusal)),
    }
}

/// The logout form of every page: ends the session server-side, clears
/// the cookie, and goes to the login page.
#[action(POST "/logout/form", authenticated, callers = user)]
pub async fn logout_form(
    auth: Authorized,
    State(app): State<AppState>,
    Form(_): Form<Confirm>,
) -> Result<Response, ActionError> {
    let session = auth.session().ok_or_else(|| ActionError::new(Code::WrongCallerKind))?;
    let clear = app.sessions.logout(session).await?;
    Ok(([(header::SET_COOKIE, clear)], Redirect::to("/login")).into_response())
}

/// "Place an order" on the orders page.
#[action(POST "/orders/form", requires = "orders:write")]
pub async fn create_order_form(
    auth: Authorized,
    State(app): State<AppState>,
    Form(input): Form<NewOrder>,
) -> Result<Redirect, ActionError> {
    let order = orders::place(&auth, &app, &input).await?;
    Ok(Redirect::to(&format!("/orders/{}", order.id)))
}

/// "Save address" on an order's page.
#[action(POST "/orders/{id}/address/form", requires = "orders:write", owner = "id")]
pub async fn change_address_form(
    auth: Authorized,
    State(app): State<AppState>,
    Path(id): Path<String>,
    Form(input): Form<NewAddress>,
) -> Result<Redirect, ActionError> {
    let order = orders::readdress(&auth, &app, &id, &input).await?;
    Ok(Redirect::to(&format!("/orders/{}", order.id)))
}

/// "Cancel this order" on an order's page.
#[action(
    POST "/orders/{id}/cancel/form",
    requires = "orders:write",
    owner = "id",
    check = crate::checks::not_captured,
)]
pub async fn cancel_order_form(
    auth: Authorized,
    State(app): State<AppState>,
    Path(id): Path<String>,
    Form(_): Form<Confirm>,
) -> Result<Redirect, ActionError> {
    let order = orders::cancel(&auth, &app, &id).await?;
    Ok(Redirect::to(&format!("/orders/{}", order.id)))
}
