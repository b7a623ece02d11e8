//! [`ApprovalStore`] on Redis.

use std::sync::LazyLock;
use std::time::Duration;

use ::redis::Script;

use super::{decode, millis, Conn};
use crate::store::{ApprovalRequest, ApprovalState, ApprovalStore};
use crate::{StoreError, StoreFuture};

const WHAT: &str = "approval store";

/// Stores a request and adds its id to its tenant's set (whose expiry is
/// pushed out to the latest request's). KEYS: request hash, tenant set.
/// ARGV: id, record JSON, state, keep ms.
static CREATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('HSET', KEYS[1], 'record', ARGV[2], 'state', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('SADD', KEYS[2], ARGV[1])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
return 1
",
    )
});

/// Moves a request from one state to another if it is in the first.
/// KEYS: request hash. ARGV: from, to, decided_by ('' keeps it). Returns
/// 1 if moved, 0 if not (another state, or no such request).
static TRANSITION: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HGET', KEYS[1], 'state') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'decided_by', ARGV[3]) end
return 1
",
    )
});

/// Approval requests in Redis, shared by every instance: each is a hash
/// `approval:<id>` (the JSON record, its `state`, `decided_by`) that
/// expires with the request, and `approvals:<tenant>` is the set of a
/// tenant's ids, for listing. A transition is one Lua script comparing the
/// state and setting it, so of concurrent transitions exactly one wins.
/// Made by [`RedisStores::approvals`](super::RedisStores::approvals).
#[derive(Clone, Debug)]
pub struct RedisApprovalStore {
    conn: Conn,
}

impl RedisApprovalStore {
    pub(super) fn new(conn: Conn) -> Self {
        RedisApprovalStore { conn }
    }

    /// The fields of one request hash as a request (its live state and
    /// approver over the record's), or `None` if the hash is gone.
    fn assemble(fields: Vec<(String, String)>) -> Result<Option<ApprovalRequest>, StoreError> {
        if fields.is_empty() {
            return Ok(None);
        }
        let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let record = field("record").ok_or_else(|| StoreError::new(WHAT, "stored request has no record"))?;
        let mut request: ApprovalRequest = decode(WHAT, record.as_bytes())?;
        let state = field("state").unwrap_or("");
        request.state = ApprovalState::from_name(state)
            .ok_or_else(|| StoreError::new(WHAT, format!("stored request has an unknown state {state:?}")))?;
        if let Some(by) = field("decided_by") {
            request.decided_by = Some(by.to_owned());
        }
        Ok(Some(request))
    }
}

impl ApprovalStore for RedisApprovalStore {
    fn create<'a>(&'a self, request: &'a ApprovalRequest, keep: Duration) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            let json = serde_json::to_string(request).map_err(|e| StoreError::new(WHAT, e))?;
            let (key, set) = (self.conn.key("approval", &request.id), self.conn.key("approvals", &request.tenant));
            let _: i64 = self
                .conn
                .run(WHAT, |mut c| async move {
                    CREATE
                        .key(&key)
                        .key(&set)
                        .arg(&request.id)
                        .arg(&json)
                        .arg(request.state.as_str())
                        .arg(millis(keep))
                        .invoke_async(&mut c)
                        .await
                })
                .await?;
            Ok(())
        })
    }

    fn get<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Result<Option<ApprovalRequest>, StoreError>> {
        StoreFuture::new(async move {
            let key = self.conn.key("approval", id);
            let fields: Vec<(String, String)> = self
                .conn
                .run(WHAT, |mut c| async move { ::redis::cmd("HGETALL").arg(&key).query_async(&mut c).await })
                .await?;
            Self::assemble(fields)
        })
    }

    fn transition<'a>(
        &'a self,
        id: &'a str,
        from: ApprovalState,
        to: ApprovalState,
        decided_by: Option<&'a str>,
    ) -> StoreFuture<'a, Result<bool, StoreError>> {
        StoreFuture::new(async move {
            let key = self.conn.key("approval", id);
            let moved: i64 = self
                .conn
                .run(WHAT, |mut c| async move {
                    TRANSITION
                        .key(&key)
                        .arg(from.as_str())
                        .arg(to.as_str())
                        .arg(decided_by.unwrap_or(""))
                        .invoke_async(&mut c)
                        .await
                })
                .await?;
            Ok(moved == 1)
        })
    }

    fn pending<'a>(&'a self, tenant: &'a str) -> StoreFuture<'a, Result<Vec<ApprovalRequest>, StoreError>> {
        StoreFuture::new(async move {
            let set = self.conn.key("approvals", tenant);
            let ids: Vec<String> = self
                .conn
                .run(WHAT, |mut c| async move { ::redis::cmd("SMEMBERS").arg(&set).query_async(&mut c).await })
                .await?;
            let mut found = Vec::new();
            let mut gone = Vec::new();
            for id in ids {
                match self.get(&id).await? {
                    Some(request) if request.state == ApprovalState::Pending => found.push(request),
                    Some(_) => {}
                    None => gone.push(id),
                }
            }
            if !gone.is_empty() {
                // Ids of expired requests leave the set as they are met.
                let set = self.conn.key("approvals", tenant);
                let _: i64 =
                    self.conn
                        .run(WHAT, |mut c| async move {
                            ::redis::cmd("SREM").arg(&set).arg(&gone).query_async(&mut c).await
                        })
                        .await?;
            }
            found.sort_by(|a, b| (a.requested_at, &a.id).cmp(&(b.requested_at, &b.id)));
            Ok(found)
        })
    }
}
