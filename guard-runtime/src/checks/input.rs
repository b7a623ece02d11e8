//! Step 7: strict JSON input: media type, size limit, duplicate keys,
//! trailing data, no coercion, and no field the input type does not know.

use std::borrow::Cow;
use std::fmt;

use axum::body::Body;
use axum::http::request::Parts;
use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::Serialize;
use serde_json::{Map, Value};

use super::body::{self, InputError};
use crate::Code;

/// Decodes the body as `T`, or says why not.
pub(crate) async fn decode_json<T>(parts: &Parts, body: Body, limit: usize) -> Result<T, InputError>
where
    T: DeserializeOwned + Serialize,
{
    if !body::has_media_type(parts, "application/json") {
        return Err((
            Code::UnsupportedMediaType,
            "The request body must be sent as `Content-Type: application/json`.".into(),
        ));
    }
    let bytes = body::read(parts, body, limit).await?;
    let value = parse_document(&bytes)?;
    decode_known::<T>(&value)
}

/// Deserializes `value` as `T`, refusing any field `T` does not read.
///
/// Fields are found unknown while deserializing (`serde_ignored` reports
/// every value the type skips), so a `#[serde(alias)]` or
/// `skip_serializing_if` field is known, and a client-sent value for a
/// `#[serde(skip_deserializing)]` field is refused rather than dropped.
///
/// `#[serde(flatten)]` hides its leftovers from the deserializer: serde
/// buffers the keys the outer type does not name, hands them to the
/// flattened types, and drops what none of them took without a word
/// (serde-rs/serde#2312). So the keys `T` does not serialize back are then
/// probed one by one: a key whose value can be replaced by one no type
/// accepts, with no error and no change in what `T` keeps, is read by
/// nothing: unknown.
fn decode_known<T: DeserializeOwned + Serialize>(value: &Value) -> Result<T, InputError> {
    let mut unknown = None;
    let input: T = serde_ignored::deserialize(value, |path| {
        unknown.get_or_insert_with(|| path.to_string());
    })
    .map_err(invalid)?;
    if let Some(field) = unknown {
        return Err(unknown_field(&field));
    }
    let kept = serde_json::to_value(&input).map_err(invalid)?;
    let mut suspects = Vec::new();
    not_kept(value, &kept, &mut Vec::new(), &mut suspects);
    if suspects.len() > MAX_PROBES {
        return Err((Code::InvalidInput, "too many fields that the input does not keep".into()));
    }
    for path in suspects {
        if !changes_anything::<T>(value, &path, &kept) {
            return Err(unknown_field(&display(&path)));
        }
    }
    Ok(input)
}

/// At most this many keys are probed (each probe decodes the whole body
/// again); a body with more is refused.
const MAX_PROBES: usize = 16;

fn invalid(e: impl fmt::Display) -> InputError {
    (Code::InvalidInput, Cow::Owned(e.to_string()))
}

fn unknown_field(field: &str) -> InputError {
    (Code::InvalidInput, Cow::Owned(format!("unknown field `{field}`")))
}

/// One step into a JSON document.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

