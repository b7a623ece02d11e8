//! The MCP endpoint: a guarded door (an `authenticated` action named
//! `mcp`) in front of rmcp's streamable-HTTP service, whose handler lists
//! the caller's tools and turns each call into a request to the action's
//! own route.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, Method};
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ListToolsResult, PaginatedRequestParams,
    ServerCapabilities, ServerConfig, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use tower::ServiceExt;

use super::schema::ToolSchema;
use super::{call, ViaTool};
use crate::checks::{binding, permission};
use crate::gate::Gate;
use crate::pipeline::{self, no_input, NoInput, Plan};
use crate::principal::CallerSet;
use crate::runtime::{Mounted, Runtime};
use crate::spec::{ActionSpec, PolicyKind};
use crate::Principal;

/// One action offered as a tool.
#[derive(Debug)]
pub(crate) struct Tool {
    pub(crate) spec: &'static ActionSpec,
    pub(crate) method: Method,
    /// The route, as mounted: `/orders/{id}`.
    pub(crate) path: String,
    pub(crate) schema: ToolSchema,
}

/// The door's own spec: any authenticated caller of any kind. What each
/// tool needs is checked by that tool's action, per call.
static DOOR: ActionSpec =
    ActionSpec { name: "mcp", policy: PolicyKind::Authenticated, callers: CallerSet::ALL, ..ActionSpec::NONE };

/// Who the door let in, for the handler (a request extension of the
/// HTTP request rmcp hands it).
#[derive(Clone, Debug)]
struct Caller(Arc<Principal>);

/// What the handler serves: the tools, and the router their calls go to.
struct Served {
    tools: Vec<Tool>,
    /// The actions' router, without the MCP route: a tool call is one
    /// request to it.
    actions: Router,
    rt: Arc<Runtime>,
}

/// The MCP endpoint at `path` on `actions`: the door, then rmcp.
pub(crate) fn endpoint(actions: Router, path: &str, tools: Vec<Tool>, rt: Arc<Runtime>) -> Router {
    let served = Arc::new(Served { tools, actions: actions.clone(), rt: rt.clone() });
    let handler = Handler(served);
    // Sessions only route messages: every request passes the door with its
    // own credential, and every call carries it. The `Host` allow-list
    // (against DNS rebinding of unauthenticated local servers) would
    // refuse the app's real host names; a bearer is required instead,
    // which a rebound page cannot attach.
    let config = StreamableHttpServerConfig::default().disable_allowed_hosts();
    let service =
        StreamableHttpService::new(move || Ok(handler.clone()), Arc::new(LocalSessionManager::default()), config);
    let door = Arc::new(Mounted { rt, spec: &DOOR, object: None, permission: None, minimized: &[] });
    actions.route(
        path,
        any(move |request: Request| {
            let (door, service) = (door.clone(), service.clone());
            async move { enter(door, service, request).await }
        }),
    )
}

/// The door: the guard's pipeline for an `authenticated` action, on the
/// request without its cookies, audited like any action; then rmcp, with
/// the caller attached.
async fn enter(
    door: Arc<Mounted>,
    service: StreamableHttpService<Handler, LocalSessionManager>,
    request: Request,
) -> Response {
    let (mut parts, body) = request.into_parts();
    // A cookie session never opens the door: a page in the user's browser
    // could otherwise call tools with it, past CSRF.
    parts.headers.remove(header::COOKIE);
    parts.extensions.insert(ViaTool);
    let mut gate = Gate::new(door, &parts);
    let plan = Plan { read: no_input, key: None, check: None, digest: None };
    let admitted = pipeline::run::<(), NoInput, ()>(&mut gate, &mut parts, &(), Body::empty(), plan).await;
    let response = match admitted {
        Err(refusal) => refusal,
        Ok(((), NoInput, authorized)) => {
            parts.extensions.insert(Caller(Arc::new(authorized.principal().clone())));
            service.handle(Request::from_parts(parts, body)).await.map(Body::new)
        }
    };
    gate.finish(response).await
}

/// rmcp's server handler: one per session, all sharing what is served.
#[derive(Clone)]
struct Handler(Arc<Served>);

impl Handler {
    /// The HTTP request's parts and the caller the door admitted. Absent
    /// only if rmcp were reached around the door: then nothing is served.
    fn caller(context: &RequestContext<RoleServer>) -> Result<(&axum::http::request::Parts, &Principal), ErrorData> {
        let parts = context.extensions.get::<axum::http::request::Parts>();
        let caller = parts.and_then(|parts| Some((parts, &*parts.extensions.get::<Caller>()?.0)));
        caller.ok_or_else(|| ErrorData::invalid_request("unauthenticated", None))
    }
}

impl ServerHandler for Handler {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("guard", env!("CARGO_PKG_VERSION")))
            .with_instructions("Each tool is a guarded action: it runs only if your credential may invoke it.")
    }

    async fn list_tools(
        &self,
        _: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let (_, principal) = Self::caller(&context)?;
        let policy = &*self.0.rt.policy;
        let tools = self.0.tools.iter().filter(|tool| may_invoke(policy, principal, tool.spec)).map(describe).collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let (parts, _) = Self::caller(&context)?;
        // Any registered tool, listed or not: its action's guard decides,
        // and audits, exactly as over HTTP.
        let tool = self
            .0
            .tools
            .iter()
            .find(|tool| tool.spec.name == request.name)
            .ok_or_else(|| ErrorData::invalid_params(format!("no tool named `{}`", request.name), None))?;
        let response = match call::request(tool, request.arguments, parts) {
            Ok(inner) => match self.0.actions.clone().oneshot(inner).await {
                Ok(response) => response,
                Err(never) => match never {},
            },
            Err(bad_arguments) => axum::response::IntoResponse::into_response(bad_arguments),
        };
        Ok(call::result(response).await.into())
    }
}

/// Whether `principal` may invoke the tool's action, as far as the action
/// says without its object: its kind is accepted, it holds every required
/// permission, its credential carries the claims the action binds.
fn may_invoke(policy: &dyn crate::Policy, principal: &Principal, spec: &ActionSpec) -> bool {
    let permitted = match spec.policy {
        PolicyKind::Requires(required) => permission::check(policy, principal, required).is_ok(),
        PolicyKind::Authenticated | PolicyKind::Public(_) => true,
    };
    spec.callers.contains(principal.kind)
        && permitted
        && binding::check(spec.binding, |claim| principal.claims.get_str(claim)).is_ok()
}

/// The tool as `tools/list` shows it.
fn describe(tool: &Tool) -> rmcp::model::Tool {
    let requires = match tool.spec.policy {
        PolicyKind::Requires(list) => format!("requires {}", list.join(", ")),
        PolicyKind::Authenticated => "any authenticated caller".to_owned(),
        PolicyKind::Public(_) => "public".to_owned(),
    };
    let description = format!("{} {} ({requires})", tool.method, tool.path);
    let read_only = tool.method == Method::GET;
    let annotations = ToolAnnotations::new().read_only(read_only).destructive(tool.method == Method::DELETE);
    let mut described = rmcp::model::Tool::new(tool.spec.name, description, tool.schema.json.clone());
    described.annotations = Some(annotations);
    described
}
