//! Every route accounted for: a layer, applied last, that lets a request
//! reach only a mounted action or a route declared public with its reason.
//!
//! `Actions::into_router` returns a plain `Router`, so a handler added with
//! `.route("/x", post(unguarded))` compiles and would serve. The compiler
//! cannot see that; this layer refuses it at run time: it knows the method
//! and path of every mounted action and declared public route, and reads
//! the route axum matched ([`MatchedPath`]) before any handler runs.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::extract::{MatchedPath, Request};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::audit::{Auditor, Decision, DecisionRecord};
use crate::request_id::{RequestIds, REQUEST_ID};
use crate::{ActionError, Code, RequestId};

/// The routes an app may serve, and the audit queue its refusals go to.
/// Made by [`Actions::accounted`](crate::Actions::accounted); applied with
/// [`Accounted::apply`] as the router's last layer.
#[derive(Clone)]
pub struct Accounted {
    inner: Arc<Inner>,
}

struct Inner {
    /// Route path (as given to the router) to the methods it may serve.
    routes: HashMap<String, HashSet<Method>>,
    /// Whether the router's fallback (unmatched paths) may run.
    fallback: bool,
    auditor: Arc<Auditor>,
    ids: RequestIds,
}

impl std::fmt::Debug for Accounted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounted").field("routes", &self.inner.routes).finish_non_exhaustive()
    }
}

/// What the layer does with a request.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Serve,
    /// The route is known, not with this method: guard's usual 404.
    WrongMethod(String),
    /// A route nobody accounted for: 403 `unguarded_route`.
    Unguarded(String),
    /// No route matched and the fallback was not declared: 404.
    NoRoute,
}

impl Accounted {
    pub(crate) fn new(
        routes: impl IntoIterator<Item = (Method, String)>,
        fallback: bool,
        auditor: Arc<Auditor>,
    ) -> Self {
        let mut table: HashMap<String, HashSet<Method>> = HashMap::new();
        for (method, path) in routes {
            table.entry(path).or_default().insert(method);
        }
        Accounted { inner: Arc::new(Inner { routes: table, fallback, auditor, ids: RequestIds::new() }) }
    }

    /// Every method and route path the layer lets through (the mounted
    /// actions, the declared public routes and the MCP endpoint), sorted:
    /// what the testkit's `Sweep::accounted` compares
    /// the router's routes with.
    pub fn routes(&self) -> Vec<(Method, String)> {
        let mut routes: Vec<(Method, String)> = self
            .inner
            .routes
            .iter()
            .flat_map(|(path, methods)| methods.iter().map(move |m| (m.clone(), path.clone())))
            .collect();
        routes.sort_by(|a, b| (&a.1, a.0.as_str()).cmp(&(&b.1, b.0.as_str())));
        routes
    }

    /// `router` with every request checked against the accounted routes.
    /// Call it on the finished router, right before serving: axum applies
    /// a layer to the routes added before it, so a route added after this
    /// call would not be checked.
    ///
    /// A request to a route that is neither a mounted action nor a declared
    /// public route is answered 403 `unguarded_route` and audited (the
    /// record's `resource` is `routes/<METHOD> <route>`); the handler never
    /// runs. A known route with another method answers 404 `not_found`,
    /// audited the same way. An unmatched path reaches the router's
    /// fallback only if [`Actions::public_fallback`](crate::Actions::public_fallback)
    /// declared it, else 404 `not_found`.
    pub fn apply(self, router: Router) -> Router {
        router.layer(axum::middleware::from_fn(move |request: Request, next: Next| {
            let accounted = self.clone();
            async move { accounted.check(request, next).await }
        }))
    }

    fn verdict(&self, method: &Method, matched: Option<&str>) -> Verdict {
        let Some(route) = matched else {
            return if self.inner.fallback { Verdict::Serve } else { Verdict::NoRoute };
        };
        // axum answers HEAD with the GET handler.
        let method = if method == Method::HEAD { &Method::GET } else { method };
        match self.inner.routes.get(route) {
            Some(methods) if methods.contains(method) => Verdict::Serve,
            Some(_) => Verdict::WrongMethod(route.to_owned()),
            None => Verdict::Unguarded(route.to_owned()),
        }
    }

    async fn check(self, request: Request, next: Next) -> Response {
        let started = Instant::now();
        let matched = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str);
        let (route, code) = match self.verdict(request.method(), matched) {
            Verdict::Serve => return next.run(request).await,
            Verdict::NoRoute => return crate::not_found().await,
            Verdict::WrongMethod(route) => (route, Code::NotFound),
            Verdict::Unguarded(route) => (route, Code::UnguardedRoute),
        };
        let id = self.inner.ids.next();
        let record = DecisionRecord {
            ts: SystemTime::now(),
            request_id: Some(id.clone()),
            client_request_id: sent_by_client(request.headers()),
            claim: None,
            caller: None,
            // No action was reached: the record's `resource` names the route.
            action: "(no action)",
            method: request.method().clone(),
            path: Arc::from(request.uri().path()),
            permission: None,
            resource: Some(Arc::from(format!("routes/{} {route}", request.method()))),
            decision: Decision::Deny,
            code: code.as_str(),
            latency_us: started.elapsed().as_micros() as u64,
            // Tool calls reach only mounted actions: this came over HTTP.
            via: None,
        };
        let code = match self.inner.auditor.send(record).await {
            Ok(()) => code,
            Err(err) => {
                tracing::error!(target: "guard::accounted", error = %err, "audit failed");
                Code::Unavailable
            }
        };
        if code == Code::UnguardedRoute {
            tracing::error!(target: "guard::accounted", method = %request.method(), route, "refused a route that is neither a guarded action nor a declared public route");
        }
        let mut response = ActionError::new(code).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, crate::gate::NO_STORE);
        headers.insert(REQUEST_ID, id.header_value());
        response
    }
}

/// The client's own `x-request-id`, if it sent exactly one well-formed.
fn sent_by_client(headers: &axum::http::HeaderMap) -> Option<RequestId> {
    let mut sent = headers.get_all(REQUEST_ID).iter();
    match (sent.next(), sent.next()) {
        (Some(value), None) => RequestId::new(value.as_bytes()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::TracingSink;

    fn accounted(fallback: bool) -> Accounted {
        Accounted::new(
            [(Method::GET, "/orders/{id}".to_owned()), (Method::POST, "/orders".to_owned())],
            fallback,
            Arc::new(Auditor::new(Arc::new(TracingSink), 16)),
        )
    }

    #[test]
    fn only_accounted_method_and_route_pairs_are_served() {
        let a = accounted(false);
        assert_eq!(a.verdict(&Method::GET, Some("/orders/{id}")), Verdict::Serve);
        assert_eq!(a.verdict(&Method::HEAD, Some("/orders/{id}")), Verdict::Serve);
        assert_eq!(a.verdict(&Method::POST, Some("/orders")), Verdict::Serve);
        assert_eq!(a.verdict(&Method::DELETE, Some("/orders")), Verdict::WrongMethod("/orders".into()));
        assert_eq!(a.verdict(&Method::POST, Some("/sneaky")), Verdict::Unguarded("/sneaky".into()));
        assert_eq!(a.verdict(&Method::GET, None), Verdict::NoRoute);
        assert_eq!(accounted(true).verdict(&Method::GET, None), Verdict::Serve);
    }
}
