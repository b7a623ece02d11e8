//! [`TokenStore`] on Redis.

use std::sync::LazyLock;

use ::redis::Script;

use super::{decode, Conn};
use crate::authn::{TokenRecord, TokenStore};
use crate::{StoreError, StoreFuture};

const WHAT: &str = "token store";

/// Stores a key and indexes it under its credential id.
///
/// KEYS: token, credential set. ARGV: JSON, secret hash.
static INSERT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
return 1
",
    )
});

/// Deletes every key of a credential id, atomically. Entries now stored
/// under another credential only leave the set; entries that do not decode
/// are deleted (they could only ever answer errors).
///
/// KEYS: credential set. ARGV: prefix, credential id.
static REVOKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local revoked = 0
for _, hash in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[1] .. 'token:' .. hash
  local value = redis.call('GET', key)
  if value then
    local ok, rec = pcall(cjson.decode, value)
    if not ok or type(rec) ~= 'table' or type(rec.principal) ~= 'table' or rec.principal.credential_id == ARGV[2] then
      redis.call('DEL', key)
      revoked = revoked + 1
    end
  end
  redis.call('SREM', KEYS[1], hash)
end
return revoked
",
    )
});

/// Hashed API keys and agent tokens in Redis, shared by every instance: a
/// key revoked or rotated on one instance stops working on all of them at
/// once.
///
/// Each key is a JSON [`TokenRecord`] under its secret hash; a set per
/// credential id (`record.principal.credential_id`) serves
/// [`TokenStore::revoke`]. Made by
/// [`RedisStores::tokens`](super::RedisStores::tokens).
#[derive(Clone, Debug)]
pub struct RedisTokenStore {
    conn: Conn,
}

impl RedisTokenStore {
    pub(super) fn new(conn: Conn) -> Self {
        RedisTokenStore { conn }
    }
}

impl TokenStore for RedisTokenStore {
    fn find<'a>(&'a self, secret_hash: &'a str) -> StoreFuture<'a, Result<Option<TokenRecord>, StoreError>> {
        StoreFuture::new(async move {
            let key = self.conn.key("token", secret_hash);
            let found: Option<Vec<u8>> = self
                .conn
                .run(WHAT, |mut c| async move { ::redis::cmd("GET").arg(&key).query_async(&mut c).await })
                .await?;
            found.map(|json| decode(WHAT, &json)).transpose()
        })
    }

    fn insert(&self, record: TokenRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        StoreFuture::new(async move {
            let json = serde_json::to_vec(&record).map_err(|e| StoreError::new(WHAT, e))?;
            let keys = [
                self.conn.key("token", &record.secret_hash),
                self.conn.key("credential-tokens", &record.principal.credential_id),
            ];
            let hash = record.secret_hash.as_str();
            self.conn
                .run(WHAT, |mut c| async move {
                    INSERT.key(&keys[..]).arg(json).arg(hash).invoke_async::<i64>(&mut c).await
                })
                .await?;
            Ok(())
        })
    }

    fn revoke<'a>(&'a self, credential_id: &'a str) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            let set = self.conn.key("credential-tokens", credential_id);
            let prefix: &str = &self.conn.prefix;
            self.conn
                .run(WHAT, |mut c| async move {
                    REVOKE.key(&set).arg(prefix).arg(credential_id).invoke_async::<i64>(&mut c).await
                })
                .await?;
            Ok(())
        })
    }
}
