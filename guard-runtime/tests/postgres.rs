//! The PostgreSQL stores against a real PostgreSQL server: two app
//! instances share sessions, keys, replay keys and denial counters; a
//! stopped or hung server answers 503 `unavailable` without running any
//! body, and a restart needs no restart of the app.
//!
//! Every test runs `initdb` and starts its own `postgres` on a free
//! loopback port, in a temporary directory (stopped and removed on drop).
//! As root, the server runs as the `postgres` OS user. Run with
//! `cargo test -p guard-runtime --features postgres --test postgres`;
//! needs the Debian package `postgresql` (`apt-get install -y postgresql`),
//! or `GUARD_PG_BIN` naming a directory holding `initdb` and `postgres`.
//!
//! Over 400 lines because besides the shared scenarios it drives a real
//! server process (initdb, start, stop, SIGSTOP), which no other suite needs.
#![cfg(feature = "postgres")]

use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use guard_runtime::authn::{hash_secret, SessionStore, TokenRecord, TokenStore};
use guard_runtime::store::postgres::{PostgresStores, PostgresStoresBuilder};
use guard_runtime::store::{DenialStore, ReplayStore};
use sqlx::{Connection, PgConnection};

mod shared_state;
use shared_state::{
    alice, assert_all_unavailable, bearer, expired_record_json, pay_with, record, seed, until_ok, with_cookie, Backend,
    Instance, Stores, ALICE, STORE_TIMEOUT, SVC,
};

// ---------------------------------------------------------------- server

/// `initdb` and `postgres`: `GUARD_PG_BIN`, else the newest
/// `/usr/lib/postgresql/<version>/bin`, else `PATH`.
fn pg_bin() -> PathBuf {
    if let Some(dir) = std::env::var_os("GUARD_PG_BIN").map(PathBuf::from) {
        assert!(
            dir.join("initdb").is_file() && dir.join("postgres").is_file(),
            "GUARD_PG_BIN={} holds no `initdb` and `postgres`: these tests need a real PostgreSQL. Install it \
             (Debian/Ubuntu: `apt-get update && apt-get install -y postgresql`) and run again.",
            dir.display()
        );
        return dir;
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("postgres").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return bin;
    }
    let on_path = std::env::var_os("PATH").map(|path| {
        std::env::split_paths(&path).find(|dir| dir.join("initdb").is_file() && dir.join("postgres").is_file())
    });
    match on_path.flatten() {
        Some(dir) => dir,
        None => panic!(
            "PostgreSQL server binaries (`initdb`, `postgres`) not found in /usr/lib/postgresql/*/bin or on PATH: \
             these tests need a real PostgreSQL. Install it (Debian/Ubuntu: \
             `apt-get update && apt-get install -y postgresql`) or set GUARD_PG_BIN, and run again."
        ),
    }
}

/// The (uid, gid) to run the server as: the `postgres` user when we are
/// root (PostgreSQL refuses to run as root), else none.
fn server_user() -> Option<(u32, u32)> {
    let me = std::fs::metadata("/proc/self").expect("stat /proc/self").uid();
    if me != 0 {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").expect("read /etc/passwd");
    let ids = passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&"postgres") && fields.len() > 3)
            .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
            .flatten()
    });
    match ids {
        Some(ids) => Some(ids),
        None => panic!(
            "running as root, and there is no `postgres` user to run PostgreSQL as. \
             Install PostgreSQL (Debian/Ubuntu: `apt-get update && apt-get install -y postgresql`), which creates it."
        ),
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind a free port").local_addr().expect("addr").port()
}

/// A `postgres` child on a loopback port, with its own data directory;
/// stopped and removed on drop.
struct PgServer {
    port: u16,
    bin: PathBuf,
    user: Option<(u32, u32)>,
    /// The temporary directory: `data/`, the socket, `log`.
    dir: PathBuf,
    child: Option<Child>,
}

impl PgServer {
    /// A fresh cluster, running, with the guard tables.
    async fn start() -> Self {
        let mut server = PgServer::not_started();
        server.spawn();
        PostgresStores::connect(&server.url()).await.expect("connect").migrate().await.expect("migrate");
        server
    }

