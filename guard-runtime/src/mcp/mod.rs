//! Guarded actions as MCP tools (feature `mcp`), on the official Rust SDK
//! (`rmcp`) and its streamable-HTTP transport.
//!
//! An app offers mounted actions as tools with [`Actions::tool`](crate::Actions::tool) and serves
//! them at a path with [`Actions::mcp`](crate::Actions::mcp):
//!
//! ```
//! use guard_runtime::{action, Actions, Authorized, Json, Resolvers, RolePolicy};
//! use guard_runtime::authn::{MemoryTokenStore, Tokens};
//!
//! #[derive(serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
//! struct Note { text: String }
//!
//! #[action(POST "/notes", requires = "notes:write")]
//! async fn add_note(_auth: Authorized, Json(note): Json<Note>) -> String { note.text }
//!
//! # fn demo() -> axum::Router {
//! Actions::new(RolePolicy::new(), Tokens::new(MemoryTokenStore::new()), Resolvers::new())
//!     .mount(add_note)
//!     .tool(add_note) // its input's JSON Schema comes from `Note: JsonSchema`
//!     .mcp("/mcp")
//!     .into_router(())
//! # }
//! ```
//!
//! # One door
//!
//! The endpoint is itself guarded: each HTTP request to it runs the
//! pipeline of an `authenticated` action named `mcp` (authentication, the
//! probing limit, the audit record), with the cookie header removed, so
//! only a bearer credential opens it and a browser page cannot call tools
//! with a user's session.
//!
//! - `tools/list` lists the registered tools this caller may invoke: its
//!   kind is among the action's callers, it holds every permission the
//!   action requires (for an agent: its scopes intersected with its user's
//!   permissions, as the policy decides), and its credential carries the
//!   claims the action binds.
//! - `tools/call` becomes an in-process HTTP request to the action's route
//!   on the same router, carrying the caller's own `Authorization` header,
//!   the action's input and its replay key. So a tool call runs the very
//!   pipeline an HTTP request runs (authentication, object checks, replay,
//!   audit) and no second path reaches a body. Its audit records say
//!   `"via": "mcp"`, from a request extension only this module sets.
//! - A refusal is a tool error (`isError: true`) whose structured content
//!   is the problem document, with the same stable `code` as over HTTP.
//!
//! # A tool's arguments
//!
//! One object: each path parameter of the route as a string (`"id"`), the
//! action's JSON input under `"input"`, and for a replay-protected action
//! its single-use key under `"replay_key"` (sent as the action's header).
//! Anything else is refused as `invalid_input`, before any request.

mod call;
mod schema;
mod server;

use axum::http::request::Parts;

pub(crate) use schema::{schema_of, ToolSchema};
pub(crate) use server::{endpoint, Tool};

/// The mark a tool call's in-process request carries: a request extension,
/// which no client can send (headers it can).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ViaTool;

/// `Some("mcp")` for a tool call's request, for its audit records.
pub(crate) fn interface(parts: &Parts) -> Option<&'static str> {
    parts.extensions.get::<ViaTool>().map(|_| "mcp")
}
