//! `Form<T>`: an action's input from an HTML form.

/// An action's input sent as an HTML form
/// (`application/x-www-form-urlencoded`), decoded as strictly as a
/// [`Json`](crate::Json) input: within the size limit (413), with the
/// media type (415), no duplicate key and no field `T` does not read (422).
///
/// The session's CSRF token travels in the form's hidden field
/// [`CSRF_FIELD`](crate::CSRF_FIELD) (or the `x-csrf-token` header); it is
/// checked before the input is read and is not part of `T`.
///
/// ```
/// use guard_runtime::{action, ActionError, Authorized, Form};
/// use axum::response::Redirect;
///
/// #[derive(serde::Deserialize, serde::Serialize)]
/// struct NewName { name: String }
///
/// #[action(POST "/widgets/{widget_id}/name", requires = "widgets:write", owner = "widget_id")]
/// async fn rename(auth: Authorized, Form(input): Form<NewName>) -> Result<Redirect, ActionError> {
///     // ... store input.name ...
///     Ok(Redirect::to("/widgets")) // 303: Post/Redirect/Get
/// }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Form<T>(pub T);
