//! The orders contract's `GET /orders/{id}` for a bearer key, written by
//! hand as plain axum + sqlx over the orders app's own SQLite database:
//! what `bench/load.sh` measures the guarded orders app against.
//!
//! Per request it does the contract's least work and nothing else:
//!
//! * parse `Authorization: Bearer` strictly (one header, the scheme in any
//!   case, 1 to 8 KiB of visible ASCII) and hash the key (keys are stored
//!   as the hex SHA-256);
//! * one query for the key, its agent and the agent's user: the key's
//!   row, the agent's scopes and tenant, the user's roles, of an enabled
//!   user of the same tenant (a revoked key, a disabled user or a role
//!   change applies to the next request: nothing is kept in memory);
//! * the agent's scopes intersected with its user's permissions (the
//!   orders app's roles, written out);
//! * one read of the order, tenant and owner compared (an agent reads only
//!   its user's orders; anything else answers like a missing order);
//! * one audit line (JSON) handed to a writer thread, which appends it to
//!   the audit file;
//! * the order as JSON, `Cache-Control: no-store`.
//!
//! Usage: `reference-orders ADDR DB_FILE AUDIT_FILE`.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};

const PERMISSION: &str = "orders:read";

#[derive(Clone)]
struct App {
    pool: SqlitePool,
    audit: mpsc::SyncSender<Vec<u8>>,
}

/// An order as the orders app shows it.
#[derive(serde::Serialize)]
struct Order {
    id: i64,
    owner: String,
    tenant: String,
    item: String,
    quantity: i64,
    address: String,
    status: String,
}

/// One audit line.
#[derive(serde::Serialize)]
struct AuditLine<'a> {
    ts_ms: u128,
    latency_us: u128,
    caller: &'a str,
    on_behalf_of: &'a str,
    action: &'static str,
    permission: &'static str,
    resource: &'a str,
    decision: &'static str,
}

/// What a role of the orders app grants, and whether tenant-wide.
fn role_grants(role: &str) -> (&'static [&'static str], bool) {
    match role {
        "customer" => (&["orders:read", "orders:write"], false),
        "support" => (&["orders:read"], true),
        "admin" => (&["orders:*", "service_accounts:rotate", "users:manage", "actions:read"], true),
        _ => (&[], false),
    }
}

/// `scope` grants `permission`: `*`, equal, or `resource:*` over it.
fn grants(scope: &str, permission: &str) -> bool {
    scope == "*"
        || scope == permission
        || scope.strip_suffix('*').is_some_and(|prefix| prefix.ends_with(':') && permission.starts_with(prefix))
}

