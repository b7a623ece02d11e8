//! The claims of the credential that authenticated a principal.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The claims of a principal's credential (a JWT's payload), for custom
/// checks and action bodies: `auth.principal().claims.get_str("environment")`.
///
/// Empty for credentials that carry none (API keys, cookie sessions), unless
/// the app stores some with them. Never the token itself: only what it
/// said, after its signature was verified. Credential binding (`bind(...)`)
/// and step-up (`acr = [...]`) read them.
///
/// # Example
///
/// ```
/// use guard_runtime::Claims;
///
/// let claims: Claims = [("environment", "production")].into_iter().collect();
/// assert_eq!(claims.get_str("environment"), Some("production"));
/// assert_eq!(claims.get_str("ref"), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Claims(BTreeMap<String, serde_json::Value>);

impl Claims {
    /// No claims.
    pub fn new() -> Self {
        Claims::default()
    }

    /// The claim `name`, if present.
    pub fn get(&self, name: &str) -> Option<&serde_json::Value> {
        self.0.get(name)
    }

    /// The claim `name`, if present and a string.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(serde_json::Value::as_str)
    }

    /// Whether there are no claims.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every claim, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &serde_json::Value)> {
        self.0.iter().map(|(name, value)| (name.as_str(), value))
    }

    /// Sets the claim `name`.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<serde_json::Value>) {
        self.0.insert(name.into(), value.into());
    }

    /// The issuer (`iss`) that signed the credential.
    pub fn issuer(&self) -> Option<&str> {
        self.get_str("iss")
    }

    /// The RFC 8693 delegation chain: the `sub` of the `act` claim (the
    /// party acting now), then of its nested `act` (who acted before it),
    /// and so on. Empty when nobody acts for the subject.
    pub fn act_chain(&self) -> Vec<String> {
        let mut chain = Vec::new();
        let mut act = self.get("act");
        // Bounded: a token is at most 8 KiB, but a chain longer than this is
        // not a delegation anyone meant.
        while let Some(serde_json::Value::Object(actor)) = act {
            if chain.len() == 32 {
                break;
            }
            match actor.get("sub").and_then(serde_json::Value::as_str) {
                Some(sub) => chain.push(sub.to_owned()),
                None => break,
            }
            act = actor.get("act");
        }
        chain
    }
}

impl From<BTreeMap<String, serde_json::Value>> for Claims {
    fn from(map: BTreeMap<String, serde_json::Value>) -> Self {
        Claims(map)
    }
}

impl<K: Into<String>, V: Into<serde_json::Value>> FromIterator<(K, V)> for Claims {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Claims(iter.into_iter().map(|(name, value)| (name.into(), value.into())).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::Claims;
    use serde_json::json;

    fn claims(value: serde_json::Value) -> Claims {
        serde_json::from_value(value).expect("claims")
    }

    #[test]
    fn typed_getters_read_what_is_there() {
        let c = claims(json!({"iss": "https://id.example", "environment": "prod", "n": 3}));
        assert_eq!(c.issuer(), Some("https://id.example"));
        assert_eq!(c.get_str("environment"), Some("prod"));
        assert_eq!(c.get_str("n"), None, "not a string");
        assert_eq!(c.get("n"), Some(&json!(3)));
        assert!(!c.is_empty());
        assert!(Claims::new().is_empty());
    }

    #[test]
    fn the_act_chain_lists_the_current_actor_first() {
        let c = claims(json!({"sub": "alice", "act": {"sub": "agent-1", "act": {"sub": "agent-0"}}}));
        assert_eq!(c.act_chain(), ["agent-1", "agent-0"]);
        assert!(claims(json!({"sub": "alice"})).act_chain().is_empty());
        assert!(claims(json!({"act": "agent"})).act_chain().is_empty(), "not an object");
    }
}
