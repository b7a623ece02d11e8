//! Command-line flags (each also an environment variable) and the checks
//! that must pass before anything is written.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Parser;

/// `--probe-threshold`'s default: denials in the probing window before 429.
pub const PROBE_THRESHOLD: u32 = 20;
/// `--reauth-window`'s default, in seconds.
pub const REAUTH_WINDOW_SECS: u64 = 300;

/// The orders demo of guard: a small multi-tenant order service.
#[derive(Debug, Parser)]
#[command(name = "orders-example", version, about)]
pub struct Flags {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    #[arg(long, env = "ORDERS_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// SQLite database file (`:memory:` for a throwaway one).
    #[arg(long, env = "ORDERS_DB", default_value = "orders.db")]
    pub db: String,

    /// Append audit records to this file as JSON lines (default: stderr through tracing).
    #[arg(long, env = "ORDERS_AUDIT_LOG")]
    pub audit_log: Option<PathBuf>,

    /// Denials per 60 s before 429 (per principal, or per client address when unauthenticated); 0 disables.
    #[arg(long, env = "ORDERS_PROBE_THRESHOLD", default_value_t = PROBE_THRESHOLD)]
    pub probe_threshold: u32,

    /// How recent (in seconds) an authentication the sensitive actions need.
    #[arg(long, env = "ORDERS_REAUTH_WINDOW", default_value_t = REAUTH_WINDOW_SECS,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub reauth_window: u64,

    /// Where sessions, keys, replay keys and denial counters live: `redis://HOST:PORT` or `postgres://USER@HOST:PORT/DB` shares them between instances (default: in-process).
    #[arg(long, env = "ORDERS_STORE", value_name = "URL")]
    pub store: Option<String>,

    /// Session cookie `Secure` with the `__Host-` prefix (`true`/`false`); default: on unless `--addr` is a loopback address.
    #[arg(long, env = "ORDERS_SECURE_COOKIES", value_name = "BOOL", value_parser = clap::value_parser!(bool))]
    pub secure_cookies: Option<bool>,

    /// Accept JWT service and agent credentials from this OIDC issuer (its exact `iss`; keys from the `jwks_uri` of `URL/.well-known/openid-configuration`); needs `--oidc-audience`.
    #[arg(long, env = "ORDERS_OIDC_ISSUER", value_name = "URL")]
    pub oidc_issuer: Option<String>,

    /// The audience the issuer's tokens must name in `aud`; needs `--oidc-issuer`.
    #[arg(long, env = "ORDERS_OIDC_AUDIENCE", value_name = "AUD")]
    pub oidc_audience: Option<String>,

    /// Hash-chain the audit log: an epoch record starts it, every record names the one before it (`verify-audit` checks it); needs `--audit-log`.
    #[arg(long, env = "ORDERS_AUDIT_CHAIN")]
    pub audit_chain: bool,

    /// Chain the audit log's lines with HMAC-SHA256 under the key in this file (at least 32 bytes) instead of plain SHA-256; implies `--audit-chain`.
    #[arg(long, env = "ORDERS_AUDIT_HMAC_KEY_FILE", value_name = "PATH")]
    pub audit_hmac_key_file: Option<PathBuf>,

    /// Sync each audit batch to disk, and run no action body before its allow record is written; needs `--audit-log`.
    #[arg(long, env = "ORDERS_AUDIT_DURABLE")]
    pub audit_durable: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What the binary does instead of serving.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Check an audit log's hash chain; prints the first broken link (exit 1) or the chain's head (exit 0).
    VerifyAudit {
        /// The audit log (`--audit-log` of the server).
        file: PathBuf,
        /// The key file of a log written with `--audit-hmac-key-file`.
        #[arg(long, value_name = "PATH")]
        hmac_key_file: Option<PathBuf>,
    },
    /// Print the authorization manifest of the mounted actions (`examples/orders/authorization-manifest.json`).
    Manifest,
}

/// The OIDC issuer whose JWTs are accepted (`--oidc-issuer`, `--oidc-audience`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Oidc {
    pub issuer: String,
    pub audience: String,
}

/// Where the database lives.
#[derive(Clone, Debug)]
pub enum DbLocation {
    Memory,
    File(PathBuf),
}

impl Flags {
    /// Whether the session cookie is `__Host-` prefixed and `Secure`: as
    /// `--secure-cookies` says, else on unless the app listens on loopback
    /// only. Loopback is plain-HTTP development, where a `Secure` cookie
    /// would never come back; anything else is reachable by others, and
    /// must sit behind TLS.
    pub fn secure_cookies(&self) -> bool {
        self.secure_cookies.unwrap_or(!self.addr.ip().is_loopback())
    }

