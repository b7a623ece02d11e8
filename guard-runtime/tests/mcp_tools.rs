//! Offering actions as MCP tools: what `Actions::tool` accepts at startup.
//! (The tools served over HTTP are tested against the reference app, in
//! `examples/orders/tests/mcp.rs`.)

use guard_runtime::authn::{MemoryTokenStore, Tokens};
use guard_runtime::{action, Actions, Authorized, Json, Resolvers, RolePolicy};

#[derive(serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
struct Described {
    text: String,
}

/// No `JsonSchema`: fine for an action, not for a tool.
#[derive(serde::Deserialize, serde::Serialize)]
struct Undescribed {
    text: String,
}

#[action(POST "/described", requires = "notes:write")]
async fn described(_auth: Authorized, Json(note): Json<Described>) -> String {
    note.text
}

#[action(POST "/undescribed", requires = "notes:write")]
async fn undescribed(_auth: Authorized, Json(note): Json<Undescribed>) -> String {
    note.text
}

#[action(GET "/plain", requires = "notes:read")]
async fn plain(_auth: Authorized) -> &'static str {
    "plain"
}

fn actions() -> Actions {
    Actions::new(RolePolicy::new(), Tokens::new(MemoryTokenStore::new()), Resolvers::new())
        .mount(described)
        .mount(undescribed)
        .mount(plain)
}

#[test]
fn inputs_with_a_schema_and_actions_without_input_become_tools() {
    let _router: axum::Router = actions().tool(described).tool(plain).mcp("/mcp").into_router(());
}

#[test]
#[should_panic(expected = "action `undescribed` is offered as a tool, but its input type has no JSON Schema")]
fn an_input_without_a_schema_is_refused_at_startup() {
    let _ = actions().tool(undescribed);
}

#[test]
#[should_panic(expected = "action `plain` is offered as a tool twice")]
fn a_tool_is_offered_once() {
    let _ = actions().tool(plain).tool(plain);
}

#[test]
#[should_panic(expected = "is offered as a tool before it is mounted")]
fn a_tool_must_be_mounted_first() {
    let _ = Actions::<()>::new(RolePolicy::new(), Tokens::new(MemoryTokenStore::new()), Resolvers::new()).tool(plain);
}
