//! The order actions as MCP tools, through rmcp's own client over real
//! HTTP: each caller lists what it may invoke, and every call runs (and
//! is audited by) the action's own guard.

mod common;

use std::collections::BTreeSet;

use common::*;
use reqwest::Method;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Map, Value};

type Client = RunningService<RoleClient, ()>;

/// An MCP session of the caller whose bearer is `token`.
async fn connect(app: &App, token: &str) -> Client {
    let config = StreamableHttpClientTransportConfig::with_uri(app.url("/mcp")).auth_header(token);
    ().serve(StreamableHttpClientTransport::from_config(config)).await.expect("MCP initialize")
}

async fn tool_names(client: &Client) -> BTreeSet<String> {
    client.list_all_tools().await.expect("tools/list").into_iter().map(|tool| tool.name.into_owned()).collect()
}

async fn call(client: &Client, tool: &'static str, arguments: Value) -> CallToolResult {
    let Value::Object(arguments) = arguments else { panic!("arguments are an object") };
    client.call_tool(CallToolRequestParams::new(tool).with_arguments(arguments)).await.expect("tools/call")
}

/// The structured content of a successful call.
#[track_caller]
fn ok(result: &CallToolResult) -> &Value {
    assert_eq!(result.is_error, Some(false), "{result:?}");
    result.structured_content.as_ref().expect("structured content")
}

/// A refused call: a tool error carrying the problem document's status
/// and stable code, as HTTP would answer.
#[track_caller]
fn refused(result: &CallToolResult, status: u16, code: &str) {
    assert_eq!(result.is_error, Some(true), "{result:?}");
    let problem = result.structured_content.as_ref().expect("the problem document");
    assert_eq!(problem["code"], code, "{problem}");
    assert_eq!(problem["status"], status, "{problem}");
}

fn request_id(result: &CallToolResult) -> String {
    let meta = result.meta.as_ref().expect("_meta");
    meta.0["request_id"].as_str().expect("request_id").to_owned()
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|name| name.to_string()).collect()
}

#[tokio::test]
async fn each_caller_lists_only_the_tools_it_may_invoke() {
    let app = App::start(&[]);
    // alice's assistant holds orders:read: the read tools only.
    let assistant = connect(&app, ASSISTANT).await;
    assert_eq!(tool_names(&assistant).await, names(&["list_orders", "get_order"]));
    // bob's helper holds orders:*, and bob (a customer) orders:read and
    // orders:write: the writes too, but not delete (bob lacks it), and
    // not capture (services only).
    let helper = connect(&app, HELPER).await;
    assert_eq!(
        tool_names(&helper).await,
        names(&["list_orders", "get_order", "create_order", "change_address", "cancel_order"])
    );
    // The billing service: reads, and capture (its credential carries the
    // production claim capture binds).
    let billing = connect(&app, SVC_KEY).await;
    assert_eq!(tool_names(&billing).await, names(&["list_orders", "get_order", "capture_payment"]));

    // Each tool's arguments: the path parameters, the input's own JSON
    // Schema under `input`, the replay key.
    let tools = helper.list_all_tools().await.unwrap();
    let create = tools.iter().find(|tool| tool.name == "create_order").unwrap();
    let schema = Value::Object((*create.input_schema).clone());
    assert_eq!(schema["required"], json!(["input"]));
    assert_eq!(schema["additionalProperties"], false);
    let input = &schema["properties"]["input"];
    assert_eq!(input["properties"]["quantity"]["type"], "integer");
    assert_eq!(input["properties"]["item"]["type"], "string");
    let mut required: Vec<&str> = input["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    required.sort_unstable();
    assert_eq!(required, ["address", "item", "quantity"]);
    let get = tools.iter().find(|tool| tool.name == "get_order").unwrap();
    assert_eq!(get.input_schema["required"], json!(["id"]));
    assert_eq!(get.annotations.as_ref().and_then(|a| a.read_only_hint), Some(true));
    let capture = billing.list_all_tools().await.unwrap().into_iter().find(|t| t.name == "capture_payment").unwrap();
    assert_eq!(capture.input_schema["required"], json!(["order_id", "replay_key"]));
}

#[tokio::test]
async fn the_endpoint_needs_a_bearer_and_refuses_a_session_cookie() {
    let app = App::start(&[]);
    let initialize = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": { "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": { "name": "t", "version": "1" } }
    });
    let post = |caller: &Caller| {
        app.request(Method::POST, "/mcp", caller)
            .header("accept", "application/json, text/event-stream")
            .json(&initialize)
    };
    send(post(&Caller::Anon)).await.assert_problem(401, "unauthenticated");
    send(post(&Caller::bearer("not-a-real-token"))).await.assert_problem(401, "unauthenticated");
    // alice's own session cookie does not open it: a page in her browser
    // could otherwise call tools as her.
    let alice = app.user("alice").await;
    send(post(&alice)).await.assert_problem(401, "unauthenticated");
    // rmcp's client gets the 401 as an error: no session at all.
    let config = StreamableHttpClientTransportConfig::with_uri(app.url("/mcp")).auth_header("not-a-real-token");
    assert!(().serve(StreamableHttpClientTransport::from_config(config)).await.is_err());
}

