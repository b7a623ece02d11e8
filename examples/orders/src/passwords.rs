//! Password hashing with argon2id (OWASP parameters: 19 MiB, 2 passes, 1
//! lane), off the async threads because it is deliberately slow.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use guard_runtime::StoreError;

/// Hashes `password` into a PHC string with a fresh random salt.
pub async fn hash(password: String) -> Result<String, StoreError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| StoreError::new("password hashing", e.to_string()))
    })
    .await
    .map_err(|e| StoreError::new("password hashing", e))?
}

/// Whether `password` matches `phc`. `None` (unknown user) is checked
/// against a dummy hash so the answer takes as long as for a real user:
/// timing cannot tell which usernames exist.
pub async fn verify(password: String, phc: Option<String>) -> Result<bool, StoreError> {
    let known = phc.is_some();
    let phc = match phc {
        Some(phc) => phc,
        None => dummy_hash().await?,
    };
    let matches = tokio::task::spawn_blocking(move || {
        // A stored hash that does not parse verifies as "no": fail closed.
        Argon2::default().verify_password(password.as_bytes(), phc.as_str()).is_ok()
    })
    .await
    .map_err(|e| StoreError::new("password hashing", e))?;
    Ok(known && matches)
}

/// A hash of a random secret, made once with the same parameters as real ones.
async fn dummy_hash() -> Result<String, StoreError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return Ok(h.clone());
    }
    let made = hash(guard_runtime::authn::random_secret()?).await?;
    Ok(DUMMY.get_or_init(|| made).clone())
}

/// Makes the dummy hash at startup, so the first unknown-user login is not
/// faster or slower than the rest.
pub async fn warm_up() -> Result<(), StoreError> {
    dummy_hash().await.map(drop)
}
