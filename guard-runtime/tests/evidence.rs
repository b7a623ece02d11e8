//! Issue 21's controls through a real app: the chained decision log (many
//! writers, a restart, a key), the durable allow (the body sees its allow
//! record on disk), and the accounted router (a plain route is refused).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{Method, Request};
use axum::routing::{get, post};
use axum::Router;
use guard_runtime::audit::{verify, BreakKind, HmacKey, JsonLinesSink};
use guard_runtime::authn::{MemoryTokenStore, Tokens};
use guard_runtime::{action, Actions, AuditHandle, Authorized, Principal, Resolvers, RolePolicy};
use serde_json::Value;
use tower::ServiceExt;

const TOKEN: &str = "writer-token";

#[derive(Clone)]
struct AppState {
    ran: Arc<AtomicUsize>,
    /// The audit file, for the body to read its own allow record in.
    log: Arc<PathBuf>,
    /// Allow records the body found on disk when it ran.
    seen_on_disk: Arc<AtomicUsize>,
}

#[action(POST "/notes", requires = "notes:write")]
async fn write_note(auth: Authorized, State(state): State<AppState>) -> &'static str {
    state.ran.fetch_add(1, Ordering::SeqCst);
    // Durable: this request's allow record is already in the file.
    let id = auth.request_id().unwrap_or_default().to_owned();
    let text = std::fs::read_to_string(&*state.log).unwrap_or_default();
    if text.lines().any(|l| l.contains(&format!("\"request_id\":\"{id}\"")) && l.contains("\"decision\":\"allow\"")) {
        state.seen_on_disk.fetch_add(1, Ordering::SeqCst);
    }
    "written"
}

#[action(GET "/health", public = "reveals nothing")]
async fn health() -> &'static str {
    "ok"
}

async fn unguarded(State(state): State<AppState>) -> &'static str {
    state.ran.fetch_add(1, Ordering::SeqCst);
    "unguarded body ran"
}

async fn index() -> &'static str {
    "index"
}

struct App {
    router: Router,
    audit: AuditHandle,
    state: AppState,
}

async fn app(sink: JsonLinesSink, log: &Path, plain_route: bool) -> App {
    let tokens = Tokens::new(MemoryTokenStore::new());
    tokens.issue(TOKEN, Principal::service("svc-writer", "acme", ["notes:write"])).await.expect("issue");
    let state = AppState {
        ran: Arc::new(AtomicUsize::new(0)),
        log: Arc::new(log.to_owned()),
        seen_on_disk: Arc::new(AtomicUsize::new(0)),
    };
    let actions = Actions::new(RolePolicy::new(), tokens, Resolvers::new())
        .audit(sink, 1024)
        .mount(write_note)
        .mount(health)
        .public_route(Method::GET, "/", "the index page: static text");
    let audit = actions.audit_handle();
    let accounted = actions.accounted();
    let mut router = actions.into_router(state.clone()).route("/", get(index));
    if plain_route {
        router = router.route("/sneaky", post(unguarded).with_state(state.clone()));
    }
    App { router: accounted.apply(router.fallback(guard_runtime::not_found)), audit, state }
}

impl App {
    async fn send(&self, method: &str, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response =
            self.router.clone().oneshot(request.body(Body::empty()).expect("request")).await.expect("answer");
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.expect("body");
        (status, serde_json::from_slice(&body).unwrap_or(Value::String(String::from_utf8_lossy(&body).into_owned())))
    }
}

fn temp_log(name: &str) -> (tempdir::Dir, PathBuf) {
    let dir = tempdir::Dir::new(name);
    let path = dir.0.join("audit.jsonl");
    (dir, path)
}

/// A directory removed when the test ends.
mod tempdir {
    pub struct Dir(pub std::path::PathBuf);

