//! guard's session and token stores on SQLite, so that logouts, password
//! changes and key rotations survive a restart.

use std::time::{SystemTime, UNIX_EPOCH};

use guard_runtime::authn::{SessionRecord, SessionStore, TokenRecord, TokenStore};
use guard_runtime::{CallerKind, StoreError, StoreFuture};
use sqlx::{Row, SqlitePool};

use crate::principals;

fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn session_error(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
    StoreError::new("session store", e)
}

fn token_error(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
    StoreError::new("token store", e)
}

/// Sessions keyed by the SHA-256 of the cookie value, as guard hands them over.
#[derive(Clone, Debug)]
pub struct SqliteSessionStore {
    pool: SqlitePool,
}

impl SqliteSessionStore {
    pub fn new(pool: SqlitePool) -> Self {
        SqliteSessionStore { pool }
    }
}

impl SessionStore for SqliteSessionStore {
    fn load<'a>(&'a self, id_hash: &'a str) -> StoreFuture<'a, Result<Option<SessionRecord>, StoreError>> {
        StoreFuture::new(async move {
            let row = sqlx::query("SELECT record FROM sessions WHERE id_hash = ? AND revoked = 0 AND expires_at > ?")
                .bind(id_hash)
                .bind(unix(SystemTime::now()))
                .fetch_optional(&self.pool)
                .await
                .map_err(session_error)?;
            let Some(row) = row else { return Ok(None) };
            let json: String = row.try_get("record").map_err(session_error)?;
            let record: SessionRecord = serde_json::from_str(&json).map_err(session_error)?;
            Ok((record.expires_at > SystemTime::now()).then_some(record))
        })
    }

    fn save<'a>(&'a self, id_hash: &'a str, record: SessionRecord) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            let json = serde_json::to_string(&record).map_err(session_error)?;
            let now = unix(SystemTime::now());
            // Sessions are saved at login and re-authentication only: sweep then.
            sqlx::query("DELETE FROM sessions WHERE expires_at <= ?")
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(session_error)?;
            // `save` both creates (login) and replaces (re-authentication).
            // A revoked row is never replaced: a re-authentication racing a
            // logout or password change cannot bring the session back.
            sqlx::query(
                "INSERT INTO sessions (id_hash, principal_id, record, expires_at) VALUES (?, ?, ?, ?) \
                 ON CONFLICT(id_hash) DO UPDATE SET record = excluded.record, expires_at = excluded.expires_at \
                 WHERE sessions.revoked = 0 AND sessions.principal_id = excluded.principal_id",
            )
            .bind(id_hash)
            .bind(&record.principal.id)
            .bind(json)
            .bind(unix(record.expires_at))
            .execute(&self.pool)
            .await
            .map_err(session_error)?;
            Ok(())
        })
    }

    fn revoke<'a>(&'a self, id_hash: &'a str) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            sqlx::query("UPDATE sessions SET revoked = 1 WHERE id_hash = ?")
                .bind(id_hash)
                .execute(&self.pool)
                .await
                .map_err(session_error)?;
            Ok(())
        })
    }

    fn revoke_principal<'a>(
        &'a self,
        principal_id: &'a str,
        keep: Option<&'a str>,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            sqlx::query("UPDATE sessions SET revoked = 1 WHERE principal_id = ? AND id_hash IS NOT ?")
                .bind(principal_id)
                .bind(keep)
                .execute(&self.pool)
                .await
                .map_err(session_error)?;
            Ok(())
        })
    }
}

/// API keys and agent tokens, keyed by the SHA-256 of the secret. A row
/// names its principal; the principal itself (scopes, an agent's user and
/// that user's roles) is read fresh from its table on every lookup.
#[derive(Clone, Debug)]
pub struct SqliteTokenStore {
    pool: SqlitePool,
}

impl SqliteTokenStore {
    pub fn new(pool: SqlitePool) -> Self {
        SqliteTokenStore { pool }
    }
}

impl TokenStore for SqliteTokenStore {
    fn find<'a>(&'a self, secret_hash: &'a str) -> StoreFuture<'a, Result<Option<TokenRecord>, StoreError>> {
        StoreFuture::new(async move {
            let row = sqlx::query("SELECT credential_id, kind, name FROM credentials WHERE secret_hash = ?")
                .bind(secret_hash)
                .fetch_optional(&self.pool)
                .await
                .map_err(token_error)?;
            let Some(row) = row else { return Ok(None) };
            let (credential_id, kind, name): (String, String, String) = (
                row.try_get("credential_id").map_err(token_error)?,
                row.try_get("kind").map_err(token_error)?,
                row.try_get("name").map_err(token_error)?,
            );
            let principal = match kind.as_str() {
                "service" => principals::service(&self.pool, &name).await,
                "agent" => principals::agent(&self.pool, &name).await,
                _ => Ok(None), // users log in with passwords, never with keys
            }
            .map_err(token_error)?;
            Ok(principal.map(|mut principal| {
                principal.credential_id = credential_id;
                TokenRecord { principal, secret_hash: secret_hash.to_owned() }
            }))
        })
    }

    fn insert(&self, record: TokenRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        StoreFuture::new(async move {
            let kind = match record.principal.kind {
                CallerKind::Service => "service",
                CallerKind::Agent => "agent",
                CallerKind::User => return Err(token_error("users cannot hold bearer keys")),
            };
            sqlx::query("INSERT INTO credentials (secret_hash, credential_id, kind, name) VALUES (?, ?, ?, ?)")
                .bind(&record.secret_hash)
                .bind(&record.principal.credential_id)
                .bind(kind)
                .bind(&record.principal.id)
                .execute(&self.pool)
                .await
                .map_err(token_error)?;
            Ok(())
        })
    }

    fn revoke<'a>(&'a self, credential_id: &'a str) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            sqlx::query("DELETE FROM credentials WHERE credential_id = ?")
                .bind(credential_id)
                .execute(&self.pool)
                .await
                .map_err(token_error)?;
            Ok(())
        })
    }
}
