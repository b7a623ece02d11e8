//! Runs the real binary and talks to it over HTTP.
// Each test binary compiles this module and uses a different subset of it.
#![allow(dead_code)]

pub mod servers;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};

pub const BIN: &str = env!("CARGO_BIN_EXE_orders-example");

/// A running server; killed when dropped.
pub struct App {
    child: Option<Child>,
    pub base: String,
    pub dir: Arc<tempfile::TempDir>,
    pub client: reqwest::Client,
}

pub fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for var in [
        "ORDERS_ADDR",
        "ORDERS_DB",
        "ORDERS_AUDIT_LOG",
        "ORDERS_PROBE_THRESHOLD",
        "ORDERS_REAUTH_WINDOW",
        "ORDERS_STORE",
        "ORDERS_SECURE_COOKIES",
        "ORDERS_OIDC_ISSUER",
        "ORDERS_OIDC_AUDIENCE",
    ] {
        cmd.env_remove(var);
    }
    // The app's own events (keys copied into a shared store, a store not
    // reachable yet) in its log, printed if the test fails; not sqlx's.
    cmd.env("RUST_LOG", "info,sqlx=warn");
    cmd
}

impl App {
    /// A fresh database; probing off unless `extra` turns it on.
    pub fn start(extra: &[&str]) -> App {
        let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
        let mut args = extra.to_vec();
        if !extra.contains(&"--probe-threshold") {
            args.extend(["--probe-threshold", "0"]);
        }
        App::start_in(dir, &args)
    }

    /// On the database in `dir` (kept across restarts).
    pub fn start_in(dir: Arc<tempfile::TempDir>, extra: &[&str]) -> App {
        App::start_with_env(dir, extra, &[])
    }