    impl Dir {
        pub fn new(name: &str) -> Dir {
            let mut bytes = [0u8; 8];
            getrandom::fill(&mut bytes).expect("random");
            let path = std::env::temp_dir().join(format!("guard-{name}-{}", u64::from_ne_bytes(bytes)));
            std::fs::create_dir_all(&path).expect("temp dir");
            Dir(path)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn verify_file(
    path: &Path,
    key: Option<&HmacKey>,
) -> Result<guard_runtime::audit::Verified, guard_runtime::audit::Broken> {
    verify(std::io::BufReader::new(std::fs::File::open(path).expect("log")), key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_writers_make_one_unbroken_chain_in_writing_order() {
    let (_dir, log) = temp_log("chain-concurrent");
    let app = Arc::new(app(JsonLinesSink::new(&log).chained(), &log, false).await);
    let mut tasks = Vec::new();
    for task in 0..16 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                // Allows and denials interleave.
                let token = if (task + i) % 3 == 0 { None } else { Some(TOKEN) };
                app.send("POST", "/notes", token).await;
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    app.audit.flush().await.expect("flush");
    let verified = verify_file(&log, None).expect("the chain holds");
    assert_eq!(verified.records, 16 * 25, "one record per request");
    assert_eq!(verified.link, "sha256");
    let text = std::fs::read_to_string(&log).expect("log");
    let first: Value = serde_json::from_str(text.lines().next().expect("a line")).expect("json");
    assert_eq!(first["link"], "sha256");
    assert!(first["epoch"].as_str().is_some_and(|e| e.len() == 32), "{first}");
}

#[tokio::test]
async fn a_restart_continues_the_chain_from_the_last_line() {
    let (_dir, log) = temp_log("chain-restart");
    for _run in 0..3 {
        let app = app(JsonLinesSink::new(&log).chained(), &log, false).await;
        for _ in 0..4 {
            assert_eq!(app.send("POST", "/notes", Some(TOKEN)).await.0, 200);
        }
        app.audit.flush().await.expect("flush");
    }
    let verified = verify_file(&log, None).expect("one chain across three runs");
    assert_eq!(verified.records, 12);
    let text = std::fs::read_to_string(&log).expect("log");
    assert_eq!(text.lines().filter(|l| l.contains("\"epoch\"")).count(), 1, "one epoch record: the chain went on");
}

#[tokio::test]
async fn a_restart_on_a_tampered_tail_refuses_to_write() {
    let (_dir, log) = temp_log("chain-tampered-restart");
    let app1 = app(JsonLinesSink::new(&log).chained(), &log, false).await;
    for _ in 0..3 {
        app1.send("POST", "/notes", Some(TOKEN)).await;
    }
    app1.audit.flush().await.expect("flush");
    // The line before the last is edited: the next run must not link past it.
    let text = std::fs::read_to_string(&log).expect("log");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let n = lines.len();
    lines[n - 2] = lines[n - 2].replace("\"decision\":\"allow\"", "\"decision\":\"deny\"");
    std::fs::write(&log, lines.join("\n") + "\n").expect("write");
    let app2 = app(JsonLinesSink::new(&log).chained(), &log, false).await;
    let before = app2.state.ran.load(Ordering::SeqCst);
    app2.send("POST", "/notes", Some(TOKEN)).await;
    assert!(app2.audit.flush().await.is_err(), "the sink refuses to continue a broken chain");
    // Every request now fails closed.
    let (status, body) = app2.send("POST", "/notes", Some(TOKEN)).await;
    assert_eq!((status, body["code"].as_str()), (503, Some("unavailable")));
    assert!(app2.state.ran.load(Ordering::SeqCst) <= before + 1, "no body runs once the sink is known to fail");
    assert_eq!(verify_file(&log, None).expect_err("still broken").line, n as u64);
}

#[tokio::test]
async fn a_restart_after_a_crash_mid_write_notes_the_cut_line_in_the_chain() {
    let (_dir, log) = temp_log("chain-cut-restart");
    let first = app(JsonLinesSink::new(&log).chained(), &log, false).await;
    for _ in 0..3 {
        first.send("POST", "/notes", Some(TOKEN)).await;
    }
    first.audit.flush().await.expect("flush");
    // A crash in the middle of a write leaves half a line.
    let text = std::fs::read_to_string(&log).expect("log");
    std::fs::write(&log, &text[..text.len() - 40]).expect("cut");
    assert_eq!(verify_file(&log, None).expect_err("cut").kind, BreakKind::Truncated);
    let second = app(JsonLinesSink::new(&log).chained(), &log, false).await;
    assert_eq!(second.send("POST", "/notes", Some(TOKEN)).await.0, 200);
    second.audit.flush().await.expect("flush");
    let verified = verify_file(&log, None).expect("the chain goes on from the last whole line");
    // Two whole records of the first run, the note of the cut, one more.
    assert_eq!(verified.records, 4);
    let text = std::fs::read_to_string(&log).expect("log");
    let note: Value = serde_json::from_str(text.lines().nth(3).expect("the note")).expect("json");
    assert!(note["cut_bytes"].as_u64().is_some_and(|n| n > 0), "{note}");
}

#[tokio::test]
async fn a_keyed_chain_verifies_only_with_its_key() {
    let (_dir, log) = temp_log("chain-hmac");
    let key = HmacKey::new(b"an app-held key of 32 bytes or more!").expect("key");
    let app = app(JsonLinesSink::new(&log).chained_with_key(key.clone()), &log, false).await;
    for _ in 0..5 {
        app.send("POST", "/notes", Some(TOKEN)).await;
    }
    app.audit.flush().await.expect("flush");
    assert_eq!(verify_file(&log, Some(&key)).expect("holds").link, "hmac-sha256");
    assert_eq!(verify_file(&log, None).expect_err("needs the key").kind, BreakKind::Key);
    let other = HmacKey::new(b"somebody else's key of 32 bytes or more").expect("key");
    assert_eq!(verify_file(&log, Some(&other)).expect_err("not its key").kind, BreakKind::Link);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_durable_allow_is_on_disk_before_the_body_runs() {
    let (_dir, log) = temp_log("durable");
    let sink = JsonLinesSink::new(&log).chained().durable();
    let syncs = sink.sync_count();
    let app = Arc::new(app(sink, &log, false).await);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                assert_eq!(app.send("POST", "/notes", Some(TOKEN)).await.0, 200);
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    assert_eq!(app.state.ran.load(Ordering::SeqCst), 80);
    assert_eq!(app.state.seen_on_disk.load(Ordering::SeqCst), 80, "every body found its allow record in the file");
    assert_eq!(syncs.records(), 80);
    assert!(syncs.syncs() >= 1 && syncs.syncs() <= 80, "{} syncs", syncs.syncs());
    verify_file(&log, None).expect("the chain holds");
}

#[tokio::test]
async fn without_durable_the_sink_never_syncs() {
    let (_dir, log) = temp_log("not-durable");
    let sink = JsonLinesSink::new(&log);
    let syncs = sink.sync_count();
    let app = app(sink, &log, false).await;
    assert_eq!(app.send("POST", "/notes", Some(TOKEN)).await.0, 200);
    app.audit.flush().await.expect("flush");
    assert_eq!((syncs.syncs(), syncs.records()), (0, 0));
}

#[tokio::test]
async fn a_plain_route_next_to_the_actions_is_refused_and_audited() {
    let (_dir, log) = temp_log("accounted");
    let app = app(JsonLinesSink::new(&log), &log, true).await;
    let (status, body) = app.send("POST", "/sneaky", Some(TOKEN)).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("unguarded_route")), "{body}");
    assert_eq!(app.state.ran.load(Ordering::SeqCst), 0, "the unguarded handler never ran");
    // Mounted actions, declared public routes and public actions still serve.
    assert_eq!(app.send("POST", "/notes", Some(TOKEN)).await.0, 200);
    assert_eq!(app.send("GET", "/", None).await, (200, Value::String("index".into())));
    assert_eq!(app.send("GET", "/health", None).await.0, 200);
    // A known path with another method: guard's usual 404, audited too.
    let (status, body) = app.send("DELETE", "/notes", Some(TOKEN)).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    // An unknown path: 404, the fallback was not declared.
    assert_eq!(app.send("GET", "/nowhere", None).await.0, 404);
    app.audit.flush().await.expect("flush");
    let records: Vec<Value> =
        std::fs::read_to_string(&log).expect("log").lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    let refused: Vec<&Value> = records.iter().filter(|r| r["code"] == "unguarded_route").collect();
    assert_eq!(refused.len(), 1, "{records:#?}");
    assert_eq!(refused[0]["resource"], "routes/POST /sneaky");
    assert_eq!(refused[0]["path"], "/sneaky");
    assert_eq!(refused[0]["decision"], "deny");
    assert!(records.iter().any(|r| r["resource"] == "routes/DELETE /notes" && r["code"] == "not_found"));
}

#[tokio::test]
async fn the_manifest_names_the_declared_public_routes() {
    let (_dir, log) = temp_log("manifest");
    let tokens = Tokens::new(MemoryTokenStore::new());
    let actions = Actions::<AppState>::new(RolePolicy::new(), tokens, Resolvers::new())
        .audit(JsonLinesSink::new(&log), 16)
        .mount(write_note)
        .mount(health)
        .public_route(Method::GET, "/", "the index page: static text");
    let manifest = actions.authorization_manifest();
    assert_eq!(manifest.actions.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["health", "write_note"]);
    assert_eq!(manifest.public_routes.len(), 1);
    assert_eq!(manifest.public_routes[0].reason, "the index page: static text");
}
