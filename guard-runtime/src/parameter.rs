//! What an action may take as a parameter besides `Authorized`, `Grant`s
//! and its `Json` input: an axum extractor for the app's state.

use axum::extract::FromRequestParts;

/// An axum extractor (`FromRequestParts`) an action takes as a parameter,
/// for router state `S`: `Path<T>`, `Query<T>`, `State<T>`, `HeaderMap`, or
/// your own.
///
/// `#[action]` checks each parameter where the action is written, against
/// the state its `State<T>` parameter names (or `state = T` in the
/// attribute; `()` when neither says), so a parameter that is no extractor
/// fails the build even before the action is mounted.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a parameter of an action",
    label = "not an axum extractor (`FromRequestParts`) for the router state `{S}`",
    note = "an action takes `Authorized`, typed `Grant<P>`s, axum extractors such as `Path<T>`, `Query<T>`, `State<T>` or `HeaderMap`, and a last `Json<T>` input",
    note = "an extractor that needs your app's state is checked against the `T` of the action's `State<T>` parameter; without one, name it: `#[action(..., state = AppState)]`"
)]
pub trait ActionParameter<S>: FromRequestParts<S> + Send {
    /// Named by the macro's check; nothing to implement.
    #[doc(hidden)]
    const CHECKED: () = ();
}

#[diagnostic::do_not_recommend]
impl<S, T: FromRequestParts<S> + Send> ActionParameter<S> for T {}
