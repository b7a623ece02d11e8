//! Logging in and out, re-authenticating, changing one's password.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use guard_runtime::authn::{hash_secret, NewSession, SessionStore};
use guard_runtime::{action, ActionError, Authorized, Code, Json};
use serde_json::json;

use crate::model::{Login, PasswordChange, Reauth};
use crate::passwords::{self, Refusal};
use crate::principals;
use crate::state::AppState;

const PASSWORD_MIN: usize = 8;
const PASSWORD_MAX: usize = 256;

/// The user's current password hash, if the user exists.
async fn stored_hash(app: &AppState, user: &str) -> Result<Option<String>, ActionError> {
    Ok(principals::user(&app.pool, user).await.map_err(ActionError::unavailable)?.map(|(_, hash)| hash))
}

/// Unknown user and wrong password answer the same 401, after the same
/// argon2 work. Wrong passwords count toward the probing limit of the
/// client address (guard counts a body's 401 too).
#[action(POST "/login", public = "the login form: it checks the password itself, and denials count as probes")]
pub async fn login(
    State(app): State<AppState>,
    headers: HeaderMap,
    Json(input): Json<Login>,
) -> Result<Response, ActionError> {
    passwords::answer(log_in(app, headers, input).await)
}

async fn log_in(app: AppState, headers: HeaderMap, input: Login) -> Result<Response, Refusal> {
    let (user, session) = start_session(&app, &headers, input).await?;
    let body = Json(json!({ "user": user, "csrf_token": session.csrf_token }));
    Ok(([(header::SET_COOKIE, session.set_cookie)], body).into_response())
}

/// Checks the password and starts a new session (`POST /login` and the
/// login form): the user's id and the session's cookie and CSRF token.
pub(crate) async fn start_session(
    app: &AppState,
    headers: &HeaderMap,
    input: Login,
) -> Result<(String, NewSession), Refusal> {
    let found = principals::user(&app.pool, &input.username).await.map_err(ActionError::unavailable)?;
    let (principal, hash) = match found {
        Some((principal, hash)) => (Some(principal), Some(hash)),
        None => (None, None),
    };
    if !passwords::verify(input.password, hash).await? {
        return Err(ActionError::unauthenticated().into());
    }
    let principal = principal.ok_or_else(ActionError::unauthenticated)?;
    // A session the client already held ends here: a login always starts a
    // new session with a new id, and never keeps an old one alive.
    for value in presented_sessions(headers, app.sessions.name()) {
        app.session_store.revoke(&hash_secret(value)).await?;
    }
    let user = principal.id.clone();
    let session = app.sessions.login(principal).await?;
    Ok((user, session))
}

/// The values of every session cookie the request carries.
fn presented_sessions<'a>(headers: &'a HeaderMap, cookie_name: &'a str) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(move |(name, _)| *name == cookie_name)
        .map(|(_, value)| value)
}

/// Ends the session server-side: the cookie is worthless from now on, even
/// if the browser kept it.
#[action(POST "/logout", authenticated, callers = user)]
pub async fn logout(auth: Authorized, State(app): State<AppState>) -> Result<Response, ActionError> {
    let session = auth.session().ok_or_else(|| ActionError::new(Code::WrongCallerKind))?;
    let clear = app.sessions.logout(session).await?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

/// Proves the password again, renewing the session's authentication time
/// for the `fresh` actions.
#[action(POST "/reauth", authenticated, callers = user)]
pub async fn reauth(
    auth: Authorized,
    State(app): State<AppState>,
    Json(input): Json<Reauth>,
) -> Result<Response, ActionError> {
    passwords::answer(re_authenticate(&auth, &app, input).await)
}

async fn re_authenticate(auth: &Authorized, app: &AppState, input: Reauth) -> Result<Response, Refusal> {
    let session = auth.session().ok_or_else(|| ActionError::new(Code::WrongCallerKind))?;
    let hash = stored_hash(app, &auth.principal().id).await?;
    if !passwords::verify(input.password, hash).await? {
        return Err(ActionError::new(Code::ReauthRequired).into());
    }
    app.sessions.reauthenticate(session).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Needs a recent authentication; revokes every other session of the user.
#[action(POST "/account/password", authenticated, callers = user, fresh)]
pub async fn change_password(
    auth: Authorized,
    State(app): State<AppState>,
    Json(input): Json<PasswordChange>,
) -> Result<Response, ActionError> {
    passwords::answer(change(&auth, &app, input).await)
}

async fn change(auth: &Authorized, app: &AppState, input: PasswordChange) -> Result<Response, Refusal> {
    let len = input.new_password.chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&len) {
        return Err(ActionError::invalid_input(format!(
            "`new_password` must be {PASSWORD_MIN} to {PASSWORD_MAX} characters"
        ))
        .into());
    }
    let user = auth.principal().id.as_str();
    let found = principals::user(&app.pool, user).await.map_err(ActionError::unavailable)?;
    let (version, hash) = found.map(|(p, hash)| (p.credential_version, hash)).unzip();
    if !passwords::verify(input.current_password, hash).await? {
        return Err(ActionError::new(Code::Forbidden).with_detail("The current password is wrong.").into());
    }
    let new_hash = passwords::hash(input.new_password).await?;
    // Raising the credential version ends every session made with the old
    // password, including those of logins still in flight. Only over the
    // password just verified: of two changes at once, the later one finds
    // the version raised and changes nothing.
    let changed: Option<i64> = sqlx::query_scalar(
        "UPDATE users SET password_hash = ?, credential_version = credential_version + 1 \
         WHERE name = ? AND credential_version = ? AND disabled = 0 RETURNING credential_version",
    )
    .bind(new_hash)
    .bind(user)
    .bind(version.map(|v| i64::try_from(v).unwrap_or(i64::MAX)))
    .fetch_optional(&app.pool)
    .await
    .map_err(ActionError::unavailable)?;
    let Some(new_version) = changed.and_then(|v| u64::try_from(v).ok()) else {
        return Err(ActionError::new(Code::Forbidden).with_detail("The password was changed meanwhile.").into());
    };
    // No instance may go on serving the old credential version from memory.
    app.credentials.bump().await?;
    // This session proved the old password and set the new one: it lives on.
    if let Some(session) = auth.session() {
        app.sessions.rebind(session, new_version).await?;
    }
    // The others are dead already (their version is old); revoked for good.
    app.sessions.revoke_all(user, auth.session()).await?;
    tracing::info!(user, "password changed; other sessions revoked");
    Ok(StatusCode::NO_CONTENT.into_response())
}