#[tokio::test]
async fn tool_calls_run_the_actions_guard_and_leave_its_audit_records() {
    let app = App::start(&[]);
    let alice = app.user("alice").await;
    let a = app.create_order(&alice, "lamp").await;
    let a2 = app.create_order(&alice, "rug").await;
    let id = a["id"].to_string();
    let assistant = connect(&app, ASSISTANT).await;
    let helper = connect(&app, HELPER).await;
    let billing = connect(&app, SVC_KEY).await;
    let mut calls: Vec<(String, &str, &str, &str)> = Vec::new(); // (request id, principal, action, code)

    // alice's assistant reads alice's order.
    let read = call(&assistant, "get_order", json!({ "id": id })).await;
    assert_eq!(ok(&read)["id"], a["id"]);
    calls.push((request_id(&read), "assistant", "get_order", "ok"));
    // bob's helper asking for alice's order: not found, like a missing one.
    let theirs = call(&helper, "get_order", json!({ "id": id })).await;
    refused(&theirs, 404, "not_found");
    let missing = call(&helper, "get_order", json!({ "id": "999999" })).await;
    refused(&missing, 404, "not_found");
    assert_eq!(
        theirs.structured_content.as_ref().unwrap()["detail"],
        missing.structured_content.as_ref().unwrap()["detail"]
    );
    calls.push((request_id(&theirs), "helper", "get_order", "not_found"));
    // A tool the assistant is not offered is still guarded, not hidden
    // behind the list alone: calling it is refused by the action.
    let cancel = call(&assistant, "cancel_order", json!({ "id": id })).await;
    refused(&cancel, 403, "forbidden");
    calls.push((request_id(&cancel), "assistant", "cancel_order", "forbidden"));
    // The helper writes for bob: bob owns the new order.
    let created =
        call(&helper, "create_order", json!({ "input": { "item": "kettle", "quantity": 1, "address": "2 Side St" } }))
            .await;
    assert_eq!(ok(&created)["owner"], "bob");
    calls.push((request_id(&created), "helper", "create_order", "ok"));
    // The input is decoded as strictly as over HTTP: an unknown field is 422.
    let sneaky = json!({ "input": { "item": "x", "quantity": 1, "address": "y", "owner": "alice" } });
    let smuggled = call(&helper, "create_order", sneaky).await;
    refused(&smuggled, 422, "invalid_input");
    calls.push((request_id(&smuggled), "helper", "create_order", "invalid_input"));
    // Arguments that make no request are refused before any action runs.
    refused(&call(&helper, "get_order", json!({ "id": id, "tenant": "globex" })).await, 422, "invalid_input");
    refused(&call(&helper, "get_order", json!({})).await, 422, "invalid_input");

    // Capture is single-use: the key is the tool's `replay_key`.
    let capture = |order: &Value, key: Option<&str>| {
        let mut arguments = Map::from_iter([("order_id".to_owned(), Value::from(order.to_string()))]);
        if let Some(key) = key {
            arguments.insert("replay_key".to_owned(), key.into());
        }
        call(&billing, "capture_payment", Value::Object(arguments))
    };
    let first = capture(&a["id"], Some("mcp-key-1")).await;
    assert_eq!(ok(&first)["status"], "captured");
    calls.push((request_id(&first), "svc-billing", "capture_payment", "ok"));
    let again = capture(&a2["id"], Some("mcp-key-1")).await;
    refused(&again, 409, "replayed");
    calls.push((request_id(&again), "svc-billing", "capture_payment", "replayed"));
    let keyless = capture(&a2["id"], None).await;
    refused(&keyless, 400, "bad_request");
    calls.push((request_id(&keyless), "svc-billing", "capture_payment", "bad_request"));
    // Nothing the refusals touched changed: a2 is still new, a still
    // belongs to alice.
    assert_eq!(app.read_as_admin(&a2["id"]).await["status"], "new");
    assert_eq!(app.read_as_admin(&a["id"]).await["owner"], "alice");

    for client in [assistant, helper, billing] {
        client.cancel().await.expect("close the MCP session");
    }
    let dir = app.stop();
    let records = read_audit(&dir.path().join("audit.jsonl"));
    for (id, principal, action, code) in &calls {
        let record = records
            .iter()
            .find(|r| r["request_id"] == id.as_str())
            .unwrap_or_else(|| panic!("no audit record for {action} by {principal}: {records:#?}"));
        assert_eq!(record["principal"], *principal, "{record}");
        assert_eq!(record["action"], *action, "{record}");
        assert_eq!(record["code"], *code, "{record}");
        assert_eq!(record["decision"], if *code == "ok" { "allow" } else { "deny" }, "{record}");
        assert_eq!(record["via"], "mcp", "{record}");
    }
    let agent = records.iter().find(|r| r["request_id"] == calls[0].0.as_str()).unwrap();
    assert_eq!(agent["on_behalf_of"], "alice");
    assert_eq!(agent["resource"], format!("orders/{id}"));
    // The door itself is audited too, and plain HTTP is not marked.
    assert!(records.iter().any(|r| r["action"] == "mcp" && r["principal"] == "helper" && r["via"] == "mcp"));
    let created_over_http =
        records.iter().find(|r| r["action"] == "create_order" && r["principal"] == "alice").unwrap();
    assert_eq!(created_over_http["via"], Value::Null);
}

#[tokio::test]
async fn tool_results_are_minimised_like_json_answers() {
    let app = App::start(&[]);
    let alice = app.user("alice").await;
    let a = app.create_order(&alice, "lamp").await;
    let assistant = connect(&app, ASSISTANT).await;
    let read = call(&assistant, "get_order", json!({ "id": a["id"].to_string() })).await;
    let order = ok(&read);
    assert_eq!(order["item"], "lamp");
    assert!(order.get("address").is_none(), "address leaked to the assistant: {order}");
    let helper = connect(&app, HELPER).await;
    let created =
        call(&helper, "create_order", json!({ "input": { "item": "pen", "quantity": 1, "address": "2 Side St" } }))
            .await;
    assert_eq!(ok(&created)["address"], "2 Side St");
}
