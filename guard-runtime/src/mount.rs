//! Mounting guarded actions on an axum `Router`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::handler::Handler;
use axum::http::{header, request::Parts, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter};
use axum::Router;

use crate::approval::{ApprovalResolver, Approvals, RESOURCE};
use crate::audit::Auditor;
use crate::checks::object::ObjectRule;
use crate::checks::probing;
use crate::manifest::{Manifest, PublicRoute};
use crate::runtime::{Mounted, Runtime};
use crate::spec::{ActionInfo, ActionSpec, KeySource, ObjectSpec};
use crate::store::{ApprovalStore, DenialStore, ReplayStore};
use crate::{Accounted, ActionError, AuditSink, Authenticator, BoxFuture, Code, Policy, Resolvers, StoreError};

mod sealed {
    /// Implemented only by `#[action]`.
    pub trait Sealed {}
}

#[doc(hidden)]
pub use sealed::Sealed;

/// A function rewritten by `#[action(...)]`: the only thing [`Actions`] mounts.
///
/// Sealed: implemented by the macro alone, so a plain handler cannot be
/// mounted around the guard.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a guarded action",
    label = "only functions with `#[action(...)]` can be mounted here",
    note = "add `#[guard_runtime::action(requires = \"resource:verb\")]` (or `public = \"why this is safe\"`) to the function; plain axum handlers go on a separate `Router`"
)]
pub trait GuardedAction<S>: Sealed + Copy + Send + Sync + 'static {
    #[doc(hidden)]
    fn spec(&self) -> &'static ActionSpec;
    /// Runs the guard, then the body. An associated function (the action
    /// is a unit struct): mounting keeps it as a plain `fn` pointer.
    #[doc(hidden)]
    fn call(action: Arc<Mounted>, parts: Parts, body: Body, state: S) -> BoxFuture<'static, Response>;
}

/// What a mounted action runs per request.
type CallFn<S> = fn(Arc<Mounted>, Parts, Body, S) -> BoxFuture<'static, Response>;

/// The axum handler of every mounted action. Its own `Handler` impl, not a
/// closure, so a request costs one boxed future (the action's); and one
/// type for all actions, not one per action, so axum's handler machinery
/// is compiled once per app rather than once per action.
struct ActionHandler<S> {
    call: CallFn<S>,
    mounted: Arc<Mounted>,
}

impl<S> Clone for ActionHandler<S> {
    fn clone(&self) -> Self {
        ActionHandler { call: self.call, mounted: self.mounted.clone() }
    }
}

/// `ActionHandler`'s marker for axum's `Handler` (axum's own impls use
/// tuples of extractors here).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Guarded {}

impl<S> Handler<Guarded, S> for ActionHandler<S>
where
    S: Clone + Send + Sync + 'static,
{
    type Future = BoxFuture<'static, Response>;

    fn call(self, request: Request, state: S) -> Self::Future {
        let (parts, body) = request.into_parts();
        (self.call)(self.mounted, parts, body, state)
    }
}

/// A guarded action whose attribute names its route, so [`Actions::mount`]
/// knows where to put it.
#[diagnostic::on_unimplemented(
    message = "action `{Self}` has no route in its attribute",
    label = "`Actions::mount` needs the route written in `#[action(...)]`",
    note = "write it there: `#[action(POST \"/orders\", ...)]`, or mount with `.mount_at(Method::POST, \"/orders\", {Self})`"
)]
pub trait Routed: Sealed {}

/// The builder of a guarded app: configuration, mounted actions, manifest.
///
/// # Example
///
/// ```
/// use guard_runtime::{action, Actions, Authorized, Resolvers, RolePolicy};
/// use guard_runtime::authn::{MemoryTokenStore, Tokens};
/// use axum::http::Method;
///
/// #[action(requires = "reports:read")]
/// async fn report(_auth: Authorized) -> &'static str { "ok" }
///
/// # fn demo() -> axum::Router {
/// let actions = Actions::new(RolePolicy::new(), Tokens::new(MemoryTokenStore::new()), Resolvers::new())
///     .mount_at(Method::GET, "/report", report);
/// assert_eq!(actions.manifest()[0].path, "/report");
/// actions.into_router(())
/// # }
/// ```
pub struct Actions<S = ()> {
    /// The runtime every route will share, configured in place by the
    /// builder methods.
    rt: Runtime,
    resolvers: Resolvers,
    routes: Vec<Route<S>>,
    manifest: Vec<ActionInfo>,
    /// Routes the app serves outside the guard, declared with a reason.
    public_routes: Vec<PublicRoute>,
    /// Why the router's fallback may serve unmatched paths, if it may.
    public_fallback: Option<&'static str>,
}

