//! What a credential says about its holder beyond who it is: the claims of
//! a JWT (a CI job's `environment`, `repository`, `ref`; the `acr` of the
//! user's authentication). Credential binding (`bind(...)`), step-up
//! (`acr = [...]`) and custom checks read them; sessions and API keys
//! carry none.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A credential's claims, by name.
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
pub struct Claims(BTreeMap<String, Value>);

impl Claims {
    /// No claims.
    pub fn new() -> Self {
        Self::default()
    }

    /// The claim `name`, as the credential carried it.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// The claim `name`, if it is a string.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    /// Sets the claim `name`.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<Value>) {
        self.0.insert(name.into(), value.into());
    }

    /// Whether there are none (sessions and API keys).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Claims {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Claims(iter.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}
