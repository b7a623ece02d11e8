//! The shared stores `--store` can name, as child processes on free
//! loopback ports (killed on drop): `redis-server` (on `PATH`) and
//! PostgreSQL (`initdb` + `postgres`, run as the `postgres` OS user when
//! the tests run as root).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A store server the app instances share.
pub trait StoreServer: Sized {
    /// Whether a restart keeps what was stored (PostgreSQL) or loses it
    /// all (Redis without persistence, the hardest case for the app).
    const KEEPS_DATA: bool;

    /// On a free port, not running yet.
    fn not_started() -> Self;

    /// What `--store` gets.
    fn url(&self) -> String;

    /// Starts the server and waits until it answers.
    fn spawn(&mut self);

    /// Stops it; `spawn` starts it again on the same port.
    fn stop(&mut self);

    fn start() -> Self {
        let mut server = Self::not_started();
        server.spawn();
        server
    }
}

/// A free port below the ephemeral range (32768 and up on Linux): a port
/// picked by binding port 0 could be handed again, while the server is down,
/// to an app's listener or a client's outgoing connection (or to another
/// test's server), and the test would talk to the wrong thing.
fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let clock = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let seed = std::process::id().wrapping_mul(2_654_435_761) ^ clock;
    for _ in 0..2_000 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = 20_000 + (seed.wrapping_add(n.wrapping_mul(7_919)) % 12_000) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port between 20000 and 32000");
}

/// Waits until `ready`, failing with `what` if `child` exits or 20 s pass.
fn wait_until(child: &mut Child, what: &str, log: impl Fn() -> String, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited at once ({status}):\n{}", log());
        }
        assert!(Instant::now() < deadline, "{what} did not get ready in 20 s:\n{}", log());
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------- redis

/// A `redis-server` child without persistence.
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl StoreServer for RedisServer {
    const KEEPS_DATA: bool = false;

    fn not_started() -> Self {
        RedisServer { port: free_port(), child: None }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        assert!(self.child.is_none(), "already running");
        let spawned = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "`redis-server` is not on PATH: these tests need a real Redis. \
                 Install it (Debian/Ubuntu: `apt-get install -y redis-server`) and run again."
            ),
            Err(e) => panic!("could not start redis-server: {e}"),
        };
        let port = self.port;
        wait_until(&mut child, &format!("redis-server on port {port}"), String::new, || ping(port));
        self.child = Some(child);
    }

    /// SIGKILL: no goodbye to the clients.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), Duration::from_secs(1))
    else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut buf = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok() && stream.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

// ---------------------------------------------------------------- postgres

/// A `postgres` child with its own cluster in a temporary directory
/// (`data/`, the socket, `log`), trusting local connections.
pub struct PgServer {
    port: u16,
    bin: PathBuf,
    /// (uid, gid) of the `postgres` user when we are root: PostgreSQL
    /// refuses to run as root.
    user: Option<(u32, u32)>,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl PgServer {
    /// A command for one of the server binaries, as the server's user.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        command.current_dir(self.dir.path()).stdin(Stdio::null());
        if let Some((uid, gid)) = self.user {
            command.uid(uid).gid(gid).env("HOME", self.dir.path()).env("USER", "postgres");
        }
        command
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    fn chown(&self, path: &Path) {
        if let Some((uid, gid)) = self.user {
            std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown to postgres");
        }
    }
}

/// `GUARD_PG_BIN`, else the newest `/usr/lib/postgresql/<version>/bin`,
/// else `PATH`: a directory holding `initdb`, `postgres` and `pg_isready`.
fn pg_bin() -> PathBuf {
    let holds_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| Some((entry.file_name().to_str()?.parse().ok()?, entry.path().join("bin"))))
        .collect();
    versions.sort();
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::var_os("GUARD_PG_BIN")
        .map(PathBuf::from)
        .into_iter()
        .chain(versions.into_iter().rev().map(|(_, bin)| bin))
        .chain(std::env::split_paths(&path))
        .find(|dir| holds_server(dir))
        .unwrap_or_else(|| {
            panic!(
                "PostgreSQL server binaries (`initdb`, `postgres`) not found in GUARD_PG_BIN, \
                 /usr/lib/postgresql/*/bin or on PATH: these tests need a real PostgreSQL. Install it \
                 (Debian/Ubuntu: `apt-get update && apt-get install -y postgresql`) and run again."
            )
        })
}

/// The `postgres` OS user's (uid, gid) when we are root.
fn pg_user() -> Option<(u32, u32)> {
    if std::fs::metadata("/proc/self").expect("stat /proc/self").uid() != 0 {
        return None;
    }
    let id = |flag: &str| {
        let out = Command::new("id").args([flag, "postgres"]).output().expect("run id");
        assert!(
            out.status.success(),
            "running as root, and there is no `postgres` user to run PostgreSQL as. Install PostgreSQL \
             (Debian/Ubuntu: `apt-get update && apt-get install -y postgresql`), which creates it."
        );
        String::from_utf8_lossy(&out.stdout).trim().parse::<u32>().expect("numeric id")
    };
    Some((id("-u"), id("-g")))
}

impl StoreServer for PgServer {
    const KEEPS_DATA: bool = true;

    /// Runs `initdb` (a fresh cluster, user `postgres`, no password).
    fn not_started() -> Self {
        let dir = tempfile::Builder::new().prefix("orders-pg-").tempdir().expect("tempdir");
        let server = PgServer { port: free_port(), bin: pg_bin(), user: pg_user(), dir, child: None };
        server.chown(server.dir.path());
        let out = server
            .command("initdb")
            .args(["-D", &server.path("data"), "-U", "postgres", "--auth=trust", "-N", "-E", "UTF8", "--locale=C"])
            .output()
            .unwrap_or_else(|e| panic!("could not run initdb in {}: {e}", server.bin.display()));
        assert!(
            out.status.success(),
            "initdb failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        server
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn spawn(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.path("log")).expect("log file");
        self.chown(&self.dir.path().join("log"));
        let port = self.port.to_string();
        let mut child = self
            .command("postgres")
            .args(["-D", &self.path("data"), "-p", &port, "-k", &self.path("")])
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off", "-c", "shared_buffers=16MB", "-c", "max_connections=60"])
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", self.bin.join("postgres").display()));
        let ready = || {
            Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &port, "-U", "postgres", "-d", "postgres", "-t", "1"])
                .status()
                .is_ok_and(|status| status.success())
        };
        wait_until(&mut child, &format!("postgres on port {port}"), || self.log(), ready);
        self.child = Some(child);
    }

    /// Fast shutdown: connections are cut, the data is kept.
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop();
        // The log goes with the temporary directory: show it if the test failed.
        if std::thread::panicking() {
            eprintln!("--- postgres on port {} log ---\n{}--- end ---", self.port, self.log());
        }
    }
}
