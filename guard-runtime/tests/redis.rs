//! The Redis stores against a real `redis-server`: two app instances share
//! sessions, keys, replay keys and denial counters; a dead or hung Redis
//! answers 503 `unavailable` without running any body, and recovery needs
//! no restart of the app.
//!
//! Every test starts its own `redis-server` on a free loopback port (and
//! kills it on drop). Run with
//! `cargo test -p guard-runtime --features redis --test redis`; needs
//! `redis-server` on `PATH` (`apt-get install -y redis-server`).
#![cfg(feature = "redis")]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use guard_runtime::authn::{hash_secret, SessionStore, TokenStore, Tokens};
use guard_runtime::store::redis::{RedisStores, RedisStoresBuilder};
use guard_runtime::store::{DenialStore, ReplayStore};

mod shared_state;
use shared_state::{
    alice, assert_all_unavailable, bearer, expired_record_json, pay_with, record, seed, until_ok, with_cookie, Backend,
    Instance, Stores, ALICE, STORE_TIMEOUT, SVC,
};

// ---------------------------------------------------------------- server

/// A `redis-server` child on a loopback port, killed on drop.
struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0").expect("bind a free port").local_addr().expect("addr").port();
        let mut server = RedisServer { port, child: None };
        server.spawn();
        server
    }

    /// A free port with no server on it yet (for [`RedisServer::spawn`] later).
    fn not_started() -> Self {
        let port = TcpListener::bind("127.0.0.1:0").expect("bind a free port").local_addr().expect("addr").port();
        RedisServer { port, child: None }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Starts the server on this port and waits until it answers PING.
    fn spawn(&mut self) {
        assert!(self.child.is_none(), "already running");
        let spawned = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "`redis-server` is not on PATH: these tests need a real Redis. \
                 Install it (Debian/Ubuntu: `apt-get install -y redis-server`) and run again."
            ),
            Err(e) => panic!("could not start redis-server: {e}"),
        };
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ping(self.port) {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("redis-server on port {} exited at once: {status}", self.port);
            }
            assert!(Instant::now() < deadline, "redis-server on port {} did not answer PING in 10 s", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
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

/// A raw connection for poking at what the stores wrote.
async fn raw(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url()).expect("url").get_multiplexed_async_connection().await.expect("raw connection")
}

// ---------------------------------------------------------------- app

impl Backend for RedisServer {
    const NAME: &str = "redis";

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let status = Command::new("kill").args([signal, &pid]).status().expect("run kill");
        assert!(status.success(), "kill {signal} {pid}");
    }

    async fn instance(&self, probe_threshold: u32) -> Instance {
        instance(&builder(self).connect().await.expect("connect to redis"), probe_threshold)
    }
}

/// One app instance (see `shared_state`) over these stores.
fn instance(stores: &RedisStores, probe_threshold: u32) -> Instance {
    let (sessions, tokens, replay, denials) = (stores.sessions(), stores.tokens(), stores.replay(), stores.denials());
    Instance::over(Stores { sessions, tokens, replay, denials }, probe_threshold)
}

fn builder(server: &RedisServer) -> RedisStoresBuilder {
    RedisStores::builder(server.url()).timeout(STORE_TIMEOUT)
}

// ------------------------------------------------- two instances, one Redis

#[tokio::test]
async fn logout_on_one_instance_ends_the_session_on_the_other() {
    let server = RedisServer::start();
    shared_state::logout_on_one_instance_ends_the_session_on_the_other(&server).await;
}

#[tokio::test]
async fn revoke_all_on_one_instance_keeps_only_the_kept_session_everywhere() {
    let server = RedisServer::start();
    shared_state::revoke_all_on_one_instance_keeps_only_the_kept_session_everywhere(&server).await;
}

#[tokio::test]
async fn a_key_rotated_on_one_instance_stops_working_on_the_other() {
    let server = RedisServer::start();
    shared_state::a_key_rotated_on_one_instance_stops_working_on_the_other(&server).await;
}

