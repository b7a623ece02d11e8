//! The orders demo of guard. See README.md and the contract in `API.md`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::Parser;
use tokio::net::TcpListener;

use guard_runtime::audit::HmacKey;
use guard_runtime::authn::jwt::{HttpFetcher, Issuer};
use orders_example::config::{Command, DbLocation, Flags, Oidc};
use orders_example::store_choice::StoreChoice;
use orders_example::{app, db, passwords, store_choice, welcome};

/// Bad flags, an unusable path or port: one line on stderr, exit code 2.
const USAGE_ERROR: u8 = 2;

fn main() -> ExitCode {
    let flags = match Flags::try_parse() {
        Ok(flags) => flags,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => return usage_error(&e.to_string()),
    };
    match &flags.command {
        Some(Command::VerifyAudit { file, hmac_key_file }) => return verify_audit(file, hmac_key_file.as_deref()),
        Some(Command::Manifest) => return print_manifest(),
        None => {}
    }
    // Before anything is created: a bad path leaves nothing behind.
    let db = match flags.validate() {
        Ok(db) => db,
        Err(message) => return usage_error(&message),
    };
    let oidc = match flags.oidc() {
        Ok(oidc) => oidc,
        Err(message) => return usage_error(&message),
    };
    let store = match StoreChoice::parse(flags.store.as_deref()) {
        Ok(store) => store,
        Err(message) => return usage_error(&message),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return usage_error(&format!("cannot start the runtime: {e}")),
    };
    runtime.block_on(run(flags, db, store, oidc))
}

/// `verify-audit FILE [--hmac-key-file PATH]`: exit 0 and the chain's
/// head when it holds, 1 and the first broken link when not, 2 when the
/// file or key cannot be read.
fn verify_audit(file: &std::path::Path, key_file: Option<&std::path::Path>) -> ExitCode {
    let key = match key_file.map(HmacKey::from_file).transpose() {
        Ok(key) => key,
        Err(e) => return usage_error(&format!("--hmac-key-file: {e}")),
    };
    let log = match std::fs::File::open(file) {
        Ok(log) => std::io::BufReader::new(log),
        Err(e) => return usage_error(&format!("{}: {e}", file.display())),
    };
    match guard_runtime::audit::verify(log, key.as_ref()) {
        Ok(verified) => {
            println!(
                "{}: chain holds: {} records, epoch {}, {} links, head {}",
                file.display(),
                verified.records,
                verified.epoch,
                verified.link,
                verified.head
            );
            ExitCode::SUCCESS
        }
        Err(broken) => {
            println!("{}: {broken}", file.display());
            ExitCode::FAILURE
        }
    }
}

/// `manifest`: the authorization manifest on stdout, as checked in.
fn print_manifest() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return usage_error(&format!("cannot start the runtime: {e}")),
    };
    // Mounting needs a pool to hand the resolvers; a lazy one never opens.
    let manifest = runtime
        .block_on(async { sqlx::SqlitePool::connect_lazy("sqlite::memory:").map(orders_example::app::manifest) });
    match manifest {
        Ok(manifest) => {
            print!("{}", manifest.render());
            ExitCode::SUCCESS
        }
        Err(e) => usage_error(&format!("cannot prepare the app: {e}")),
    }
}

/// Prints only the first line of `message`: scripts get one line to show.
fn usage_error(message: &str) -> ExitCode {
    let line = message.lines().find(|l| !l.trim().is_empty()).unwrap_or("invalid arguments");
    let line = line.strip_prefix("error: ").unwrap_or(line);
    eprintln!("orders-example: {line}");
    ExitCode::from(USAGE_ERROR)
}

async fn run(flags: Flags, db: DbLocation, store: StoreChoice, oidc: Option<Oidc>) -> ExitCode {
    // Bind before opening the database, so a busy port writes nothing either.
    let listener = match TcpListener::bind(flags.addr).await {
        Ok(listener) => listener,
        Err(e) => return usage_error(&format!("--addr {}: {e}", flags.addr)),
    };
    // A malformed store URL is a bad flag too: refused before the database.
    let shared = match store.connect() {
        Ok(shared) => shared,
        Err(message) => return usage_error(&message),
    };
    // The issuer's OpenID configuration names its JWKS: an issuer that
    // cannot be read at startup is a bad flag (exit 2, nothing written),
    // never a server that silently refuses every JWT.
    let oidc = match oidc {
        Some(oidc) => match Issuer::discover(&oidc.issuer, &oidc.audience, &HttpFetcher::new()).await {
            Ok(issuer) => Some(issuer),
            Err(e) => return usage_error(&format!("--oidc-issuer {}: {e}", oidc.issuer)),
        },
        None => None,
    };
    let (pool, seeded) = match db::open(&db).await {
        Ok(opened) => opened,
        Err(message) => return usage_error(&message),
    };
    // Logging starts once startup can no longer fail with a usage error.
    init_tracing();
    if seeded {
        tracing::info!("seeded an empty database with the demo principals");
    }
    if let Err(e) = passwords::warm_up().await {
        tracing::error!(error = %e, "cannot prepare password hashing");
        return ExitCode::FAILURE;
    }
    let audit_key = match flags.audit_hmac_key_file.as_deref().map(HmacKey::from_file).transpose() {
        Ok(key) => key,
        Err(e) => return usage_error(&format!("--audit-hmac-key-file: {e}")),
    };
    let settings = app::Settings {
        audit_log: flags.audit_log.clone(),
        audit_chain: flags.audit_chain,
        audit_key,
        audit_durable: flags.audit_durable,
        probe_threshold: flags.probe_threshold,
        reauth_window: Duration::from_secs(flags.reauth_window),
        secure_cookies: flags.secure_cookies(),
        oidc,
    };
    let stores = store_choice::Stores::new(shared, &pool);
    stores.prepare().await;
    let (router, audit) = app::build_with(pool.clone(), &settings, &stores);
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(e) => return usage_error(&format!("--addr {}: {e}", flags.addr)),
    };
    // Tests and scripts read this line to find the port.
    println!("listening on http://{addr}");
    // On stderr: tests read stdout's first line and may close the pipe.
    let _ = std::io::Write::write_all(&mut std::io::stderr(), welcome::welcome(addr).as_bytes());
    tracing::info!(%addr, db = %flags.db, store = store.label(), "serving");
    // Connect info: unauthenticated denials are counted per peer address.
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, service).with_graceful_shutdown(shutdown_signal()).await;
    if let Err(e) = audit.flush().await {
        tracing::error!(error = %e, "audit records may be lost");
    }
    pool.close().await;
    match served {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_ansi(ansi).with_env_filter(filter).init();
}

/// Ctrl-C or SIGTERM: stop accepting, finish in-flight requests.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
