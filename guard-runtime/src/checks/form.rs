//! Step 7, for HTML forms: strict `application/x-www-form-urlencoded`
//! input, with the guarantees of the JSON input: the media type, the size
//! limit, no duplicate key (a form decoder would keep the first or the last
//! one silently), and no field the input type does not read.
//!
//! The hidden CSRF field ([`CSRF_FIELD`]) was checked in step 4 and is not
//! part of the input: it is left out before the type sees the form.

use std::borrow::Cow;
use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::body::{self, InputError};
use super::csrf::CSRF_FIELD;
use crate::Code;

/// The form media type, as browsers send it.
pub(crate) const FORM: &str = "application/x-www-form-urlencoded";

/// At most this many keys the type does not serialize back are probed (each
/// probe decodes the form again); a form with more is refused.
const MAX_PROBES: usize = 16;

/// The step's verdict: the decoded form, or the refusal of [`decode_form`].
pub(crate) async fn check<T>(parts: &Parts, body: Body, limit: usize) -> super::Verdict<T>
where
    T: DeserializeOwned + Serialize,
{
    decode_form(parts, body, limit).await.map_err(|(code, detail)| super::Refusal::detailed(code, detail))
}

/// Decodes the body as the form `T`, or says why not.
pub(crate) async fn decode_form<T>(parts: &Parts, body: Body, limit: usize) -> Result<T, InputError>
where
    T: DeserializeOwned + Serialize,
{
    if !body::has_media_type(parts, FORM) {
        return Err((
            Code::UnsupportedMediaType,
            "The request body must be sent as `Content-Type: application/x-www-form-urlencoded`.".into(),
        ));
    }
    let bytes = body::read(parts, body, limit).await?;
    decode_pairs(&bytes)
}

/// Decodes `key=value&…` as `T`: duplicate keys refused, the CSRF field
/// left out, and every other key read by `T`.
pub(crate) fn decode_pairs<T: DeserializeOwned + Serialize>(bytes: &[u8]) -> Result<T, InputError> {
    let mut sent = BTreeSet::new();
    let mut kept = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(bytes) {
        if key == CSRF_FIELD {
            continue;
        }
        if !sent.insert(key.clone().into_owned()) {
            return Err((Code::InvalidInput, Cow::Owned(format!("duplicate field `{key}`"))));
        }
        kept.append_pair(&key, &value);
    }
    let form = kept.finish();
    let mut unknown = None;
    let input: T = serde_ignored::deserialize(deserializer(&form), |path| {
        unknown.get_or_insert_with(|| path.to_string());
    })
    .map_err(invalid)?;
    if let Some(field) = unknown {
        return Err(unknown_field(&field));
    }
    // `#[serde(flatten)]` hides what it drops (see `input.rs`): a key the
    // input does not serialize back is probed by leaving it out. If the
    // input decodes to the same value without it, nothing read it.
    let kept = serde_json::to_value(&input).map_err(invalid)?;
    let suspects: Vec<&String> = sent.iter().filter(|key| kept.get(key.as_str()).is_none()).collect();
    if suspects.len() > MAX_PROBES {
        return Err((Code::InvalidInput, "too many fields that the input does not keep".into()));
    }
    for suspect in suspects {
        if !changes_anything::<T>(&form, suspect, &kept) {
            return Err(unknown_field(suspect));
        }
    }
    Ok(input)
}

fn deserializer(form: &str) -> serde_urlencoded::Deserializer<'_> {
    serde_urlencoded::Deserializer::new(form_urlencoded::parse(form.as_bytes()))
}

/// Whether leaving `key` out of `form` makes `T` fail or keep something else.
fn changes_anything<T: DeserializeOwned + Serialize>(form: &str, key: &str, kept: &Value) -> bool {
    let without: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form_urlencoded::parse(form.as_bytes()).filter(|(k, _)| k != key))
        .finish();
    match T::deserialize(deserializer(&without)).map(|again| serde_json::to_value(&again)) {
        Ok(Ok(again)) => again != *kept,
        _ => true,
    }
}

fn invalid(e: impl std::fmt::Display) -> InputError {
    (Code::InvalidInput, Cow::Owned(e.to_string()))
}

fn unknown_field(field: &str) -> InputError {
    (Code::InvalidInput, Cow::Owned(format!("unknown field `{field}`")))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct NewOrder {
        item: String,
        quantity: u32,
        #[serde(default)]
        note: Option<String>,
    }

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct Outer {
        name: String,
        #[serde(flatten)]
        inner: Inner,
    }

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct Inner {
        city: String,
    }

    fn code(result: Result<impl std::fmt::Debug, InputError>) -> (Code, String) {
        let (code, detail) = result.expect_err("refused");
        (code, detail.into_owned())
    }

    #[test]
    fn a_form_decodes_with_typed_values_and_without_its_csrf_field() {
        let input: NewOrder = decode_pairs(b"item=Tea+leaves&quantity=3&csrf_token=abc").unwrap();
        assert_eq!(input, NewOrder { item: "Tea leaves".into(), quantity: 3, note: None });
    }

    #[test]
    fn duplicate_keys_are_refused_not_merged() {
        let (code, detail) = code(decode_pairs::<NewOrder>(b"item=tea&quantity=1&quantity=900"));
        assert_eq!((code, detail.as_str()), (Code::InvalidInput, "duplicate field `quantity`"));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let (code, detail) = code(decode_pairs::<NewOrder>(b"item=tea&quantity=1&owner=mallory"));
        assert_eq!((code, detail.as_str()), (Code::InvalidInput, "unknown field `owner`"));
    }

    #[test]
    fn unknown_fields_behind_flatten_are_refused_too() {
        let ok: Outer = decode_pairs(b"name=a&city=b").unwrap();
        assert_eq!(ok.inner.city, "b");
        let (code, detail) = code(decode_pairs::<Outer>(b"name=a&city=b&owner=mallory"));
        assert_eq!((code, detail.as_str()), (Code::InvalidInput, "unknown field `owner`"));
    }

    #[test]
    fn wrong_types_and_missing_fields_are_typed_errors() {
        assert_eq!(code(decode_pairs::<NewOrder>(b"item=tea&quantity=lots")).0, Code::InvalidInput);
        assert_eq!(code(decode_pairs::<NewOrder>(b"item=tea")).0, Code::InvalidInput);
    }
}
