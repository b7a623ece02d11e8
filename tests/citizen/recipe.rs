use axum::http::{header, HeaderName, HeaderValue, Method, Request};
use axum::Router;
use guard_runtime::Actions;
use tower::ServiceBuilder;
use tower_http::cors::CorsLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// guard's router inside the layers an axum app usually has: a request id
/// for every request, a tracing span that guard fills in with the caller
/// and the request id, and CORS for a front end on another origin.
pub fn app(actions: Actions, front_end: HeaderValue) -> Router {
    let x_request_id = HeaderName::from_static("x-request-id");
    let layers = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(x_request_id.clone(), MakeRequestUuid))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            // Declared empty: guard records them once it knows them.
            let (principal, request_id) = (tracing::field::Empty, tracing::field::Empty);
            tracing::info_span!("request", method = %request.method(), uri = %request.uri(), principal, request_id)
        }))
        .layer(PropagateRequestIdLayer::new(x_request_id))
        .layer(CorsLayer::new().allow_origin(front_end).allow_methods([Method::GET, Method::POST]).allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("x-csrf-token"),
        ]));
    actions.into_router(()).fallback(guard_runtime::not_found).layer(layers)
}