/// The paths of the keys sent in `sent` that `kept` (the input serialized
/// back) lacks, at every depth.
fn not_kept(sent: &Value, kept: &Value, at: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    match (sent, kept) {
        (Value::Object(sent), Value::Object(kept)) => {
            for (key, value) in sent {
                at.push(Step::Key(key.clone()));
                match kept.get(key) {
                    None => out.push(at.clone()),
                    Some(kept_value) => not_kept(value, kept_value, at, out),
                }
                at.pop();
            }
        }
        (Value::Array(sent), Value::Array(kept)) => {
            for (i, (s, k)) in sent.iter().zip(kept).enumerate() {
                at.push(Step::Index(i));
                not_kept(s, k, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

/// A value no input type reads without an error or a visible change.
fn probe_value() -> Value {
    let mut probe = Map::new();
    probe.insert("\u{0}guard-probe".to_owned(), Value::Array(vec![Value::Null, Value::Bool(true)]));
    Value::Object(probe)
}

/// Whether replacing the value at `path` with [`probe_value`] makes `T`
/// fail or keep something else than `kept`: whether anything reads it.
fn changes_anything<T: DeserializeOwned + Serialize>(value: &Value, path: &[Step], kept: &Value) -> bool {
    let mut probed = value.clone();
    let Some(slot) = path.iter().try_fold(&mut probed, |at, step| match step {
        Step::Key(key) => at.get_mut(key.as_str()),
        Step::Index(i) => at.get_mut(*i),
    }) else {
        return true; // cannot happen: the path came from this document
    };
    *slot = probe_value();
    match T::deserialize(&probed).map(|again| serde_json::to_value(&again)) {
        Ok(Ok(again)) => again != *kept,
        _ => true,
    }
}

/// `a.b.0.c`, as the refusal names the field (the form `serde_ignored`
/// reports, so a field has one name whichever way it was found).
fn display(path: &[Step]) -> String {
    let steps: Vec<String> = path
        .iter()
        .map(|step| match step {
            Step::Key(key) => key.clone(),
            Step::Index(i) => i.to_string(),
        })
        .collect();
    steps.join(".")
}

/// Parses one JSON document, refusing duplicate keys and trailing data.
fn parse_document(bytes: &[u8]) -> Result<Value, InputError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value =
        StrictValue.deserialize(&mut de).map_err(|e| (Code::BadRequest, Cow::Owned(format!("malformed JSON: {e}"))))?;
    de.end().map_err(|e| (Code::BadRequest, Cow::Owned(format!("malformed JSON: {e}"))))?;
    Ok(value)
}

/// A `serde_json::Value` seed that fails on a duplicate object key, where
/// `serde_json` would keep the last one silently.
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate key `{key}`")));
            }
            let value = map.next_value_seed(StrictValue)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// The step's verdict: the decoded input, or the refusal of [`decode_json`].
pub(crate) async fn check<T>(parts: &Parts, body: Body, limit: usize) -> super::Verdict<T>
where
    T: DeserializeOwned + Serialize,
{
    decode_json(parts, body, limit).await.map_err(|(code, detail)| super::Refusal::detailed(code, detail))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct Inner {
        street: String,
    }

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct Extra {
        note: String,
    }

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct Input {
        quantity: u32,
        address: Inner,
        #[serde(flatten)]
        extra: Extra,
    }

    async fn decode(content_type: Option<&str>, body: &'static str) -> Result<Input, InputError> {
        let mut req = Request::post("/");
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let (parts, body) = req.body(Body::from(body)).unwrap().into_parts();
        decode_json::<Input>(&parts, body, 256).await
    }

    const GOOD: &str = r#"{"quantity":2,"address":{"street":"x"},"note":"n"}"#;

    #[tokio::test]
    async fn accepts_json_in_any_case_with_parameters() {
        for ct in ["application/json", "Application/JSON; charset=utf-8", "application/json;charset=UTF-8"] {
            assert!(decode(Some(ct), GOOD).await.is_ok(), "{ct}");
        }
    }

    #[tokio::test]
    async fn refusals_have_the_right_codes() {
        let cases: &[(Option<&str>, &'static str, Code)] = &[
            (None, GOOD, Code::UnsupportedMediaType),
            (Some("text/plain"), GOOD, Code::UnsupportedMediaType),
            (Some("application/jsonx"), GOOD, Code::UnsupportedMediaType),
            (Some("application/json"), "{", Code::BadRequest),
            (
                Some("application/json"),
                r#"{"quantity":2,"quantity":3,"address":{"street":"x"},"note":"n"}"#,
                Code::BadRequest,
            ),
            (Some("application/json"), r#"{"quantity":2,"address":{"street":"x"},"note":"n"} {}"#, Code::BadRequest),
            (Some("application/json"), r#"{"quantity":"2","address":{"street":"x"},"note":"n"}"#, Code::InvalidInput),
            (Some("application/json"), r#"{"quantity":2.0,"address":{"street":"x"},"note":"n"}"#, Code::InvalidInput),
            (Some("application/json"), r#"{"quantity":true,"address":{"street":"x"},"note":"n"}"#, Code::InvalidInput),
            (
                Some("application/json"),
                r#"{"quantity":2,"address":{"street":"x","owner":"eve"},"note":"n"}"#,
                Code::InvalidInput,
            ),
            (
                Some("application/json"),
                r#"{"quantity":2,"address":{"street":"x"},"note":"n","tenant":"globex"}"#,
                Code::InvalidInput,
            ),
        ];
        for (ct, body, code) in cases {
            assert_eq!(decode(*ct, body).await.unwrap_err().0, *code, "{body}");
        }
    }

    fn known<T: DeserializeOwned + Serialize>(body: &str) -> Result<T, InputError> {
        decode_known::<T>(&parse_document(body.as_bytes()).expect("a JSON document"))
    }

    #[track_caller]
    fn assert_unknown<T: DeserializeOwned + Serialize + fmt::Debug>(body: &str, field: &str) {
        let (code, detail) = known::<T>(body).expect_err(body);
        assert_eq!(code, Code::InvalidInput, "{body}");
        assert_eq!(detail, format!("unknown field `{field}`"), "{body}");
    }

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct Shapes {
        #[serde(alias = "qty")]
        quantity: u32,
        /// Set by the server, never by the client.
        #[serde(skip_deserializing, default)]
        owner: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        tag: String,
    }

    #[test]
    fn a_value_sent_for_a_skip_deserializing_field_is_refused_not_dropped() {
        assert_unknown::<Shapes>(r#"{"quantity":2,"owner":"eve"}"#, "owner");
        assert_eq!(known::<Shapes>(r#"{"quantity":2}"#).expect("ok").owner, "");
    }

    #[test]
    fn an_alias_is_a_known_field() {
        for body in [r#"{"qty":2}"#, r#"{"quantity":2}"#] {
            assert_eq!(known::<Shapes>(body).expect(body).quantity, 2, "{body}");
        }
    }

    #[test]
    fn skip_serializing_if_fields_are_known_even_when_left_out_of_the_output() {
        for body in [r#"{"quantity":2,"note":null}"#, r#"{"quantity":2,"tag":""}"#, r#"{"quantity":2,"note":"n"}"#] {
            assert!(known::<Shapes>(body).is_ok(), "{body}");
        }
    }

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct Flat {
        id: u32,
        #[serde(flatten)]
        meta: Meta,
    }

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct Meta {
        #[serde(alias = "label")]
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        #[serde(default)]
        lines: Vec<Inner>,
    }

    #[test]
    fn unknown_fields_are_refused_through_flatten_and_known_ones_kept() {
        for body in
            [r#"{"id":1,"label":"x"}"#, r#"{"id":1,"name":"x","note":null}"#, r#"{"id":1,"name":"x","note":"n"}"#]
        {
            assert!(known::<Flat>(body).is_ok(), "{body}");
        }
        assert_unknown::<Flat>(r#"{"id":1,"name":"x","owner":"eve"}"#, "owner");
        assert_unknown::<Flat>(r#"{"id":1,"name":"x","owner":null}"#, "owner");
        assert_unknown::<Input>(r#"{"quantity":2,"address":{"street":"x"},"note":"n","tenant":"globex"}"#, "tenant");
        // Inside a flattened type, nested: found while deserializing.
        assert_unknown::<Flat>(r#"{"id":1,"name":"x","lines":[{"street":"s","owner":"eve"}]}"#, "lines.0.owner");
    }

    #[test]
    fn nested_unknown_fields_are_named_by_their_path() {
        assert_unknown::<Input>(r#"{"quantity":2,"address":{"street":"x","owner":"eve"},"note":"n"}"#, "address.owner");
        assert!(known::<Input>(GOOD).is_ok());
    }

    #[test]
    fn a_body_with_too_many_keys_to_probe_is_refused() {
        let keys: String = (0..=MAX_PROBES).map(|i| format!(r#","k{i}":1"#)).collect();
        let body = format!(r#"{{"id":1,"name":"x"{keys}}}"#);
        assert_eq!(known::<Flat>(&body).expect_err("refused").0, Code::InvalidInput);
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_413_with_or_without_a_declared_length() {
        let big = format!(r#"{{"quantity":2,"address":{{"street":"{}"}},"note":"n"}}"#, "x".repeat(400));
        // No Content-Length header: the limit is enforced while reading.
        let (parts, body) = Request::post("/")
            .header("content-type", "application/json")
            .body(Body::from(big.clone()))
            .unwrap()
            .into_parts();
        assert_eq!(decode_json::<Input>(&parts, body, 256).await.unwrap_err().0, Code::PayloadTooLarge);
        let (parts, body) = Request::post("/")
            .header("content-type", "application/json")
            .header("content-length", big.len())
            .body(Body::from(big))
            .unwrap()
            .into_parts();
        assert_eq!(decode_json::<Input>(&parts, body, 256).await.unwrap_err().0, Code::PayloadTooLarge);
    }
}
