//! Step 7: strict JSON input: media type, size limit, duplicate keys,
//! trailing data, no coercion, and no field the input type does not know.

use std::borrow::Cow;
use std::fmt;

use axum::body::Body;
use axum::http::{header, request::Parts};
use http_body_util::BodyExt;
use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::Code;

/// A refusal of the input step: its code and a client-safe detail.
pub(crate) type InputError = (Code, Cow<'static, str>);

/// Decodes the body as `T`, or says why not.
pub(crate) async fn decode_json<T>(parts: &Parts, body: Body, limit: usize) -> Result<T, InputError>
where
    T: DeserializeOwned + Serialize,
{
    if !is_json(parts) {
        return Err((
            Code::UnsupportedMediaType,
            "The request body must be sent as `Content-Type: application/json`.".into(),
        ));
    }
    let declared =
        parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let mut body = body;
    if declared.is_some_and(|len| len > limit as u64) {
        discard(body, DISCARD_CAP).await;
        return Err(too_large(limit));
    }
    // Read frame by frame: this also catches chunked bodies that declare no length.
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { return Err((Code::BadRequest, "The request body could not be read.".into())) };
        let Ok(data) = frame.into_data() else { continue };
        if bytes.len() + data.len() > limit {
            discard(body, DISCARD_CAP).await;
            return Err(too_large(limit));
        }
        bytes.extend_from_slice(&data);
    }
    let value = parse_document(&bytes)?;
    let input = T::deserialize(&value).map_err(|e| (Code::InvalidInput, Cow::Owned(e.to_string())))?;
    // `deny_unknown_fields` does not hold through `#[serde(flatten)]`, so
    // compare what was sent with what the type keeps, at every depth.
    let kept = serde_json::to_value(&input).map_err(|e| (Code::InvalidInput, Cow::Owned(e.to_string())))?;
    if let Some(field) = first_unknown_field(&value, &kept, "") {
        return Err((Code::InvalidInput, Cow::Owned(format!("unknown field `{field}`"))));
    }
    Ok(input)
}

/// How much of a refused body is still read, and thrown away, before the
/// 413 goes out. A server that answers and closes while the client is still
/// sending makes most clients report a broken connection instead of the 413
/// (the "lingering close" of web servers). Past this, the connection closes.
const DISCARD_CAP: usize = 1024 * 1024;

/// Reads and drops up to `cap` more bytes of `body`.
async fn discard(mut body: Body, cap: usize) {
    let mut seen = 0;
    while let Some(Ok(frame)) = body.frame().await {
        if let Ok(data) = frame.into_data() {
            seen += data.len();
            if seen > cap {
                return;
            }
        }
    }
}

fn too_large(limit: usize) -> InputError {
    (Code::PayloadTooLarge, Cow::Owned(format!("The request body is over the {limit}-byte limit.")))
}

/// `application/json`, in any letter case, with or without parameters.
fn is_json(parts: &Parts) -> bool {
    let mut values = parts.headers.get_all(header::CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else { return false };
    let Ok(value) = value.to_str() else { return false };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
}

/// Parses one JSON document, refusing duplicate keys and trailing data.
fn parse_document(bytes: &[u8]) -> Result<Value, InputError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value =
        StrictValue.deserialize(&mut de).map_err(|e| (Code::BadRequest, Cow::Owned(format!("malformed JSON: {e}"))))?;
    de.end().map_err(|e| (Code::BadRequest, Cow::Owned(format!("malformed JSON: {e}"))))?;
    Ok(value)
}

fn first_unknown_field(sent: &Value, kept: &Value, at: &str) -> Option<String> {
    match (sent, kept) {
        (Value::Object(sent), Value::Object(kept)) => sent.iter().find_map(|(key, value)| {
            let path = if at.is_empty() { key.clone() } else { format!("{at}.{key}") };
            match kept.get(key) {
                None => Some(path),
                Some(kept_value) => first_unknown_field(value, kept_value, &path),
            }
        }),
        (Value::Array(sent), Value::Array(kept)) => {
            sent.iter().zip(kept).enumerate().find_map(|(i, (s, k))| first_unknown_field(s, k, &format!("{at}[{i}]")))
        }
        _ => None,
    }
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
