//! A tool's input schema: the route's path parameters, the action's JSON
//! input (from its type's `JsonSchema`), and its replay key.

use std::sync::Arc;

use serde_json::{json, Map, Value};

/// `T`'s JSON Schema, as an object (a schema of `true`, "anything", is
/// said as an empty object, as tools need).
pub(crate) fn schema_of<T: schemars::JsonSchema>() -> Option<Map<String, Value>> {
    match schemars::schema_for!(T).to_value() {
        Value::Object(schema) => Some(schema),
        _ => Some(Map::new()),
    }
}

/// What a tool's arguments hold besides the input.
#[derive(Debug)]
pub(crate) struct ToolSchema {
    /// The route's path parameters, in order.
    pub(crate) params: Vec<String>,
    /// Whether the action takes a JSON body (under `"input"`).
    pub(crate) input: bool,
    /// The replay header the `"replay_key"` argument is sent in, if any.
    pub(crate) replay: Option<&'static str>,
    /// The arguments' JSON Schema, as `tools/list` shows it.
    pub(crate) json: Arc<Map<String, Value>>,
}

/// The argument that carries an action's JSON input.
pub(crate) const INPUT: &str = "input";
/// The argument that carries a replay-protected action's single-use key.
pub(crate) const REPLAY_KEY: &str = "replay_key";

impl ToolSchema {
    /// The schema of a tool for the action at `path`, whose input is
    /// described by `input` (`None`: no body), with `replay` its header.
    ///
    /// # Panics
    ///
    /// If a path parameter is named `input` or `replay_key`: the arguments
    /// could not tell them apart (a startup error, naming the action).
    pub(crate) fn new(
        action: &str,
        path: &str,
        input: Option<Map<String, Value>>,
        replay: Option<&'static str>,
    ) -> Self {
        let params = path_params(path);
        let mut properties = Map::new();
        let mut required = Vec::new();
        for param in &params {
            assert!(
                param != INPUT && param != REPLAY_KEY,
                "action `{action}`: its path parameter `{param}` has the name of a tool argument; rename it"
            );
            properties.insert(param.clone(), json!({ "type": "string", "description": "path parameter" }));
            required.push(Value::from(param.as_str()));
        }
        let mut defs = None;
        let takes_input = input.is_some();
        if let Some(mut schema) = input {
            // The input's definitions move to the top, where its `$ref`s
            // (`#/$defs/...`) point once it is nested under `input`.
            defs = schema.remove("$defs");
            schema.remove("$schema");
            properties.insert(INPUT.to_owned(), Value::Object(schema));
            required.push(INPUT.into());
        }
        if let Some(header) = replay {
            let description = format!("single-use key, sent as the `{header}` header: a used one is refused");
            properties
                .insert(REPLAY_KEY.to_owned(), json!({ "type": "string", "minLength": 1, "description": description }));
            required.push(REPLAY_KEY.into());
        }
        let mut json = Map::new();
        json.insert("type".into(), "object".into());
        json.insert("properties".into(), Value::Object(properties));
        json.insert("required".into(), Value::Array(required));
        json.insert("additionalProperties".into(), false.into());
        if let Some(defs) = defs {
            json.insert("$defs".into(), defs);
        }
        ToolSchema { params, input: takes_input, replay, json: Arc::new(json) }
    }
}

/// `{id}` and `{*rest}` segments of an axum path, by name.
fn path_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| name.trim_start_matches('*').to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(schemars::JsonSchema)]
    struct Inner {
        line: String,
    }

    #[derive(schemars::JsonSchema)]
    struct Input {
        address: Inner,
        quantity: u32,
    }

    #[test]
    fn path_parameters_input_and_replay_key_are_required_arguments() {
        // Built once, so the types are real inputs and not dead code.
        let input = Input { address: Inner { line: "1 Main St".into() }, quantity: 2 };
        assert_eq!((input.address.line.as_str(), input.quantity), ("1 Main St", 2));
        let schema = ToolSchema::new("a", "/orders/{id}/lines/{line}", schema_of::<Input>(), Some("idempotency-key"));
        assert_eq!(schema.params, ["id", "line"]);
        let json = Value::Object((*schema.json).clone());
        assert_eq!(json["required"], json!(["id", "line", "input", "replay_key"]));
        assert_eq!(json["additionalProperties"], false);
        assert_eq!(json["properties"]["id"]["type"], "string");
        assert_eq!(json["properties"]["input"]["properties"]["quantity"]["type"], "integer");
        // The nested type's definition is at the top, where its `$ref` points.
        assert_eq!(json["properties"]["input"]["properties"]["address"]["$ref"], "#/$defs/Inner");
        assert_eq!(json["$defs"]["Inner"]["properties"]["line"]["type"], "string");
        assert!(json["properties"]["input"].get("$schema").is_none());
    }

    #[test]
    fn an_action_without_input_or_replay_has_only_its_path_parameters() {
        let schema = ToolSchema::new("a", "/files/{*rest}", None, None);
        assert_eq!(schema.params, ["rest"]);
        assert!(!schema.input && schema.replay.is_none());
        assert_eq!(Value::Object((*schema.json).clone())["required"], json!(["rest"]));
    }

    #[test]
    #[should_panic(expected = "has the name of a tool argument")]
    fn a_path_parameter_named_like_an_argument_is_refused_at_startup() {
        ToolSchema::new("a", "/x/{input}", None, None);
    }
}
