//! The routes an axum `Router` serves, for the sweep's unguarded-route
//! rows.
//!
//! axum has no API that lists a router's routes. Its `Debug` output does
//! name them: every route's path (`node: Node { paths: {RouteId(1):
//! "/orders", ...} }`) and, for a method router, the methods it has
//! handlers for (`allow_header: Bytes(b"GET,HEAD,POST")`). This module reads
//! that text. It is test-time tooling only, and it fails closed: when the
//! text does not have the expected shape (a future axum), [`list`] returns
//! an error the sweep reports as a problem, which fails the report, rather
//! than an empty list that would pass. The unit tests below pin the shape
//! for the axum version in the lockfile.

use std::collections::HashMap;

use axum::http::Method;
use axum::Router;

/// A route of the router: its path as given to `route`, and the methods it
/// has handlers for; `None` when its endpoint takes any method (a service
/// mounted with `route_service` or `nest_service`, or `any(...)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ListedRoute {
    pub(crate) path: String,
    pub(crate) methods: Option<Vec<Method>>,
}

/// Where the path router's routes end and its fallback router's begin.
const FALLBACK_ROUTER: &str = ", fallback_router: ";
/// Where the routes end and the path table begins.
const PATHS: &str = "node: Node { paths: {";
const ROUTE_ID: &str = "RouteId(";
const ALLOW: &str = "allow_header: Bytes(b\"";

/// Every route of `router` (not its fallback), sorted by path.
pub(crate) fn list(router: &Router) -> Result<Vec<ListedRoute>, String> {
    parse(&format!("{router:?}"))
}

fn parse(text: &str) -> Result<Vec<ListedRoute>, String> {
    let unreadable = |what: &str| {
        format!(
            "cannot list the router's routes to look for unguarded ones: its Debug output has no {what} \
             (axum's format changed?)"
        )
    };
    let path_router = text.split(FALLBACK_ROUTER).next().unwrap_or(text);
    let (endpoints, paths) = path_router.split_once(PATHS).ok_or_else(|| unreadable("path table"))?;
    let paths = path_table(paths).ok_or_else(|| unreadable("readable path table"))?;
    let mut methods: HashMap<u64, Option<Vec<Method>>> = HashMap::new();
    for (id, endpoint) in by_route_id(endpoints) {
        methods.insert(id, allowed(endpoint));
    }
    let mut routes = Vec::with_capacity(paths.len());
    for (id, path) in paths {
        let methods = methods.remove(&id).ok_or_else(|| unreadable(&format!("endpoint for `{path}`")))?;
        routes.push(ListedRoute { path, methods });
    }
    routes.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(routes)
}

/// `RouteId(7): "/orders/{id}", ...` up to the table's closing brace.
fn path_table(mut text: &str) -> Option<Vec<(u64, String)>> {
    let mut out = Vec::new();
    loop {
        text = text.trim_start_matches([',', ' ']);
        if text.starts_with('}') {
            return Some(out);
        }
        let rest = text.strip_prefix(ROUTE_ID)?;
        let (id, rest) = rest.split_once(')')?;
        let rest = rest.strip_prefix(": \"")?;
        let (path, rest) = debug_string(rest)?;
        out.push((id.parse().ok()?, path));
        text = rest;
    }
}

/// The body of a `Debug`-quoted string (after its opening quote), and the
/// text after its closing quote.
fn debug_string(text: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &text[i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                '0' => out.push('\0'),
                // `\u{..}` escapes are for control characters, which a
                // route path cannot hold; anything else is the character.
                'u' => return None,
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// The text of each endpoint, by its route id.
fn by_route_id(text: &str) -> impl Iterator<Item = (u64, &str)> {
    text.split(ROUTE_ID).skip(1).filter_map(|part| {
        let (id, endpoint) = part.split_once(')')?;
        Some((id.parse().ok()?, endpoint))
    })
}

/// The methods of a method router's `Allow` header; `None` for an endpoint
/// that takes any method. HEAD is left out where GET is there: axum answers
/// it with the GET handler.
fn allowed(endpoint: &str) -> Option<Vec<Method>> {
    let (_, rest) = endpoint.split_once(ALLOW)?;
    let (list, _) = rest.split_once("\")")?;
    let methods: Vec<Method> = list.split(',').filter_map(|m| Method::from_bytes(m.as_bytes()).ok()).collect();
    let get = methods.contains(&Method::GET);
    Some(methods.into_iter().filter(|m| !(get && m == Method::HEAD)).collect())
}

#[cfg(test)]
mod tests {
    use axum::routing::{any, get, post};

    use super::*;

    fn route(path: &str, methods: Option<&[Method]>) -> ListedRoute {
        ListedRoute { path: path.to_owned(), methods: methods.map(<[Method]>::to_vec) }
    }

    #[test]
    fn lists_every_route_with_its_methods_however_it_was_added() {
        let nested = Router::new().route("/inner/{id}", get(|| async {}).post(|| async {}));
        let router: Router = Router::new()
            .route("/orders", post(|| async {}))
            .route("/orders/{id}", get(|| async {}).delete(|| async {}))
            .nest("/n", nested)
            .merge(Router::new().route("/merged", get(|| async {})))
            .layer(axum::middleware::from_fn(|r: axum::extract::Request, n: axum::middleware::Next| n.run(r)))
            .route("/quote\"d", any(|| async {}))
            .route_service("/svc", tower::service_fn(|_| async { Ok::<_, std::convert::Infallible>("x") }))
            .fallback(|| async {});
        assert_eq!(
            list(&router).expect("listed"),
            vec![
                route("/merged", Some(&[Method::GET])),
                route("/n/inner/{id}", Some(&[Method::GET, Method::POST])),
                route("/orders", Some(&[Method::POST])),
                route("/orders/{id}", Some(&[Method::GET, Method::DELETE])),
                route("/quote\"d", None),
                route("/svc", None),
            ]
        );
    }

    #[test]
    fn an_empty_router_lists_nothing() {
        assert_eq!(list(&Router::new()).expect("listed"), Vec::new());
    }

    #[test]
    fn text_of_another_shape_is_an_error_not_an_empty_list() {
        for text in
            ["Router { something_else: {} }", "Router { path_router: PathRouter { node: Node { paths: {x} } } }"]
        {
            let err = parse(text).expect_err(text);
            assert!(err.contains("cannot list the router's routes"), "{err}");
        }
    }
}