    /// A fresh cluster (`initdb` done) on a free port, not running yet.
    fn not_started() -> Self {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let bin = pg_bin();
        let user = server_user();
        let dir = std::env::temp_dir().join(format!(
            "guard-pg-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the temporary directory");
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown the temporary directory to postgres");
        }
        let server = PgServer { port: free_port(), bin, user, dir, child: None };
        let output = server
            .command("initdb")
            .args(["-D", &server.data().to_string_lossy(), "-U", "postgres", "--auth=trust", "-N", "-E", "UTF8"])
            .args(["--locale=C"])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("could not run {}: {e}", server.bin.join("initdb").display()));
        assert!(
            output.status.success(),
            "initdb failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        server
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A command for one of the server binaries, as the server's user.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        command.current_dir(&self.dir);
        if let Some((uid, gid)) = self.user {
            command.uid(uid).gid(gid).env("HOME", &self.dir).env("USER", "postgres");
        }
        command
    }

    /// Starts the server on this port and data directory, and waits until
    /// it accepts connections.
    fn spawn(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join("log")).expect("log file");
        if let Some((uid, gid)) = self.user {
            std::os::unix::fs::chown(self.dir.join("log"), Some(uid), Some(gid)).expect("chown the log");
        }
        let port = self.port.to_string();
        let child = self
            .command("postgres")
            .args(["-D", &self.data().to_string_lossy(), "-p", &port, "-k", &self.dir.to_string_lossy()])
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off", "-c", "shared_buffers=16MB", "-c", "max_connections=60"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", self.bin.join("postgres").display()));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.ready() {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("postgres on port {} exited at once ({status}); log:\n{}", self.port, self.log());
            }
            assert!(
                Instant::now() < deadline,
                "postgres on port {} not ready in 20 s; log:\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Whether the server accepts connections (`pg_isready`).
    fn ready(&self) -> bool {
        let port = self.port.to_string();
        Command::new(self.bin.join("pg_isready"))
            .args(["-q", "-h", "127.0.0.1", "-p", &port, "-U", "postgres", "-d", "postgres", "-t", "1"])
            .status()
            .is_ok_and(|status| status.success())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    /// Shuts the server down (fast: connections are cut, data is kept).
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() {
                if Instant::now() > deadline {
                    signal_tree(child.id(), "-KILL");
                    let _ = child.kill();
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.wait();
        }
    }

    /// Sends `signal` to the server and all its children (see [`signal_tree`]).
    fn signal_all(&self, signal: &str) {
        if let Some(child) = &self.child {
            signal_tree(child.id(), signal);
        }
    }

    /// A raw connection for poking at what the stores wrote.
    async fn raw(&self) -> PgConnection {
        PgConnection::connect(&self.url()).await.expect("raw connection")
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.signal_all("-CONT");
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs one statement on a raw connection.
async fn exec(conn: &mut PgConnection, sql: &'static str) {
    sqlx::query(sql).execute(conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Sends `signal` to the postmaster `pid` and all its children (backends
/// and workers, which each call `setsid`, so no process group reaches
/// them): the processes whose parent it is, found in `/proc`.
///
/// A stop reaches the postmaster first, and the children are looked up
/// only once it is stopped: a backend it forks in between (the pool opening
/// a connection) would otherwise miss the signal and go on answering.
fn signal_tree(pid: u32, signal: &str) {
    let postmaster = pid.to_string();
    if signal == "-STOP" {
        kill(signal, std::slice::from_ref(&postmaster));
        let started = Instant::now();
        loop {
            match proc_stat(&postmaster).map(|(state, _)| state).as_deref() {
                Some("T") => break,
                Some("Z" | "X") | None => panic!("the postmaster exited"),
                Some(_) => {}
            }
            assert!(started.elapsed() < Duration::from_secs(5), "the postmaster did not stop");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let mut pids = vec![postmaster.clone()];
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if proc_stat(&pid).is_some_and(|(_, ppid)| ppid == postmaster) {
            pids.push(pid);
        }
    }
    kill(signal, &pids);
}

/// Sends `signal` to `pids`. Only a stop must reach every one of them: a
/// process that exited since the scan needs no `-CONT` or `-KILL` (and a
/// `-KILL` runs in `Drop`, where a panic would abort).
fn kill(signal: &str, pids: &[String]) {
    let status = Command::new("kill").arg(signal).args(pids).status().expect("run kill");
    assert!(status.success() || signal != "-STOP", "kill {signal} {pids:?}");
}

/// A process's state letter and parent pid, from `/proc/PID/stat`.
fn proc_stat(pid: &str) -> Option<(String, String)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid …`; comm may hold spaces, so split after `)`.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    Some((fields.next()?.to_owned(), fields.next()?.to_owned()))
}

// ---------------------------------------------------------------- app

impl Backend for PgServer {
    const NAME: &str = "postgres";

    fn signal(&self, signal: &str) {
        self.signal_all(signal);
    }

    async fn instance(&self, probe_threshold: u32) -> Instance {
        instance(&builder(self).connect().await.expect("connect to postgres"), probe_threshold)
    }
}

/// One app instance (see `shared_state`) over these stores.
fn instance(stores: &PostgresStores, probe_threshold: u32) -> Instance {
    let (sessions, tokens, replay, denials) = (stores.sessions(), stores.tokens(), stores.replay(), stores.denials());
    Instance::over(Stores { sessions, tokens, replay, denials }, probe_threshold)
}

fn builder(server: &PgServer) -> PostgresStoresBuilder {
    PostgresStores::builder(server.url()).timeout(STORE_TIMEOUT)
}

// -------------------------------------------- two instances, one PostgreSQL

#[tokio::test]
async fn logout_on_one_instance_ends_the_session_on_the_other() {
    let server = PgServer::start().await;
    shared_state::logout_on_one_instance_ends_the_session_on_the_other(&server).await;
}

#[tokio::test]
async fn revoke_all_on_one_instance_keeps_only_the_kept_session_everywhere() {
    let server = PgServer::start().await;
    shared_state::revoke_all_on_one_instance_keeps_only_the_kept_session_everywhere(&server).await;
}

#[tokio::test]
async fn a_key_rotated_on_one_instance_stops_working_on_the_other() {
    let server = PgServer::start().await;
    shared_state::a_key_rotated_on_one_instance_stops_working_on_the_other(&server).await;
}

#[tokio::test]
async fn an_idempotency_key_used_on_one_instance_is_replayed_on_the_other() {
    let server = PgServer::start().await;
    shared_state::an_idempotency_key_used_on_one_instance_is_replayed_on_the_other(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_uses_of_one_key_across_instances_let_exactly_one_through() {
    let server = PgServer::start().await;
    shared_state::concurrent_uses_of_one_key_across_instances_let_exactly_one_through(&server).await;
}

#[tokio::test]
async fn denials_on_both_instances_add_up_to_one_threshold() {
    let server = PgServer::start().await;
    shared_state::denials_on_both_instances_add_up_to_one_threshold(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_concurrent_burst_checks_at_most_the_threshold() {
    let server = PgServer::start().await;
    shared_state::a_concurrent_burst_checks_at_most_the_threshold(&server).await;
}

// ---------------------------------------------------- PostgreSQL failures

#[tokio::test]
async fn a_stopped_server_is_503_and_a_restart_needs_no_app_restart() {
    let mut server = PgServer::start().await;
    let (a, b) = (server.instance(5).await, server.instance(5).await);
    seed(&a.tokens).await;
    let (cookie, csrf) = a.login().await;
    b.send(bearer("GET", "/docs/1", SVC)).await.assert_ok(200);
    b.send(with_cookie("GET", "/docs/1", &cookie, &csrf)).await.assert_ok(200);
    a.send(pay_with(SVC, "before-stop")).await.assert_ok(200);
    let ran = a.ran() + b.ran();

    server.stop();
    let slowest = assert_all_unavailable(&[&a, &b], &cookie, &csrf).await;
    eprintln!("stopped postgres: slowest 503 took {slowest:?}");
    // Again, once the pools have dropped their dead connections.
    assert_all_unavailable(&[&a, &b], &cookie, &csrf).await;
    assert_eq!(a.ran() + b.ran(), ran);

    // The same server again: same port, same data directory.
    server.spawn();
    for instance in [&a, &b] {
        let took = until_ok(instance, || bearer("GET", "/docs/1", SVC)).await;
        eprintln!("recovered in {took:?}");
        for _ in 0..5 {
            instance.send(bearer("GET", "/docs/1", SVC)).await.assert_ok(200);
        }
        // The session made before the stop is still there, and so is the
        // claimed key.
        instance.send(with_cookie("GET", "/docs/1", &cookie, &csrf)).await.assert_ok(200);
        instance.send(pay_with(SVC, "before-stop")).await.assert_problem(409, "replayed");
    }
    a.send(pay_with(SVC, "after-restart")).await.assert_ok(200);
    b.send(pay_with(SVC, "after-restart")).await.assert_problem(409, "replayed");
    assert_eq!(a.ran() + b.ran(), ran + 2 * (1 + 5 + 1) + 1);
}

#[tokio::test]
async fn a_hung_server_answers_503_after_its_timeout() {
    shared_state::a_hung_server_answers_503_after_its_timeout(&PgServer::start().await).await;
}

#[tokio::test]
async fn an_app_started_before_postgres_serves_once_postgres_is_up() {
    let mut server = PgServer::not_started();
    let stores = builder(&server).connect_lazy().expect("lazy stores");
    let a = instance(&stores, 0);
    a.send(bearer("GET", "/docs/1", SVC)).await.assert_problem(503, "unavailable");
    assert!(PostgresStores::connect(&server.url()).await.is_err(), "eager connect must fail while postgres is down");

    server.spawn();
    stores.migrate().await.expect("migrate");
    seed(&a.tokens).await;
    until_ok(&a, || bearer("GET", "/docs/1", SVC)).await;
    assert_eq!(a.ran(), 1);
}

// ------------------------------------------------------------ unit level

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approvals_are_shared_and_each_transition_wins_once() {
    let server = PgServer::start().await;
    let one = PostgresStores::connect(&server.url()).await.expect("connect");
    let two = builder(&server).connect().await.expect("connect");
    shared_state::approvals::approvals_are_shared_and_each_transition_wins_once(
        one.approvals(),
        two.approvals(),
        Duration::from_secs(1),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replay_claims_race_with_exactly_one_winner() {
    let server = PgServer::start().await;
    let one = PostgresStores::connect(&server.url()).await.expect("connect");
    let two = builder(&server).connect().await.expect("connect");
    shared_state::replay_claims_race_with_exactly_one_winner(one.replay(), two.replay(), Duration::from_millis(600))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn denial_windows_add_up_atomically_and_expire() {
    let server = PgServer::start().await;
    let one = PostgresStores::connect(&server.url()).await.expect("connect");
    let two = PostgresStores::connect(&server.url()).await.expect("connect");
    shared_state::denial_windows_add_up_atomically_and_expire(one.denials(), two.denials(), Duration::from_millis(800))
        .await;
}

#[tokio::test]
async fn sessions_expire_and_revoked_sessions_stay_revoked() {
    let server = PgServer::start().await;
    let stores = PostgresStores::connect(&server.url()).await.expect("connect");
    // A record whose `expires_at` passed, in a row that has not expired.
    let stale = hash_secret("stale");
    let mut conn = server.raw().await;
    sqlx::query(
        "INSERT INTO guard_sessions (id_hash, principal_id, record, expires_at) VALUES ($1, 'alice', $2, now() + interval '1 hour')",
    )
    .bind(&stale)
    .bind(expired_record_json())
    .execute(&mut conn)
    .await
    .expect("insert");
    shared_state::sessions_expire_and_revoked_sessions_stay_revoked(&stores.sessions(), &stale).await;

    // Expired rows, revoked ones included, are swept; live ones stay.
    let swept = stores.sweep().await.expect("sweep");
    assert!(swept >= 1, "swept {swept}");
    let left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM guard_sessions").fetch_one(&mut conn).await.expect("count");
    assert_eq!(left, 4, "stale, long, other, taken: revoked rows stay until they expire");
    let taken = stores.sessions().load(&hash_secret("taken")).await.expect("load").expect("live");
    assert_eq!(taken.principal.id, "alice");
}

#[tokio::test]
async fn garbage_in_postgres_is_an_error_never_missing() {
    let server = PgServer::start().await;
    let stores = PostgresStores::connect(&server.url()).await.expect("connect");
    let a = instance(&stores, 5);
    let mut conn = server.raw().await;
    let session = "ab".repeat(32);
    sqlx::query(
        "INSERT INTO guard_sessions (id_hash, principal_id, record, expires_at) VALUES ($1, 'alice', '{not json', now() + interval '1 hour')",
    )
    .bind(hash_secret(&session))
    .execute(&mut conn)
    .await
    .expect("insert");
    sqlx::query("INSERT INTO guard_tokens (secret_hash, credential_id, record) VALUES ($1, 'key:svc', '[1,2,3]')")
        .bind(hash_secret(SVC))
        .execute(&mut conn)
        .await
        .expect("insert");
    exec(&mut conn, "INSERT INTO guard_denials (key, count, window_end) VALUES ('k', -3, now() + interval '1 hour')")
        .await;

    assert!(stores.sessions().load(&hash_secret(&session)).await.is_err());
    assert!(stores.tokens().find(&hash_secret(SVC)).await.is_err());
    assert!(stores.denials().current("k", Duration::from_secs(60)).await.is_err());
    assert!(stores.denials().add("k", Duration::from_secs(60)).await.is_err());

    a.send(bearer("GET", "/docs/1", SVC)).await.assert_problem(503, "unavailable");
    a.send(with_cookie("GET", "/docs/1", &format!("guard_session={session}"), "x"))
        .await
        .assert_problem(503, "unavailable");
    assert_eq!(a.ran(), 0);

    // Well-formed JSON that disagrees with its row's indexed columns (what
    // revocation goes by) is garbage too.
    let json = serde_json::to_string(&record(alice(), Duration::from_secs(60))).expect("json");
    let misfiled = hash_secret("misfiled");
    sqlx::query(
        "INSERT INTO guard_sessions (id_hash, principal_id, record, expires_at) VALUES ($1, 'bob', $2, now() + interval '1 hour')",
    )
    .bind(&misfiled)
    .bind(json)
    .execute(&mut conn)
    .await
    .expect("insert");
    assert!(stores.sessions().load(&misfiled).await.is_err());
    let key = TokenRecord { principal: alice(), secret_hash: hash_secret("k2") };
    sqlx::query("INSERT INTO guard_tokens (secret_hash, credential_id, record) VALUES ($1, 'key:other', $2)")
        .bind(hash_secret("k2"))
        .bind(serde_json::to_string(&key).expect("json"))
        .execute(&mut conn)
        .await
        .expect("insert");
    assert!(stores.tokens().find(&hash_secret("k2")).await.is_err());

    // Garbage under a denial counter of a real principal: 503, not "no denials".
    a.tokens.issue(ALICE, alice()).await.expect("issue");
    exec(
        &mut conn,
        "INSERT INTO guard_denials (key, count, window_end) VALUES ('principal:acme/alice', -1, now() + interval '1 hour')",
    )
    .await;
    a.send(bearer("GET", "/docs/1", ALICE)).await.assert_problem(503, "unavailable");
    assert_eq!(a.ran(), 0);
    exec(&mut conn, "DELETE FROM guard_denials WHERE key = 'principal:acme/alice'").await;
    a.send(bearer("GET", "/docs/1", ALICE)).await.assert_ok(200);
}

#[tokio::test]
async fn schema_and_prefix_separate_apps_sharing_one_database() {
    let server = PgServer::start().await;
    let shop = PostgresStores::builder(server.url()).prefix("shop_").connect().await.expect("connect");
    let blog = PostgresStores::builder(server.url()).schema("blog").connect().await.expect("connect");
    // Migrations are idempotent and may run concurrently (every instance
    // at startup).
    let (x, y, z, w) = tokio::join!(shop.migrate(), shop.migrate(), blog.migrate(), blog.migrate());
    x.and(y).and(z).and(w).expect("migrate");
    shop.migrate().await.expect("migrate again");
    assert_eq!((shop.prefix(), shop.schema()), ("shop_", None));
    assert_eq!((blog.prefix(), blog.schema()), ("guard_", Some("blog")));

    let hash = hash_secret("s");
    shop.sessions().save(&hash, record(alice(), Duration::from_secs(60))).await.expect("save");
    assert!(shop.sessions().load(&hash).await.expect("load").is_some());
    assert!(blog.sessions().load(&hash).await.expect("load").is_none());
    assert!(shop.replay().claim("k", Duration::from_secs(60)).await.expect("claim"));
    assert!(blog.replay().claim("k", Duration::from_secs(60)).await.expect("claim"));
    let mut conn = server.raw().await;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM shop_sessions WHERE id_hash = $1")
        .bind(&hash)
        .fetch_one(&mut conn)
        .await
        .expect("count");
    assert_eq!(rows, 1);
    let rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM blog.guard_replay").fetch_one(&mut conn).await.expect("count");
    assert_eq!(rows, 1);

    // Names that would need quoting (or allow injection) are refused.
    for bad in ["Shop_", "shop-", "x\"; DROP TABLE guard_sessions; --"] {
        assert!(PostgresStores::builder(server.url()).prefix(bad).connect_lazy().is_err(), "{bad:?}");
    }
    for bad in ["", "1blog", "Blog", "blog.x"] {
        assert!(PostgresStores::builder(server.url()).schema(bad).connect_lazy().is_err(), "{bad:?}");
    }
    assert!(PostgresStores::builder("mysql://nope").connect_lazy().is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_password_change_ends_racing_logins_everywhere_and_roles_apply_at_once() {
    let server = PgServer::start().await;
    let (one, two) = (
        PostgresStores::connect(&server.url()).await.expect("connect"),
        PostgresStores::connect(&server.url()).await.expect("connect"),
    );
    shared_state::a_password_change_ends_racing_logins_everywhere_and_roles_apply_at_once(
        one.sessions(),
        two.sessions(),
    )
    .await;
}
