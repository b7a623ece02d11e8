//! Replay protection (`replay`): a single-use key in a header.
//!
//! Step 5 only reads the header; an answer that is refused later must not
//! burn the key. Step 10 claims it atomically, once every other check has
//! passed, just before the body runs. In between, an action with a custom
//! check asks whether the key is already used, since a first use may have
//! changed what the check sees (a captured payment is no longer
//! capturable), and the retry must still read 409.

use std::time::Duration;

use axum::http::request::Parts;

use super::{Refusal, Verdict};
use crate::store::ReplayStore;
use crate::{Code, Principal};

/// Step 5: the key in header `name`, scoped to the action and the caller,
/// so two callers (or two actions) never collide on a client-chosen key.
pub(crate) fn key(parts: &Parts, name: &str, action: &str, principal: Option<&Principal>) -> Verdict<String> {
    match header_value(parts, name) {
        Some(key) => {
            let principal = principal.map_or("", |p| p.id.as_str());
            Ok(format!("{action}\u{0}{principal}\u{0}{key}"))
        }
        None => Err(Refusal::detailed(
            Code::BadRequest,
            format!("This action needs a single-use `{name}` header of 1 to 255 visible ASCII characters."),
        )),
    }
}

/// Before a custom check: 409 if the key was already claimed. Claims nothing.
pub(crate) async fn unused(store: &dyn ReplayStore, key: &str) -> Verdict {
    if store.is_claimed(key).await? {
        Err(Refusal::code(Code::Replayed))
    } else {
        Ok(())
    }
}

/// Step 10: claims the key atomically; 409 if another request did first.
pub(crate) async fn claim(store: &dyn ReplayStore, key: &str, ttl: Duration) -> Verdict {
    if store.claim(key, ttl).await? {
        Ok(())
    } else {
        Err(Refusal::code(Code::Replayed))
    }
}

/// The header's value, if exactly one well-formed one was sent.
fn header_value(parts: &Parts, name: &str) -> Option<String> {
    let mut values = parts.headers.get_all(name).iter();
    let (Some(value), None) = (values.next(), values.next()) else { return None };
    let bytes = value.as_bytes();
    let ok = (1..=255).contains(&bytes.len()) && bytes.iter().all(|b| b.is_ascii_graphic());
    ok.then(|| String::from_utf8_lossy(bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(values: &[&str]) -> Parts {
        let mut request = Request::builder();
        for value in values {
            request = request.header("idempotency-key", *value);
        }
        request.body(()).unwrap().into_parts().0
    }

    #[test]
    fn one_well_formed_header_is_a_key_scoped_to_action_and_caller() {
        let alice = Principal::user("alice", "acme", ["customer"]);
        let key = key(&parts(&["k-1"]), "idempotency-key", "capture", Some(&alice)).unwrap();
        assert_eq!(key, "capture\u{0}alice\u{0}k-1");
    }

    #[test]
    fn missing_repeated_or_malformed_headers_are_bad_requests() {
        let long = "k".repeat(256);
        for values in [&[][..], &["a", "b"], &[""], &["has space"], &[long.as_str()]] {
            let verdict = key(&parts(values), "idempotency-key", "capture", None);
            assert!(matches!(verdict, Err(Refusal::Denied(d)) if d.code == Code::BadRequest), "{values:?}");
        }
    }
}
