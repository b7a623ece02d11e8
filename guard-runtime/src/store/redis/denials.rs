//! [`DenialStore`] on Redis.

use std::sync::LazyLock;
use std::time::Duration;

use ::redis::Script;

use super::{millis, Conn};
use crate::store::{DenialStore, DenialWindow};
use crate::{StoreError, StoreFuture};

const WHAT: &str = "denial store";

/// Adds one denial; the first opens the window (sets the expiry).
///
/// KEYS: counter. ARGV: window ms. Returns `{count, ms left}`.
static ADD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local count = redis.call('INCR', KEYS[1])
if count < 1 then return redis.error_reply('stored denial counter is negative') end
local left = redis.call('PTTL', KEYS[1])
if count == 1 or left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {count, left}
",
    )
});

/// Reads the open window, if any. A counter that is not a number is an
/// error. KEYS: counter. ARGV: window ms. Returns `{count, ms left}`.
static CURRENT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local value = redis.call('GET', KEYS[1])
if not value then return {0, tonumber(ARGV[1])} end
local count = tonumber(value)
if not count then return redis.error_reply('stored denial counter is not a number') end
local left = redis.call('PTTL', KEYS[1])
if left < 0 then left = tonumber(ARGV[1]) end
return {count, left}
",
    )
});

/// Takes back one denial of the open window, never below 0; keeps the
/// window's expiry. KEYS: counter. Returns 1.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count and count > 0 then redis.call('DECR', KEYS[1]) end
return 1
",
    )
});

/// Fixed-window denial counters in Redis, shared by every instance:
/// denials on any instance count toward one threshold. Each counter is an
/// `INCR`ed key that expires when its window ends. Made by
/// [`RedisStores::denials`](super::RedisStores::denials).
#[derive(Clone, Debug)]
pub struct RedisDenialStore {
    conn: Conn,
}

impl RedisDenialStore {
    pub(super) fn new(conn: Conn) -> Self {
        RedisDenialStore { conn }
    }

    async fn call(&self, script: &'static Script, key: &str, window: Duration) -> Result<DenialWindow, StoreError> {
        let key = self.conn.key("denials", key);
        let (count, left): (i64, i64) = self
            .conn
            .run(WHAT, |mut c| async move { script.key(&key).arg(millis(window)).invoke_async(&mut c).await })
            .await?;
        Ok(DenialWindow {
            count: u32::try_from(count.max(0)).unwrap_or(u32::MAX),
            resets_in: Duration::from_millis(left.max(0) as u64).min(window),
        })
    }
}

impl DenialStore for RedisDenialStore {
    fn current<'a>(&'a self, key: &'a str, window: Duration) -> StoreFuture<'a, Result<DenialWindow, StoreError>> {
        StoreFuture::new(self.call(&CURRENT, key, window))
    }

    fn add<'a>(&'a self, key: &'a str, window: Duration) -> StoreFuture<'a, Result<DenialWindow, StoreError>> {
        StoreFuture::new(self.call(&ADD, key, window))
    }

    fn release<'a>(&'a self, key: &'a str, _window: Duration) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            let key = self.conn.key("denials", key);
            let _: i64 =
                self.conn.run(WHAT, |mut c| async move { RELEASE.key(&key).invoke_async(&mut c).await }).await?;
            Ok(())
        })
    }
}