    /// [`App::start_in`] with environment variables set for the server.
    pub fn start_with_env(dir: Arc<tempfile::TempDir>, extra: &[&str], env: &[(&str, &str)]) -> App {
        let db = dir.path().join("x.db");
        let audit = dir.path().join("audit.jsonl");
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join("stderr.log"))
            .expect("stderr log");
        let mut args: Vec<String> = vec!["--audit-log".into(), audit.display().to_string()];
        if !extra.contains(&"--addr") {
            args.extend(["--addr".into(), "127.0.0.1:0".into()]);
        }
        if !extra.contains(&"--db") {
            args.extend(["--db".into(), db.display().to_string()]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = command(&args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn server");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = lines.next().expect("server printed nothing").expect("read stdout");
        let base = line.strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        App { child: Some(child), base: base.trim().to_owned(), dir, client }
    }

    pub fn audit_path(&self) -> PathBuf {
        self.dir.path().join("audit.jsonl")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn host(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// SIGTERM, then wait: the server flushes its audit log on the way out.
    pub fn stop(mut self) -> Arc<tempfile::TempDir> {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
            for _ in 0..100 {
                if let Ok(Some(_)) = child.try_wait() {
                    return self.dir.clone();
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        self.dir.clone()
    }

    pub fn request(&self, method: Method, path: &str, caller: &Caller) -> RequestBuilder {
        let mut req = self.client.request(method.clone(), self.url(path));
        match caller {
            Caller::Anon => {}
            Caller::Bearer(key) => req = req.bearer_auth(key),
            Caller::Session(s) => {
                req = req.header("cookie", format!("guard_session={}", s.cookie));
                if method != Method::GET {
                    req = req.header("x-csrf-token", &s.csrf);
                }
            }
        }
        req
    }

    pub async fn get(&self, path: &str, caller: &Caller) -> Resp {
        send(self.request(Method::GET, path, caller)).await
    }

    pub async fn post(&self, path: &str, caller: &Caller, body: Value) -> Resp {
        send(self.request(Method::POST, path, caller).json(&body)).await
    }

    pub async fn post_empty(&self, path: &str, caller: &Caller) -> Resp {
        send(self.request(Method::POST, path, caller)).await
    }

    pub async fn delete(&self, path: &str, caller: &Caller) -> Resp {
        send(self.request(Method::DELETE, path, caller)).await
    }

    pub async fn login_raw(&self, user: &str, password: &str) -> Resp {
        self.post("/login", &Caller::Anon, json!({ "username": user, "password": password })).await
    }

    /// Logs in, asserting success.
    pub async fn login(&self, user: &str, password: &str) -> Caller {
        let resp = self.login_raw(user, password).await;
        assert_eq!(resp.status, 200, "login {user}: {}", resp.text());
        Caller::Session(session_of(&resp))
    }

    /// Logs in with the demo password.
    pub async fn user(&self, user: &str) -> Caller {
        self.login(user, &format!("{user}-pass")).await
    }

    pub async fn create_order(&self, caller: &Caller, item: &str) -> Value {
        let resp = self.post("/orders", caller, json!({ "item": item, "quantity": 2, "address": "1 Main St" })).await;
        assert_eq!(resp.status, 201, "create: {}", resp.text());
        resp.json()
    }

    /// The order as carol (acme admin) sees it.
    pub async fn read_as_admin(&self, id: &Value) -> Value {
        let carol = self.user("carol").await;
        let resp = self.get(&format!("/orders/{id}"), &carol).await;
        assert_eq!(resp.status, 200);
        resp.json()
    }

    pub fn audit_records(&self) -> Vec<Value> {
        read_audit(&self.audit_path())
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // A failed test's server log dies with its temporary directory:
        // show it, so a failure that does not come back can still be read.
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default();
            eprintln!("--- server {} stderr ---\n{log}--- end ---", self.base);
        }
    }
}

pub fn read_audit(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().map(|l| serde_json::from_str(l).expect("audit line is JSON")).collect()
}

#[derive(Clone, Debug)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

#[derive(Clone, Debug)]
pub enum Caller {
    Anon,
    Bearer(String),
    Session(Session),
}

impl Caller {
    pub fn bearer(key: &str) -> Caller {
        Caller::Bearer(key.to_owned())
    }

    pub fn session(&self) -> &Session {
        match self {
            Caller::Session(s) => s,
            _ => panic!("not a session"),
        }
    }
}

pub const SVC_KEY: &str = "svc-billing-demo-key";
pub const ASSISTANT: &str = "assistant-demo-token";
pub const HELPER: &str = "helper-demo-token";

pub fn session_of(resp: &Resp) -> Session {
    let set_cookie = resp.header("set-cookie").expect("set-cookie");
    let cookie = set_cookie
        .split(';')
        .next()
        .and_then(|kv| kv.trim().strip_prefix("guard_session="))
        .expect("guard_session cookie")
        .to_owned();
    let csrf = resp.json()["csrf_token"].as_str().expect("csrf_token").to_owned();
    Session { cookie, csrf }
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

pub async fn send(req: RequestBuilder) -> Resp {
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.expect("body").to_vec();
    Resp { status, headers, body }
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a refusal: status, problem+json, `code`, and `status` member;
    /// a 401 carries WWW-Authenticate and a 429 Retry-After.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "expected {status} {code}, got {}", self.text());
        assert_eq!(self.header("content-type"), Some("application/problem+json"), "{}", self.text());
        let body = self.json();
        assert_eq!(body["code"], code, "{body}");
        assert_eq!(body["status"], status, "{body}");
        if status == 401 {
            assert!(self.header("www-authenticate").is_some(), "401 without WWW-Authenticate");
        }
        if status == 429 {
            assert!(self.header("retry-after").is_some(), "429 without Retry-After");
        }
        assert_eq!(self.header("cache-control"), Some("no-store"));
    }

    #[track_caller]
    pub fn assert_ok(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(self.header("cache-control"), Some("no-store"));
        if self.body.is_empty() {
            Value::Null
        } else {
            self.json()
        }
    }
}
