//! Headless Chromium driven over WebDriver: Debian's `chromedriver` on a
//! free loopback port (killed on drop), one browser session per scenario,
//! and artifacts (a screenshot and the page source) when a scenario fails.

use std::future::Future;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

use crate::common::App;

/// How long any one wait for the browser may take before the scenario fails.
pub const WAIT: Duration = Duration::from_secs(15);

/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);

/// Debian's `chromium-driver` and `chromium` (test.sh installs both).
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// One browser at a time: two cores, and each Chromium wants them.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A port nothing listens on now (the OS's pick, released for the child).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// A running `chromedriver`; killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    async fn start(log: PathBuf) -> Driver {
        let port = free_port();
        let log = std::fs::File::create(&log).expect("chromedriver log");
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{CHROMEDRIVER} does not start ({e}): run ./test.sh --install-only"));
        let driver = Driver { child, url: format!("http://127.0.0.1:{port}") };
        // Ready when its status says so; it takes well under a second.
        let status = format!("{}/status", driver.url);
        let http = reqwest::Client::new();
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(resp) = http.get(&status).send().await {
                if let Ok(body) = resp.json::<Value>().await {
                    if body["value"]["ready"] == true {
                        return driver;
                    }
                }
            }
            assert!(Instant::now() < deadline, "chromedriver on port {port} never got ready");
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a scenario gets: the app (the built binary on 127.0.0.1) and a
/// browser on a fresh profile.
pub struct Ctx {
    pub app: App,
    pub browser: Client,
}

/// Runs `scenario` against a fresh app and browser. If it fails, the
/// browser's screenshot and page source are saved under
/// `target/browser-artifacts/<name>/`, and the failure says where.
pub async fn scenario<F, Fut>(name: &str, scenario: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let _one = ONE_BROWSER.lock().await;
    let artifacts = artifacts_dir(name);
    let driver = Driver::start(artifacts.join("chromedriver.log")).await;
    let browser = connect(&driver.url).await;
    let app = App::start(&[]);
    // In a task of its own, so a panic comes back here as an error while
    // the browser still shows what went wrong.
    let outcome = tokio::spawn(scenario(Ctx { app, browser: browser.clone() })).await;
    if let Err(failure) = outcome {
        let saved = save_artifacts(&browser, &artifacts).await;
        let _ = browser.close().await;
        let message = failure
            .try_into_panic()
            .ok()
            .and_then(|p| {
                p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            })
            .unwrap_or_else(|| "the scenario failed".to_owned());
        panic!("{name}: {message}\n{saved}");
    }
    browser.close().await.expect("close the browser");
    drop(driver);
    let _ = std::fs::remove_dir_all(&artifacts);
}

async fn connect(driver: &str) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900", "--no-first-run", "--disable-extensions",
            ],
        }),
    );
    ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(driver)
        .await
        .unwrap_or_else(|e| panic!("no browser session from chromedriver ({e})"))
}

fn artifacts_dir(name: &str) -> PathBuf {
    // CARGO_TARGET_TMPDIR is `target/tmp`: its parent is the target dir.
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dir = target.parent().unwrap_or(&target).join("browser-artifacts").join(name);
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    dir
}

/// Saves what the browser shows; says where, or why not.
async fn save_artifacts(browser: &Client, dir: &std::path::Path) -> String {
    let mut said = Vec::new();
    if let Ok(url) = browser.current_url().await {
        said.push(format!("the browser was at {url}"));
    }
    match browser.screenshot().await {
        Ok(png) => match std::fs::write(dir.join("screenshot.png"), png) {
            Ok(()) => said.push(format!("screenshot: {}", dir.join("screenshot.png").display())),
            Err(e) => said.push(format!("screenshot not saved: {e}")),
        },
        Err(e) => said.push(format!("no screenshot: {e}")),
    }
    match browser.source().await {
        Ok(html) => match std::fs::write(dir.join("page.html"), html) {
            Ok(()) => said.push(format!("page source: {}", dir.join("page.html").display())),
            Err(e) => said.push(format!("page source not saved: {e}")),
        },
        Err(e) => said.push(format!("no page source: {e}")),
    }
    said.join("\n")
}

