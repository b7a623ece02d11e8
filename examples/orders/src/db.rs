//! The SQLite pool, its migrations, and the demo principals an empty
//! database is seeded with.

use std::str::FromStr;
use std::time::Duration;

use guard_runtime::authn::hash_secret;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use crate::config::DbLocation;
use crate::passwords;

/// Opens (creating if needed) and migrates the database, then seeds it if
/// empty; says whether it did.
pub async fn open(location: &DbLocation) -> Result<(SqlitePool, bool), String> {
    let pool = match location {
        // Every connection to `:memory:` is a separate database: keep exactly
        // one, forever.
        DbLocation::Memory => {
            let options =
                SqliteConnectOptions::from_str("sqlite::memory:").map_err(|e| format!("--db: {e}"))?.foreign_keys(true);
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await
        }
        DbLocation::File(path) => {
            let options = SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5));
            SqlitePoolOptions::new()
                .max_connections(8)
                // sqlx would ping the connection's worker thread before
                // handing it out: one more thread hand-off a query, to test
                // a connection that is a thread of this process reading a
                // local file (it does not drop like a socket). A broken one
                // still fails its query, and the request answers 503.
                .test_before_acquire(false)
                .connect_with(options)
                .await
        }
    }
    .map_err(|e| format!("--db: cannot open the database: {e}"))?;
    // Instances started together on one new file (`--store redis://…`)
    // race to migrate and seed it: the loser tries again and then finds the
    // work done. A real fault fails the same way every time.
    let mut attempt = 1;
    loop {
        match prepare(&pool).await {
            Ok(seeded) => return Ok((pool, seeded)),
            Err(_) if attempt < PREPARE_ATTEMPTS => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(message) => return Err(message),
        }
    }
}

const PREPARE_ATTEMPTS: u32 = 5;

/// Migrates, then seeds if empty; says whether it seeded.
async fn prepare(pool: &SqlitePool) -> Result<bool, String> {
    sqlx::migrate!("./migrations").run(pool).await.map_err(|e| format!("--db: cannot migrate the database: {e}"))?;
    seed(pool).await.map_err(|e| format!("--db: cannot seed the database: {e}"))
}

/// A demo user: also what the startup greeting lists (`welcome.rs`).
pub(crate) struct DemoUser {
    pub(crate) name: &'static str,
    pub(crate) tenant: &'static str,
    pub(crate) role: &'static str,
    pub(crate) password: &'static str,
}

pub(crate) const USERS: &[DemoUser] = &[
    DemoUser { name: "alice", tenant: "acme", role: "customer", password: "alice-pass" },
    DemoUser { name: "bob", tenant: "acme", role: "customer", password: "bob-pass" },
    DemoUser { name: "erin", tenant: "acme", role: "support", password: "erin-pass" },
    DemoUser { name: "carol", tenant: "acme", role: "admin", password: "carol-pass" },
    // The second admin: a refund needs one admin to ask and another to approve.
    DemoUser { name: "frank", tenant: "acme", role: "admin", password: "frank-pass" },
    DemoUser { name: "dave", tenant: "globex", role: "customer", password: "dave-pass" },
];

/// The demo keys and tokens: (secret, kind, principal).
pub(crate) const KEYS: &[(&str, &str, &str)] = &[
    ("svc-billing-demo-key", "service", "svc-billing"),
    ("assistant-demo-token", "agent", "assistant"),
    ("helper-demo-token", "agent", "helper"),
];

/// The demo principals of the contract, inserted once into an empty database.
async fn seed(pool: &SqlitePool) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(pool).await?;
    if users > 0 {
        return Ok(false); // seeded before: keep changed passwords and rotated keys
    }
    // Hash concurrently: argon2 is slow by design.
    let hashes =
        USERS.iter().map(|u| tokio::spawn(passwords::hash_at_startup(u.password.to_owned()))).collect::<Vec<_>>();
    // `IMMEDIATE`: take the write lock now and look again, so that of two
    // processes seeding one new file, the second waits and then skips.
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&mut *tx).await?;
    if users > 0 {
        return Ok(false);
    }
    for (user, hash) in USERS.iter().zip(hashes) {
        let hash = hash.await??;
        sqlx::query("INSERT INTO users (name, tenant, roles, password_hash) VALUES (?, ?, ?, ?)")
            .bind(user.name)
            .bind(user.tenant)
            .bind(serde_json::to_string(&[user.role])?)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
    }
    // Its keys carry `environment = production`: what payment capture binds.
    sqlx::query("INSERT INTO service_accounts (name, tenant, scopes, claims) VALUES (?, ?, ?, ?)")
        .bind("svc-billing")
        .bind("acme")
        .bind(serde_json::to_string(&["orders:read", "payments:capture"])?)
        .bind(serde_json::json!({ "environment": "production" }).to_string())
        .execute(&mut *tx)
        .await?;
    for (agent, user, scopes) in [("assistant", "alice", ["orders:read"]), ("helper", "bob", ["orders:*"])] {
        sqlx::query("INSERT INTO agents (name, tenant, user_name, scopes) VALUES (?, 'acme', ?, ?)")
            .bind(agent)
            .bind(user)
            .bind(serde_json::to_string(&scopes)?)
            .execute(&mut *tx)
            .await?;
    }
    for &(secret, kind, name) in KEYS {
        sqlx::query("INSERT INTO credentials (secret_hash, credential_id, kind, name) VALUES (?, ?, ?, ?)")
            .bind(hash_secret(secret))
            .bind(credential_id(name))
            .bind(kind)
            .bind(name)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// The credential id of a service account's or agent's key: rotation revokes
/// every key under it.
pub fn credential_id(name: &str) -> String {
    format!("key:{name}")
}
