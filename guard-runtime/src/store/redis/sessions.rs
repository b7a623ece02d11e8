//! [`SessionStore`] on Redis.

use std::sync::LazyLock;
use std::time::{Duration, SystemTime};

use ::redis::Script;

use super::{decode, millis, Conn};
use crate::authn::{SessionRecord, SessionStore};
use crate::{StoreError, StoreFuture};

const WHAT: &str = "session store";

/// Saves a session unless it was revoked (a re-authentication racing a
/// logout cannot bring it back) or belongs to another principal.
///
/// KEYS: session, principal set, tombstone. ARGV: JSON, ttl ms, id hash,
/// principal id.
static SAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
local old = redis.call('GET', KEYS[1])
if old then
  local ok, rec = pcall(cjson.decode, old)
  if not ok or type(rec) ~= 'table' or type(rec.principal) ~= 'table' then
    return redis.error_reply('undecodable stored session')
  end
  if rec.principal.id ~= ARGV[4] then return 0 end
end
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
redis.call('SADD', KEYS[2], ARGV[3])
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1
",
    )
});

/// Deletes one session and leaves a tombstone for its remaining lifetime.
///
/// KEYS: session, tombstone.
static REVOKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('SET', KEYS[2], '1', 'PX', ttl) end
return redis.call('DEL', KEYS[1])
",
    )
});

/// Deletes every session in a principal's set but the kept one, atomically.
/// Entries that no longer exist, or now belong to someone else, leave the
/// set; entries that do not decode are deleted too (they could only ever
/// answer errors, and revoking is the safe side).
///
/// KEYS: principal set. ARGV: prefix, principal id, kept id hash or ''.
static REVOKE_PRINCIPAL: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local revoked = 0
for _, hash in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if hash ~= ARGV[3] then
    local key = ARGV[1] .. 'session:' .. hash
    local value = redis.call('GET', key)
    local mine = false
    if value then
      local ok, rec = pcall(cjson.decode, value)
      mine = not ok or type(rec) ~= 'table' or type(rec.principal) ~= 'table' or rec.principal.id == ARGV[2]
    end
    if mine then
      local ttl = redis.call('PTTL', key)
      if ttl > 0 then redis.call('SET', ARGV[1] .. 'revoked-session:' .. hash, '1', 'PX', ttl) end
      redis.call('DEL', key)
      revoked = revoked + 1
    end
    redis.call('SREM', KEYS[1], hash)
  end
end
return revoked
",
    )
});

/// Sessions in Redis, shared by every instance: a logout or a
/// revocation on one instance holds on all of them at once.
///
/// Each session is a JSON [`SessionRecord`] under its id hash, expiring
/// with the session; a per-principal set of id hashes serves
/// [`SessionStore::revoke_principal`]. A revoked session leaves a tombstone
/// until it would have expired, so a save racing the revocation (a
/// re-authentication) cannot bring it back. Made by
/// [`RedisStores::sessions`](super::RedisStores::sessions).
#[derive(Clone, Debug)]
pub struct RedisSessionStore {
    conn: Conn,
}

impl RedisSessionStore {
    pub(super) fn new(conn: Conn) -> Self {
        RedisSessionStore { conn }
    }
}

impl SessionStore for RedisSessionStore {
    fn load<'a>(&'a self, id_hash: &'a str) -> StoreFuture<'a, Result<Option<SessionRecord>, StoreError>> {
        StoreFuture::new(async move {
            let key = self.conn.key("session", id_hash);
            let found: Option<Vec<u8>> = self
                .conn
                .run(WHAT, |mut c| async move { ::redis::cmd("GET").arg(&key).query_async(&mut c).await })
                .await?;
            let Some(json) = found else { return Ok(None) };
            let record: SessionRecord = decode(WHAT, &json)?;
            Ok(Some(record).filter(|r| r.expires_at > SystemTime::now()))
        })
    }

    fn save<'a>(&'a self, id_hash: &'a str, record: SessionRecord) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            let json = serde_json::to_vec(&record).map_err(|e| StoreError::new(WHAT, e))?;
            let ttl = record.expires_at.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO);
            let keys = [
                self.conn.key("session", id_hash),
                self.conn.key("principal-sessions", &record.principal.id),
                self.conn.key("revoked-session", id_hash),
            ];
            let principal = record.principal.id.as_str();
            self.conn
                .run(WHAT, |mut c| async move {
                    SAVE.key(&keys[..])
                        .arg(json)
                        .arg(millis(ttl))
                        .arg(id_hash)
                        .arg(principal)
                        .invoke_async::<i64>(&mut c)
                        .await
                })
                .await?;
            Ok(())
        })
    }

    fn revoke<'a>(&'a self, id_hash: &'a str) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            let keys = [self.conn.key("session", id_hash), self.conn.key("revoked-session", id_hash)];
            self.conn.run(WHAT, |mut c| async move { REVOKE.key(&keys[..]).invoke_async::<i64>(&mut c).await }).await?;
            Ok(())
        })
    }

    fn revoke_principal<'a>(
        &'a self,
        principal_id: &'a str,
        keep: Option<&'a str>,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            let set = self.conn.key("principal-sessions", principal_id);
            let prefix: &str = &self.conn.prefix;
            self.conn
                .run(WHAT, |mut c| async move {
                    REVOKE_PRINCIPAL
                        .key(&set)
                        .arg(prefix)
                        .arg(principal_id)
                        .arg(keep.unwrap_or(""))
                        .invoke_async::<i64>(&mut c)
                        .await
                })
                .await?;
            Ok(())
        })
    }
}