/// Polls `probe` until it gives `Some`, failing with `what` after [`WAIT`].
pub async fn eventually<T, Fut>(what: &str, mut probe: impl FnMut() -> Fut) -> T
where
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(Instant::now() < deadline, "waited {WAIT:?} for {what}");
        tokio::time::sleep(POLL).await;
    }
}

/// Browser steps the scenarios share.
pub struct Page<'a>(pub &'a Client);

impl Page<'_> {
    /// Waits until the browser shows `path` on the app (or the attacker's
    /// server) and the page has loaded.
    pub async fn wait_for_path(&self, path: &str) {
        let browser = self.0;
        eventually(&format!("the browser at {path}"), || async move {
            let url = browser.current_url().await.ok()?;
            let ready = browser.execute("return document.readyState", vec![]).await.ok()?;
            (url.path() == path && ready == "complete").then_some(())
        })
        .await;
    }

    /// The current path and query.
    pub async fn location(&self) -> String {
        let url = self.0.current_url().await.expect("current url");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// The HTTP status the current page was served with (the browser's
    /// navigation timing records it).
    pub async fn status(&self) -> u16 {
        let script = "return performance.getEntriesByType('navigation')[0].responseStatus";
        let status = self.0.execute(script, vec![]).await.expect("navigation status");
        status.as_u64().and_then(|s| u16::try_from(s).ok()).unwrap_or_else(|| panic!("no status: {status}"))
    }

    /// The text of the element `css`, waiting for it to appear.
    pub async fn text(&self, css: &str) -> String {
        match self.0.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
            Ok(element) => element.text().await.expect("text"),
            Err(e) => panic!("no {css} on {}: {e}", self.location().await),
        }
    }

    /// Waits until the element `css` reads `expected`.
    pub async fn wait_for_text(&self, css: &str, expected: &str) {
        let browser = self.0;
        eventually(&format!("{css} to read {expected:?}"), || async move {
            let element = browser.find(Locator::Css(css)).await.ok()?;
            (element.text().await.ok()? == expected).then_some(())
        })
        .await;
    }

    /// The status and guard's refusal `code` of the page shown (loaded:
    /// after [`Page::wait_for_path`]); `None` when the page is no refusal.
    pub async fn refusal(&self) -> (u16, Option<String>) {
        let code = match self.0.find(Locator::Css("#error-code")).await {
            Ok(element) => Some(element.text().await.expect("text")),
            Err(_) => None,
        };
        (self.status().await, code)
    }

    /// Types `value` into the field `css`, replacing what it held.
    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.0.wait().at_most(WAIT).for_element(Locator::Css(css)).await.expect("field");
        field.clear().await.expect("clear");
        field.send_keys(value).await.expect("type");
    }

    pub async fn click(&self, css: &str) {
        let button = self.0.wait().at_most(WAIT).for_element(Locator::Css(css)).await;
        button.unwrap_or_else(|e| panic!("no {css}: {e}")).click().await.expect("click");
    }

    /// Logs in on the login page the browser shows, and waits for `then`.
    pub async fn log_in(&self, user: &str, then: &str) {
        self.fill("#username", user).await;
        self.fill("#password", &format!("{user}-pass")).await;
        self.click("#log-in").await;
        self.wait_for_path(then).await;
        assert_eq!(self.text("#signed-in-as").await, user);
    }

    /// Opens the login page and logs in; lands on "my orders".
    pub async fn open_and_log_in(&self, app: &App, user: &str) {
        self.0.goto(&app.url("/login")).await.expect("open /login");
        self.log_in(user, "/orders").await;
    }
}
