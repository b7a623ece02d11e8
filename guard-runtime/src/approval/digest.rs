//! The digest an approval is bound to: SHA-256 of the input's canonical
//! JSON, so the retry must send the input that was approved, field for
//! field, however its keys are ordered or spaced.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// SHA-256 of `input` as canonical JSON, in lowercase hex.
///
/// Canonical: the input as its type serializes it (so what the action
/// receives, not the bytes the client sent), with every object's keys
/// sorted and no whitespace. Strings and numbers are written as
/// `serde_json` writes them, which is one form per value.
pub(crate) fn of<T: Serialize + ?Sized>(input: &T) -> Result<String, serde_json::Error> {
    let value = serde_json::to_value(input)?;
    let mut out = Vec::new();
    canonical(&value, &mut out)?;
    Ok(crate::hex::hex(&Sha256::digest(&out)))
}

/// Writes `value` with sorted keys (whatever order `serde_json`'s map
/// keeps: a dependency turning on `preserve_order` must not change digests).
fn canonical(value: &Value, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, key)?;
                out.push(b':');
                canonical(value, out)?;
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(item, out)?;
            }
            out.push(b']');
        }
        scalar => serde_json::to_writer(&mut *out, scalar)?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn key_order_does_not_matter_and_every_value_does() {
        let a: HashMap<&str, Value> = [("b", Value::from(1)), ("a", Value::from("x"))].into();
        let b: HashMap<&str, Value> = [("a", Value::from("x")), ("b", Value::from(1))].into();
        assert_eq!(of(&a).unwrap(), of(&b).unwrap());
        let c: HashMap<&str, Value> = [("a", Value::from("x")), ("b", Value::from(2))].into();
        assert_ne!(of(&a).unwrap(), of(&c).unwrap());
        assert_eq!(of(&a).unwrap().len(), 64);
    }

    #[test]
    fn the_canonical_form_is_sorted_and_compact() {
        let value = serde_json::json!({"z": [1, {"y": null, "x": true}], "a": "é\n"});
        let mut out = Vec::new();
        canonical(&value, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), r#"{"a":"é\n","z":[1,{"x":true,"y":null}]}"#);
    }
}