/// One mounted action, waiting for the runtime `into_router` builds.
struct Route<S> {
    filter: MethodFilter,
    method: &'static str,
    path: String,
    spec: &'static ActionSpec,
    object: Option<ObjectRule>,
    call: CallFn<S>,
}

impl<S> std::fmt::Debug for Actions<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Actions").field("manifest", &self.manifest).finish_non_exhaustive()
    }
}

impl<S> Actions<S>
where
    S: Clone + Send + Sync + 'static,
{
    /// Starts an app with its policy, authenticator and resolvers.
    ///
    /// Defaults: in-process replay and denial stores, audit to `tracing`,
    /// probing limit 20 denials a minute, re-authentication window 5
    /// minutes, JSON bodies up to 64 KiB, origin checked against `Host`.
    pub fn new(policy: impl Policy, authenticator: impl Authenticator, resolvers: Resolvers) -> Self {
        let rt = Runtime::new(Arc::new(policy), Arc::new(authenticator));
        assert!(
            resolvers.get(RESOURCE).is_none(),
            "the resource `{RESOURCE}` is guard's (the approval requests): register your resolver under another name"
        );
        let resolvers = resolvers.with(RESOURCE, ApprovalResolver(rt.approvals.clone()));
        Actions {
            rt,
            resolvers,
            routes: Vec::new(),
            manifest: Vec::new(),
            public_routes: Vec::new(),
            public_fallback: None,
        }
    }

    /// Sends decision records to `sink` (through a queue of at most
    /// `capacity` records; default sink: [`TracingSink`](crate::audit::TracingSink)).
    pub fn audit(mut self, sink: impl AuditSink, capacity: usize) -> Self {
        self.rt.auditor = Arc::new(Auditor::new(Arc::new(sink), capacity.max(1)));
        self
    }

    /// A handle that waits for queued audit records to be written. Take it
    /// after [`Actions::audit`].
    pub fn audit_handle(&self) -> AuditHandle {
        AuditHandle(self.rt.auditor.clone())
    }

    /// Where single-use keys are claimed (default: in-process).
    pub fn replay_store(mut self, store: impl ReplayStore) -> Self {
        self.rt.replay = Arc::new(store);
        self
    }

    /// Where denials are counted (default: in-process).
    pub fn denial_store(mut self, store: impl DenialStore) -> Self {
        self.rt.denials = Arc::new(store);
        self
    }

    /// Where approval requests are kept (default: in-process), for actions
    /// with `approval = "..."`; it also backs the `approvals` resolver
    /// (see [`approval`](crate::approval)).
    ///
    /// # Panics
    ///
    /// If an action is already mounted: it would keep the old store.
    pub fn approval_store(mut self, store: impl ApprovalStore) -> Self {
        assert!(
            self.routes.is_empty(),
            "set `approval_store` before mounting actions: mounted ones keep the old store"
        );
        self.rt.approvals = Arc::new(store);
        self.resolvers =
            std::mem::take(&mut self.resolvers).with(RESOURCE, ApprovalResolver(self.rt.approvals.clone()));
        self
    }

    /// How long an approval request stays open (default 1 hour, at least
    /// 1 second): unused by then, it expires.
    pub fn approval_ttl(mut self, ttl: Duration) -> Self {
        self.rt.approval_ttl = ttl.max(Duration::from_secs(1));
        self
    }

    /// The app's handle to list, approve and deny approval requests, over
    /// the store and policy the guard uses. Take it after
    /// [`approval_store`](Actions::approval_store).
    pub fn approvals(&self) -> Approvals {
        Approvals { store: self.rt.approvals.clone(), policy: self.rt.policy.clone() }
    }

    /// After `threshold` denials inside `window`, a principal (or, when
    /// unauthenticated, a client address) gets 429 until the window ends.
    /// `0` turns probing detection off.
    pub fn probing(mut self, threshold: u32, window: Duration) -> Self {
        self.rt.probing = probing::Limit { threshold, window };
        self
    }

    /// How recent an authentication `fresh` actions need (default 5 minutes).
    pub fn reauth_window(mut self, window: Duration) -> Self {
        self.rt.reauth_window = window;
        self
    }

    /// The default body limit in bytes, for `Json` and `Form` inputs
    /// (default 64 KiB).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.rt.body_limit = bytes;
        self
    }

    /// The origins cookie-authenticated unsafe requests may come from, such
    /// as `https://app.example.com`. Default: the request's own `Host`.
    pub fn allowed_origins(mut self, origins: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.rt.allowed_origins = origins.into_iter().map(Into::into).collect();
        self
    }

    /// Where a signed-out browser on a `page` is sent (default `/login`):
    /// 303 to `{path}?next={the page}`. The login form should redirect to
    /// `next` only through [`html::safe_next`](crate::html::safe_next).
    ///
    /// # Panics
    ///
    /// If `path` is not a local path such as `/login` (a login page on
    /// another host would hand it every `next`).
    pub fn login_page(mut self, path: impl Into<String>) -> Self {
        let path = path.into();
        assert!(
            crate::html::safe_next(&path).is_some(),
            "Actions::login_page({path:?}): the login page is a local path, like \"/login\""
        );
        self.rt.login_page = path.into();
        self
    }

    /// How a refusal is written for a browser (a request that prefers
    /// `text/html`): default [`html::default_error_page`](crate::html::default_error_page).
    /// The status, the headers and the audit record stay the guard's.
    pub fn error_page(mut self, render: crate::html::RenderErrorPage) -> Self {
        self.rt.error_page = render;
        self
    }

    /// Mounts `action` at the route its attribute names.
    ///
    /// # Panics
    ///
    /// At startup, naming the action, if its resource has no resolver or
    /// another action is already mounted on the same method and path.
    pub fn mount<A: GuardedAction<S> + Routed>(self, action: A) -> Self {
        let (method, path) = action.spec().route.unwrap_or(("GET", "/"));
        self.add(method, path.to_owned(), action.spec(), A::call)
    }

    /// Mounts `action` at `method` and `path`.
    ///
    /// # Panics
    ///
    /// At startup, naming the action, if the attribute already names a
    /// route, if the action's `owner`/`tenant` path parameter is not in
    /// `path`, if its resource has no resolver, or if another action is
    /// already mounted on the same method and path.
    pub fn mount_at<A: GuardedAction<S>>(self, method: Method, path: &str, action: A) -> Self {
        let spec = action.spec();
        assert!(
            spec.route.is_none(),
            "action `{}` names its route in its attribute: mount it with `.mount({})`",
            spec.name,
            spec.name
        );
        self.add(method.as_str(), path.to_owned(), spec, A::call)
    }

    /// Not generic over the action: compiled once per app, not per action.
    /// Everything the macro cannot see (the resolvers, the other routes)
    /// is checked here, once, so no request meets a half-mounted action.
    fn add(mut self, method: &str, path: String, spec: &'static ActionSpec, call: CallFn<S>) -> Self {
        let (filter, method) =
            method_filter(method).unwrap_or_else(|| panic!("action `{}`: unsupported method `{method}`", spec.name));
        if let Some(other) = self.routes.iter().find(|r| r.method == method && same_route(&r.path, &path)) {
            panic!(
                "actions `{}` and `{}` are both mounted on {method} {}: each method and path serves one action, so change one of the routes",
                other.spec.name, spec.name, path
            );
        }
        let object = spec.object.as_ref().map(|object| object_rule(spec.name, object, &path, &self.resolvers));
        self.manifest.push(spec.info(method, &path, self.rt.reauth_window.as_secs(), self.rt.body_limit));
        self.routes.push(Route { filter, method, path, spec, object, call });
        self
    }

    /// The authorization manifest: every mounted action with its method,
    /// path and requirements, in mounting order.
    pub fn manifest(&self) -> &[ActionInfo] {
        &self.manifest
    }

    /// Declares a route the app serves with a plain handler, outside the
    /// guard (a static page, a health probe), and why that is safe. Only
    /// declared routes and mounted actions pass [`Accounted`]; the
    /// declaration is part of the [manifest](crate::manifest).
    ///
    /// # Panics
    ///
    /// At startup, if an action or another declaration has the same method
    /// and path, or the reason is empty.
    pub fn public_route(mut self, method: Method, path: &str, reason: &'static str) -> Self {
        assert!(!reason.trim().is_empty(), "public route {method} {path}: say why it may be served unguarded");
        let taken = self.routes.iter().any(|r| r.method == method.as_str() && same_route(&r.path, path))
            || self.public_routes.iter().any(|r| r.method == method.as_str() && same_route(&r.path, path));
        assert!(!taken, "{method} {path} is declared public but is already mounted or declared");
        self.public_routes.push(PublicRoute {
            path: path.to_owned(),
            method: method.as_str().to_owned(),
            reason: reason.to_owned(),
        });
        self
    }

    /// Lets the router's fallback serve paths no route matches (an SPA's
    /// `index.html`, `ServeDir`), for `reason`. Without it, [`Accounted`]
    /// answers an unmatched path 404 `not_found` and the fallback never runs.
    pub fn public_fallback(mut self, reason: &'static str) -> Self {
        self.public_fallback = Some(reason);
        self
    }

    /// The manifest to check in: the mounted actions and the declared
    /// public routes, sorted (see [`manifest`](crate::manifest)).
    pub fn authorization_manifest(&self) -> Manifest {
        Manifest::new(&self.manifest, &self.public_routes)
    }

    /// The routes declared with [`public_route`](Actions::public_route).
    pub fn public_routes(&self) -> &[PublicRoute] {
        &self.public_routes
    }

    /// The layer that refuses every route but the mounted actions and the
    /// declared public routes: apply it with [`Accounted::apply`] to the
    /// finished router. Take it after mounting everything (a route mounted
    /// later is refused), and after [`Actions::audit`], whose queue its
    /// refusals go to.
    pub fn accounted(&self) -> Accounted {
        let actions = self.routes.iter().map(|r| (r.method, r.path.as_str()));
        let public = self.public_routes.iter().map(|r| (r.method.as_str(), r.path.as_str()));
        let routes = actions
            .chain(public)
            .filter_map(|(method, path)| Some((Method::from_bytes(method.as_bytes()).ok()?, path.to_owned())));
        Accounted::new(routes, self.public_fallback.is_some(), self.rt.auditor.clone())
    }

    /// The app as a plain `axum::Router`, ready to merge into an app that
    /// has its own routes and fallback (`ServeDir`, an SPA). A known path
    /// called with another method answers 404 `not_found`; every action's
    /// response carries `Cache-Control: no-store` and an `x-request-id`,
    /// the id its audit records carry.
    ///
    /// Unknown paths are left to the app's fallback. An app made of
    /// actions alone answers them like guard does with
    /// `.fallback(guard_runtime::not_found)`.
    pub fn into_router(self, state: S) -> Router {
        let rt = Arc::new(self.rt);
        let mut router = Router::new();
        for Route { filter, path, spec, object, call, .. } in self.routes {
            let permission = spec.policy.required().map(|list| Arc::<str>::from(list.join(",")));
            let mounted = Arc::new(Mounted { rt: rt.clone(), spec, object, permission });
            router = router.route(&path, on(filter, ActionHandler { call, mounted }));
        }
        // Per route, not a router-wide fallback: `Router::merge` refuses two
        // routers that both have one.
        router.method_not_allowed_fallback(not_found).with_state(state)
    }
}