#[tokio::test]
async fn an_idempotency_key_used_on_one_instance_is_replayed_on_the_other() {
    let server = RedisServer::start();
    shared_state::an_idempotency_key_used_on_one_instance_is_replayed_on_the_other(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_uses_of_one_key_across_instances_let_exactly_one_through() {
    let server = RedisServer::start();
    shared_state::concurrent_uses_of_one_key_across_instances_let_exactly_one_through(&server).await;
}

#[tokio::test]
async fn denials_on_both_instances_add_up_to_one_threshold() {
    let server = RedisServer::start();
    shared_state::denials_on_both_instances_add_up_to_one_threshold(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_concurrent_burst_checks_at_most_the_threshold() {
    let server = RedisServer::start();
    shared_state::a_concurrent_burst_checks_at_most_the_threshold(&server).await;
}

// ------------------------------------------------------- Redis failures

#[tokio::test]
async fn a_dead_store_is_503_and_recovery_needs_no_restart() {
    let mut server = RedisServer::start();
    let (a, b) = (server.instance(5).await, server.instance(5).await);
    seed(&a.tokens).await;
    let (cookie, csrf) = a.login().await;
    b.send(bearer("GET", "/docs/1", SVC)).await.assert_ok(200);
    b.send(with_cookie("GET", "/docs/1", &cookie, &csrf)).await.assert_ok(200);
    let ran = a.ran() + b.ran();

    server.kill();
    let slowest = assert_all_unavailable(&[&a, &b], &cookie, &csrf).await;
    eprintln!("dead redis: slowest 503 took {slowest:?}");
    // Again, once the first failures have started reconnection attempts.
    assert_all_unavailable(&[&a, &b], &cookie, &csrf).await;
    assert_eq!(a.ran() + b.ran(), ran);

    // A fresh server on the same port (empty: nothing was persisted).
    server.spawn();
    let fresh = RedisStores::connect(&server.url()).await.expect("connect to the new server");
    seed(&Tokens::new(fresh.tokens())).await;
    for instance in [&a, &b] {
        let took = until_ok(instance, || bearer("GET", "/docs/1", SVC)).await;
        eprintln!("recovered in {took:?}");
        for _ in 0..5 {
            instance.send(bearer("GET", "/docs/1", SVC)).await.assert_ok(200);
        }
        let (cookie, csrf) = instance.login().await;
        instance.send(with_cookie("GET", "/docs/1", &cookie, &csrf)).await.assert_ok(200);
    }
    a.send(pay_with(SVC, "after-restart")).await.assert_ok(200);
    b.send(pay_with(SVC, "after-restart")).await.assert_problem(409, "replayed");
    assert_eq!(a.ran() + b.ran(), ran + 2 * (1 + 5 + 1) + 1);
}

#[tokio::test]
async fn a_hung_server_answers_503_after_its_timeout() {
    shared_state::a_hung_server_answers_503_after_its_timeout(&RedisServer::start()).await;
}

#[tokio::test]
async fn an_app_started_before_redis_serves_once_redis_is_up() {
    let mut server = RedisServer::not_started();
    let stores = builder(&server).connect_lazy().expect("lazy stores");
    let a = instance(&stores, 0);
    a.send(bearer("GET", "/docs/1", SVC)).await.assert_problem(503, "unavailable");
    assert!(RedisStores::connect(&server.url()).await.is_err(), "eager connect must fail while Redis is down");

    server.spawn();
    seed(&Tokens::new(RedisStores::connect(&server.url()).await.expect("connect").tokens())).await;
    until_ok(&a, || bearer("GET", "/docs/1", SVC)).await;
    assert_eq!(a.ran(), 1);
}

// ------------------------------------------------------------ unit level

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approvals_are_shared_and_each_transition_wins_once() {
    let server = RedisServer::start();
    let one = RedisStores::connect(&server.url()).await.expect("connect");
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
    let server = RedisServer::start();
    let one = RedisStores::connect(&server.url()).await.expect("connect");
    let two = builder(&server).connect().await.expect("connect");
    shared_state::replay_claims_race_with_exactly_one_winner(one.replay(), two.replay(), Duration::from_millis(300))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn denial_windows_add_up_atomically_and_expire() {
    let server = RedisServer::start();
    let one = RedisStores::connect(&server.url()).await.expect("connect");
    let two = RedisStores::connect(&server.url()).await.expect("connect");
    shared_state::denial_windows_add_up_atomically_and_expire(one.denials(), two.denials(), Duration::from_millis(600))
        .await;
}

#[tokio::test]
async fn sessions_expire_and_revoked_sessions_stay_revoked() {
    let server = RedisServer::start();
    let stores = RedisStores::connect(&server.url()).await.expect("connect");
    // A record whose `expires_at` passed, under a key Redis still has.
    let stale = hash_secret("stale");
    let mut conn = raw(&server).await;
    let _: () = redis::cmd("SET")
        .arg(format!("guard:session:{stale}"))
        .arg(expired_record_json())
        .query_async(&mut conn)
        .await
        .expect("set");
    shared_state::sessions_expire_and_revoked_sessions_stay_revoked(&stores.sessions(), &stale).await;
}

#[tokio::test]
async fn garbage_in_redis_is_an_error_never_missing() {
    let server = RedisServer::start();
    let stores = RedisStores::connect(&server.url()).await.expect("connect");
    let a = instance(&stores, 5);
    let mut conn = raw(&server).await;
    let set = |key: String, value: &'static str| {
        let mut conn = conn.clone();
        async move {
            let _: () = redis::cmd("SET").arg(key).arg(value).query_async(&mut conn).await.expect("set");
        }
    };
    let session = "ab".repeat(32);
    set(format!("guard:session:{}", hash_secret(&session)), "{not json").await;
    set(format!("guard:token:{}", hash_secret(SVC)), "[1,2,3]").await;
    set("guard:denials:k".into(), "many").await;

    assert!(stores.sessions().load(&hash_secret(&session)).await.is_err());
    assert!(stores.tokens().find(&hash_secret(SVC)).await.is_err());
    assert!(stores.denials().current("k", Duration::from_secs(60)).await.is_err());
    assert!(stores.denials().add("k", Duration::from_secs(60)).await.is_err());
    assert!(stores.sessions().save(&hash_secret(&session), record(alice(), Duration::from_secs(60))).await.is_err());

    a.send(bearer("GET", "/docs/1", SVC)).await.assert_problem(503, "unavailable");
    a.send(with_cookie("GET", "/docs/1", &format!("guard_session={session}"), "x"))
        .await
        .assert_problem(503, "unavailable");
    assert_eq!(a.ran(), 0);

    // Garbage under a denial counter of a real principal: 503, not "no denials".
    a.tokens.issue(ALICE, alice()).await.expect("issue");
    set("guard:denials:principal:acme/alice".into(), "x").await;
    a.send(bearer("GET", "/docs/1", ALICE)).await.assert_problem(503, "unavailable");
    assert_eq!(a.ran(), 0);
    let _: () = redis::cmd("DEL").arg("guard:denials:principal:acme/alice").query_async(&mut conn).await.expect("del");
    a.send(bearer("GET", "/docs/1", ALICE)).await.assert_ok(200);
}

#[tokio::test]
async fn the_prefix_separates_apps_sharing_one_redis() {
    let server = RedisServer::start();
    let shop = RedisStores::builder(server.url()).prefix("shop:").connect().await.expect("connect");
    let blog = RedisStores::builder(server.url()).prefix("blog:").connect().await.expect("connect");
    assert_eq!(shop.prefix(), "shop:");
    let hash = hash_secret("s");
    shop.sessions().save(&hash, record(alice(), Duration::from_secs(60))).await.expect("save");
    assert!(shop.sessions().load(&hash).await.expect("load").is_some());
    assert!(blog.sessions().load(&hash).await.expect("load").is_none());
    assert!(shop.replay().claim("k", Duration::from_secs(60)).await.expect("claim"));
    assert!(blog.replay().claim("k", Duration::from_secs(60)).await.expect("claim"));
    let mut conn = raw(&server).await;
    let keys: Vec<String> = redis::cmd("KEYS").arg("shop:*").query_async(&mut conn).await.expect("keys");
    assert!(keys.contains(&format!("shop:session:{hash}")), "{keys:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_password_change_ends_racing_logins_everywhere_and_roles_apply_at_once() {
    let server = RedisServer::start();
    let (one, two) = (
        RedisStores::connect(&server.url()).await.expect("connect"),
        RedisStores::connect(&server.url()).await.expect("connect"),
    );
    shared_state::a_password_change_ends_racing_logins_everywhere_and_roles_apply_at_once(
        one.sessions(),
        two.sessions(),
    )
    .await;
}
