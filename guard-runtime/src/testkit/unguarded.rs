//! The sweep's rows for routes outside guard: routes the router serves
//! that are neither a mounted action nor a declared public route.
//!
//! `Actions::into_router` returns a plain `Router`, so a `.route(...)`
//! added to it compiles. The accounted layer refuses such a route at run
//! time; the sweep finds it before that, by listing the router's routes
//! ([`super::routes`]) and comparing them with what the app accounted for.
//! Each one found is probed (no credential, the sweep's request id) and
//! reported as a failed row whatever the answer: refused by the layer, it
//! is dead code that should go or be declared; served, it is a breach.

use std::collections::HashSet;

use axum::body::Body;
use axum::http::{Method, Request};
use axum::Router;

use super::routes::ListedRoute;
use super::{request, Attack, Got, Row, Verdict};
use crate::{ActionInfo, Code};

/// A route the router serves that nobody accounted for, with the request
/// the sweep sent it.
pub(crate) struct Found {
    pub(crate) row: Row,
    /// The sweep's request id of the probe, when one was sent.
    pub(crate) request_id: Option<String>,
    pub(crate) expected: Code,
}

/// What the app accounted for: the layer's routes when the sweep was given
/// them, else only the manifest's actions.
pub(crate) enum Declared {
    Accounted(Vec<(Method, String)>),
    ManifestOnly,
}

/// The rows for every listed route outside `manifest` and `declared`.
/// `next_id` names each probe.
pub(crate) async fn find(
    router: &Router,
    listed: &[ListedRoute],
    manifest: &[ActionInfo],
    declared: &Declared,
    mut next_id: impl FnMut() -> String,
) -> Vec<Found> {
    let mut known: HashSet<(&str, &str)> =
        manifest.iter().map(|info| (info.method.as_str(), info.path.as_str())).collect();
    if let Declared::Accounted(routes) = declared {
        known.extend(routes.iter().map(|(m, p)| (m.as_str(), p.as_str())));
    }
    let path_known = |path: &str| known.iter().any(|(_, p)| *p == path);
    let mut out = Vec::new();
    for route in listed {
        // A route taking any method is unaccounted only if nothing at its
        // path is: its methods cannot be read.
        let methods: Vec<Option<&Method>> = match &route.methods {
            Some(methods) => {
                methods.iter().filter(|m| !known.contains(&(m.as_str(), route.path.as_str()))).map(Some).collect()
            }
            None if path_known(&route.path) => Vec::new(),
            None => vec![None],
        };
        for method in methods {
            out.push(match declared {
                Declared::Accounted(_) => probe(router, route, method, path_known(&route.path), next_id()).await,
                Declared::ManifestOnly => unsure(route, method),
            });
        }
    }
    out
}

fn label(route: &ListedRoute, method: Option<&Method>) -> String {
    format!("{} {}", method.map_or("*", Method::as_str), route.path)
}

/// Without the layer's list the sweep cannot tell a declared public route
/// from an unguarded one, and does not send a request that might run one.
fn unsure(route: &ListedRoute, method: Option<&Method>) -> Found {
    let why = "a route outside the manifest: give the sweep the app's accounted routes \
               (`Sweep::accounted(&actions.accounted())`) to tell a declared public route from an unguarded one";
    Found {
        row: row(route, method, Code::UnguardedRoute, None, Verdict::Uncovered(why.to_owned())),
        request_id: None,
        expected: Code::UnguardedRoute,
    }
}

/// Sends the route one request with no credential. A path the app
/// accounted for under other methods gets the layer's 404; any other
/// path its 403 `unguarded_route`.
async fn probe(
    router: &Router,
    route: &ListedRoute,
    method: Option<&Method>,
    path_known: bool,
    request_id: String,
) -> Found {
    let expected = if path_known { Code::NotFound } else { Code::UnguardedRoute };
    let sent = method.cloned().unwrap_or(Method::GET);
    let built = Request::builder()
        .method(sent)
        .uri(fill(&route.path))
        .header("x-request-id", request_id.as_str())
        .body(Body::empty());
    let got = match built {
        Ok(request) => request::send(router, request).await,
        Err(e) => Got { status: 0, code: Some(format!("not sent: {e}")) },
    };
    let refused = got.status == expected.status().as_u16() && got.code.as_deref() == Some(expected.as_str());
    let what = label(route, method);
    let mut failures = vec![if refused {
        format!(
            "`{what}` is neither a guarded action nor a declared public route; the accounted layer refused it \
             ({} {expected}), so it cannot serve: mount it as an action, declare it with `Actions::public_route`, \
             or remove it",
            expected.status().as_u16()
        )
    } else {
        format!(
            "`{what}` is neither a guarded action nor a declared public route, and it was not refused \
             (expected {} {expected}, got {got}): apply `Actions::accounted()` to the finished router, last",
            expected.status().as_u16()
        )
    }];
    if got.status == 0 {
        failures.push("the probe could not be built".to_owned());
    }
    Found {
        row: row(route, method, expected, Some(got), Verdict::Failed(failures)),
        request_id: Some(request_id),
        expected,
    }
}

fn row(route: &ListedRoute, method: Option<&Method>, expected: Code, got: Option<Got>, verdict: Verdict) -> Row {
    Row {
        action: "(no action)".to_owned(),
        route: label(route, method),
        attack: Attack::UnguardedRoute,
        caller: "-".to_owned(),
        expected: Some(expected),
        got,
        verdict,
    }
}

/// The route's path with a value in each parameter.
fn fill(path: &str) -> String {
    path.split('/')
        .map(|segment| if segment.starts_with('{') && segment.ends_with('}') { "guard-sweep" } else { segment })
        .collect::<Vec<_>>()
        .join("/")
}