    /// The OIDC issuer, if any: both flags or neither, each non-empty, the
    /// issuer an `http://` or `https://` URL.
    pub fn oidc(&self) -> Result<Option<Oidc>, String> {
        match (self.oidc_issuer.as_deref(), self.oidc_audience.as_deref()) {
            (None, None) => Ok(None),
            (Some(_), None) => Err("--oidc-issuer needs --oidc-audience".into()),
            (None, Some(_)) => Err("--oidc-audience needs --oidc-issuer".into()),
            (Some(issuer), Some(audience)) => {
                if !(issuer.starts_with("http://") || issuer.starts_with("https://"))
                    || issuer.contains(char::is_whitespace)
                {
                    return Err(format!("--oidc-issuer: {issuer:?} is not an http:// or https:// URL"));
                }
                if audience.trim().is_empty() {
                    return Err("--oidc-audience: the audience is empty".into());
                }
                Ok(Some(Oidc { issuer: issuer.to_owned(), audience: audience.to_owned() }))
            }
        }
    }

    /// Checks the paths the flags name without creating or writing anything,
    /// so a bad flag leaves no half-made database or log behind.
    pub fn validate(&self) -> Result<DbLocation, String> {
        let db = if self.db == ":memory:" {
            DbLocation::Memory
        } else {
            let path = PathBuf::from(&self.db);
            check_writable_file("--db", &path)?;
            DbLocation::File(path)
        };
        if let Some(log) = &self.audit_log {
            check_writable_file("--audit-log", log)?;
        }
        let log_options = [
            ("--audit-chain", self.audit_chain),
            ("--audit-durable", self.audit_durable),
            ("--audit-hmac-key-file", self.audit_hmac_key_file.is_some()),
        ];
        if let (None, Some((flag, _))) = (&self.audit_log, log_options.iter().find(|(_, given)| *given)) {
            return Err(format!("{flag} needs --audit-log (the audit log is stderr without it)"));
        }
        Ok(db)
    }
}

/// `path` is an existing regular file we can open for writing, or a new
/// name in an existing directory we can write to.
fn check_writable_file(flag: &str, path: &Path) -> Result<(), String> {
    if path.as_os_str().is_empty() {
        return Err(format!("{flag}: the path is empty"));
    }
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => {
            // Opening for read and write changes nothing, and proves both.
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .map(drop)
                .map_err(|e| format!("{flag}: cannot open {}: {e}", path.display()))
        }
        Ok(_) => Err(format!("{flag}: {} is not a regular file", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
                _ => PathBuf::from("."),
            };
            match std::fs::metadata(&parent) {
                Ok(meta) if meta.is_dir() && !meta.permissions().readonly() => Ok(()),
                Ok(meta) if meta.is_dir() => Err(format!("{flag}: directory {} is not writable", parent.display())),
                Ok(_) => Err(format!("{flag}: {} is not a directory", parent.display())),
                Err(e) => Err(format!("{flag}: directory {}: {e}", parent.display())),
            }
        }
        Err(e) => Err(format!("{flag}: {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Flags, Oidc};

    fn oidc(args: &[&str]) -> Result<Option<Oidc>, String> {
        Flags::try_parse_from(std::iter::once("orders-example").chain(args.iter().copied())).expect("flags").oidc()
    }

    #[test]
    fn the_oidc_flags_come_both_or_neither() {
        assert_eq!(oidc(&[]), Ok(None));
        let both = oidc(&["--oidc-issuer", "http://127.0.0.1:9", "--oidc-audience", "orders"]);
        assert_eq!(both, Ok(Some(Oidc { issuer: "http://127.0.0.1:9".into(), audience: "orders".into() })));
        let only_issuer = oidc(&["--oidc-issuer", "https://id.example"]).expect_err("issuer alone");
        assert!(only_issuer.contains("--oidc-audience"), "{only_issuer}");
        let only_audience = oidc(&["--oidc-audience", "orders"]).expect_err("audience alone");
        assert!(only_audience.contains("--oidc-issuer"), "{only_audience}");
        for (issuer, audience) in [("id.example", "orders"), ("", "orders"), ("https://id.example", " ")] {
            let bad = oidc(&["--oidc-issuer", issuer, "--oidc-audience", audience]);
            assert!(bad.is_err(), "{issuer:?} {audience:?}");
        }
        for message in [only_issuer, only_audience] {
            assert_eq!(message.lines().count(), 1, "one line: {message}");
        }
    }

    fn secure(args: &[&str]) -> bool {
        let flags =
            Flags::try_parse_from(std::iter::once("orders-example").chain(args.iter().copied())).expect("flags");
        flags.secure_cookies()
    }

    #[test]
    fn cookies_are_secure_by_default_unless_on_loopback() {
        for loopback in ["127.0.0.1:3000", "127.3.2.1:0", "[::1]:3000"] {
            assert!(!secure(&["--addr", loopback]), "{loopback}");
        }
        for reachable in ["0.0.0.0:3000", "[::]:3000", "192.0.2.7:80", "[2001:db8::1]:443"] {
            assert!(secure(&["--addr", reachable]), "{reachable}");
        }
        assert!(!secure(&[]), "the default address is loopback");
    }

    #[test]
    fn the_flag_overrides_the_default_both_ways() {
        assert!(secure(&["--addr", "127.0.0.1:0", "--secure-cookies", "true"]));
        assert!(!secure(&["--addr", "0.0.0.0:0", "--secure-cookies", "false"]));
        for bad in ["yes-please", "", "2"] {
            let parsed = Flags::try_parse_from(["orders-example", "--secure-cookies", bad]);
            assert!(parsed.is_err(), "{bad:?}");
        }
    }
}
