//! What an action may take as a parameter besides `Authorized`, `Grant`s
//! and its `Json` input: an axum extractor for the app's state.

use std::future::Future;

use axum::extract::FromRequestParts;
use axum::http::{request::Parts, StatusCode};
use axum::response::IntoResponse;

/// An axum extractor (`FromRequestParts`) an action takes as a parameter,
/// for router state `S`: `Path<T>`, `Query<T>`, `State<T>`, `HeaderMap`, or
/// your own. Implemented for every extractor; there is nothing to implement.
///
/// `#[action]` checks each parameter where the action is written, against
/// the state its `State<T>` parameter names (or `state = T` in the
/// attribute; `()` when neither says), so a parameter that is no extractor
/// fails the build even before the action is mounted.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a parameter of an action",
    label = "not an axum extractor (`FromRequestParts`) for the router state `{S}`",
    note = "an action takes `Authorized`, typed `Grant<P>`s, axum extractors such as `Path<T>`, `Query<T>`, `State<T>` or `HeaderMap`, and a last `Json<T>` input",
    note = "an extractor that needs your app's state is checked against the `T` of the action's `State<T>` parameter; without one, name the state: `#[action(..., state = AppState)]`"
)]
pub trait ActionParameter<S>: Sized + Send {
    /// Named by the macro's definition-time check.
    #[doc(hidden)]
    const CHECKED: () = ();

    /// Runs the extractor; a rejection answers with its status.
    #[doc(hidden)]
    fn extract(parts: &mut Parts, state: &S) -> impl Future<Output = Result<Self, StatusCode>> + Send;
}

#[diagnostic::do_not_recommend]
impl<S, T> ActionParameter<S> for T
where
    S: Send + Sync,
    T: FromRequestParts<S> + Send,
{
    fn extract(parts: &mut Parts, state: &S) -> impl Future<Output = Result<Self, StatusCode>> + Send {
        let extracting = T::from_request_parts(parts, state);
        async move { extracting.await.map_err(|rejection| rejection.into_response().status()) }
    }
}

/// An action's extractors, as the tuple generated code hands the pipeline.
pub trait ActionParameters<S>: Sized + Send {
    /// Runs each extractor in order; the first rejection answers.
    #[doc(hidden)]
    fn extract_all(parts: &mut Parts, state: &S) -> impl Future<Output = Result<Self, StatusCode>> + Send;
}

macro_rules! impl_action_parameters {
    ($($name:ident),*) => {
        impl<S: Send + Sync, $($name: ActionParameter<S>),*> ActionParameters<S> for ($($name,)*) {
            #[allow(non_snake_case)]
            fn extract_all(parts: &mut Parts, state: &S) -> impl Future<Output = Result<Self, StatusCode>> + Send {
                async move {
                    $(let $name = $name::extract(parts, state).await?;)*
                    Ok(($($name,)*))
                }
            }
        }
    };
}

impl<S: Send + Sync> ActionParameters<S> for () {
    fn extract_all(_: &mut Parts, _: &S) -> impl Future<Output = Result<Self, StatusCode>> + Send {
        std::future::ready(Ok(()))
    }
}

impl_action_parameters!(T1);
impl_action_parameters!(T1, T2);
impl_action_parameters!(T1, T2, T3);
impl_action_parameters!(T1, T2, T3, T4);
impl_action_parameters!(T1, T2, T3, T4, T5);
impl_action_parameters!(T1, T2, T3, T4, T5, T6);
impl_action_parameters!(T1, T2, T3, T4, T5, T6, T7);
impl_action_parameters!(T1, T2, T3, T4, T5, T6, T7, T8);
impl_action_parameters!(T1, T2, T3, T4, T5, T6, T7, T8, T9);
impl_action_parameters!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10);
impl_action_parameters!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11);
impl_action_parameters!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12);