/// The object step's rule for an action: its resolver, found now.
fn object_rule(action: &str, object: &ObjectSpec, path: &str, resolvers: &Resolvers) -> ObjectRule {
    let param = match object.key {
        KeySource::Path(param) => {
            assert!(
                path.split('/').any(|segment| segment == format!("{{{param}}}")),
                "action `{action}` reads its object key from the path parameter `{param}`, but `{path}` has no `{{{param}}}`"
            );
            Some(param)
        }
        KeySource::Input(_) => None,
    };
    let resolver = resolvers.get(object.resource).unwrap_or_else(|| {
        panic!(
            "action `{action}` resolves `{resource}` objects, but no resolver is registered for `{resource}`: add `Resolvers::new().with(\"{resource}\", …)`",
            resource = object.resource
        )
    });
    ObjectRule { resource: object.resource, resolver, param, owner: object.owner }
}

/// Whether two paths are the same route to axum: equal once every
/// parameter's name is ignored (`/orders/{id}` is `/orders/{order_id}`).
fn same_route(a: &str, b: &str) -> bool {
    let shape = |path: &str| -> Vec<String> {
        path.split('/')
            .map(|segment| match segment.strip_prefix('{') {
                Some(param) if param.starts_with('*') => "{*}".to_owned(),
                Some(_) => "{}".to_owned(),
                None => segment.to_owned(),
            })
            .collect()
    };
    shape(a) == shape(b)
}

