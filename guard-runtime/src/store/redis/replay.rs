//! [`ReplayStore`] on Redis.

use std::time::Duration;

use super::{millis, Conn};
use crate::store::ReplayStore;
use crate::{StoreError, StoreFuture};

/// Single-use keys in Redis: a claim is `SET key 1 NX PX ttl`, so of any
/// number of concurrent claims of one key, on any instance, exactly one
/// wins. Made by [`RedisStores::replay`](super::RedisStores::replay).
#[derive(Clone, Debug)]
pub struct RedisReplayStore {
    conn: Conn,
}

impl RedisReplayStore {
    pub(super) fn new(conn: Conn) -> Self {
        RedisReplayStore { conn }
    }
}

impl ReplayStore for RedisReplayStore {
    fn is_claimed<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Result<bool, StoreError>> {
        StoreFuture::new(async move {
            let key = self.conn.key("replay", key);
            let exists: bool = self
                .conn
                .run("replay store", |mut c| async move { ::redis::cmd("EXISTS").arg(&key).query_async(&mut c).await })
                .await?;
            Ok(exists)
        })
    }

    fn claim<'a>(&'a self, key: &'a str, ttl: Duration) -> StoreFuture<'a, Result<bool, StoreError>> {
        StoreFuture::new(async move {
            let key = self.conn.key("replay", key);
            let set: Option<String> = self
                .conn
                .run("replay store", |mut c| async move {
                    ::redis::cmd("SET").arg(&key).arg(1).arg("NX").arg("PX").arg(millis(ttl)).query_async(&mut c).await
                })
                .await?;
            Ok(set.is_some())
        })
    }
}