fn refuse(status: StatusCode, code: &str) -> Response {
    let mut response = (status, format!("{{\"code\":\"{code}\"}}")).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The strictly parsed bearer key, or `None` (401).
fn bearer(request: &Request) -> Option<&[u8]> {
    let mut values = request.headers().get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else { return None };
    let (scheme, key) = value.as_bytes().split_at_checked(7)?;
    let key_ok = (1..=8192).contains(&key.len()) && key.iter().all(u8::is_ascii_graphic);
    (key_ok && scheme.eq_ignore_ascii_case(b"bearer ")).then_some(key)
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

async fn get_order(State(app): State<App>, Path(id): Path<String>, request: Request) -> Response {
    let started = Instant::now();
    let Some(key) = bearer(&request) else { return refuse(StatusCode::UNAUTHORIZED, "unauthenticated") };
    let hash = hex(&Sha256::digest(key));
    let caller = sqlx::query(
        "SELECT a.name, a.tenant, a.scopes, a.user_name, u.roles FROM credentials c \
         JOIN agents a ON a.name = c.name \
         JOIN users u ON u.name = a.user_name AND u.tenant = a.tenant AND u.disabled = 0 \
         WHERE c.secret_hash = ? AND c.kind = 'agent'",
    )
    .bind(&hash)
    .fetch_optional(&app.pool)
    .await;
    let caller = match caller {
        Ok(Some(row)) => row,
        Ok(None) => return refuse(StatusCode::UNAUTHORIZED, "unauthenticated"),
        Err(_) => return refuse(StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    };
    let column = |name: &str| caller.try_get::<String, _>(name);
    let (Ok(agent), Ok(tenant), Ok(scopes), Ok(user), Ok(roles)) =
        (column("name"), column("tenant"), column("scopes"), column("user_name"), column("roles"))
    else {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    };
    let (Ok(scopes), Ok(roles)) =
        (serde_json::from_str::<Vec<String>>(&scopes), serde_json::from_str::<Vec<String>>(&roles))
    else {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    };
    // The agent may only what both its scopes and its user's roles grant;
    // an agent reads only its user's orders, whatever the role's reach.
    let user_may = roles.iter().any(|role| role_grants(role).0.iter().any(|p| grants(p, PERMISSION)));
    if !(user_may && scopes.iter().any(|s| grants(s, PERMISSION))) {
        return refuse(StatusCode::FORBIDDEN, "forbidden");
    }
    let Some(order_id) = id.parse::<i64>().ok().filter(|n| *n > 0 && n.to_string() == id) else {
        return refuse(StatusCode::NOT_FOUND, "not_found");
    };
    let row = sqlx::query("SELECT id, owner, tenant, item, quantity, address, status FROM orders WHERE id = ?")
        .bind(order_id)
        .fetch_optional(&app.pool)
        .await;
    let order = match row {
        Ok(Some(row)) => Order {
            id: row.get("id"),
            owner: row.get("owner"),
            tenant: row.get("tenant"),
            item: row.get("item"),
            quantity: row.get("quantity"),
            address: row.get("address"),
            status: row.get("status"),
        },
        Ok(None) => return refuse(StatusCode::NOT_FOUND, "not_found"),
        Err(_) => return refuse(StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    };
    if order.tenant != tenant || order.owner != user {
        return refuse(StatusCode::NOT_FOUND, "not_found");
    }
    let resource = format!("orders/{id}");
    let line = AuditLine {
        ts_ms: SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis(),
        latency_us: started.elapsed().as_micros(),
        caller: &agent,
        on_behalf_of: &user,
        action: "get_order",
        permission: PERMISSION,
        resource: &resource,
        decision: "allow",
    };
    // No line, no answer: a full queue or a dead writer refuses.
    let Ok(mut line) = serde_json::to_vec(&line) else { return refuse(StatusCode::SERVICE_UNAVAILABLE, "unavailable") };
    line.push(b'\n');
    if app.audit.try_send(line).is_err() {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    }
    let mut response = axum::Json(order).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Appends the lines to `file`, flushing whenever the queue runs dry.
fn write_audit(file: std::fs::File, lines: mpsc::Receiver<Vec<u8>>) {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, file);
    while let Ok(line) = lines.recv() {
        let mut written = out.write_all(&line);
        while let (Ok(()), Ok(line)) = (&written, lines.try_recv()) {
            written = out.write_all(&line);
        }
        if let Err(err) = written.and_then(|()| out.flush()) {
            eprintln!("reference-orders: audit write failed: {err}");
            std::process::exit(1);
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, db, audit] = args.as_slice() else {
        eprintln!("usage: reference-orders ADDR DB_FILE AUDIT_FILE");
        return ExitCode::from(2);
    };
    let Ok(addr) = addr.parse::<SocketAddr>() else {
        eprintln!("reference-orders: `{addr}` is not an address");
        return ExitCode::from(2);
    };
    let file = match std::fs::OpenOptions::new().create(true).append(true).open(audit) {
        Ok(file) => file,
        Err(err) => {
            eprintln!("reference-orders: cannot open {audit}: {err}");
            return ExitCode::FAILURE;
        }
    };
    let (sender, receiver) = mpsc::sync_channel(8192);
    std::thread::spawn(move || write_audit(file, receiver));
    // The orders app's runtime: multi-threaded, as many workers as cores
    // the process may use.
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("reference-orders: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        // The orders app's pool settings for a database file.
        let options = SqliteConnectOptions::new()
            .filename(db)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool =
            match SqlitePoolOptions::new().max_connections(8).test_before_acquire(false).connect_with(options).await {
                Ok(pool) => pool,
                Err(err) => {
                    eprintln!("reference-orders: cannot open {db}: {err}");
                    return ExitCode::FAILURE;
                }
            };
        let app = App { pool, audit: sender };
        let router = Router::new().route("/orders/{id}", get(get_order)).with_state(app);
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => listener,
            Err(err) => {
                eprintln!("reference-orders: cannot bind {addr}: {err}");
                return ExitCode::FAILURE;
            }
        };
        match axum::serve(listener, router).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("reference-orders: {err}");
                ExitCode::FAILURE
            }
        }
    })
}