/// 404 `not_found` as a problem document, with `Cache-Control: no-store`:
/// what guard answers for a known path with an unknown method, and a
/// fallback for apps made of actions alone.
///
/// # Example
///
/// ```
/// # use guard_runtime::{Actions, Resolvers, RolePolicy, authn::{MemoryTokenStore, Tokens}};
/// # let actions: Actions = Actions::new(RolePolicy::new(), Tokens::new(MemoryTokenStore::new()), Resolvers::new());
/// let app: axum::Router = actions.into_router(()).fallback(guard_runtime::not_found);
/// ```
pub async fn not_found() -> Response {
    let mut response = ActionError::new(Code::NotFound).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, crate::gate::NO_STORE);
    response
}

fn method_filter(method: &str) -> Option<(MethodFilter, &'static str)> {
    Some(match method {
        "GET" => (MethodFilter::GET, "GET"),
        "POST" => (MethodFilter::POST, "POST"),
        "PUT" => (MethodFilter::PUT, "PUT"),
        "PATCH" => (MethodFilter::PATCH, "PATCH"),
        "DELETE" => (MethodFilter::DELETE, "DELETE"),
        _ => return None,
    })
}

/// Waits for queued audit records to reach the sink: for tests and graceful
/// shutdown.
#[derive(Clone)]
pub struct AuditHandle(Arc<Auditor>);

impl std::fmt::Debug for AuditHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditHandle")
    }
}

impl AuditHandle {
    /// Returns once every record queued before the call is written.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.0.flush().await
    }
}
