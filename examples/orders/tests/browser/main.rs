//! The orders app's pages in a real browser: Debian's headless Chromium
//! driven over WebDriver (fantoccini), against the built binary on
//! 127.0.0.1. One module per threat or journey; every scenario checks what
//! the browser shows AND what the server did (the database through the
//! API, the audit log).
//!
//! A failing scenario leaves a screenshot and the page source under
//! `target/browser-artifacts/<scenario>/` and names them in its message.

#[path = "../common/mod.rs"]
mod common;

mod admin;
mod attacker;
mod csrf;
mod harness;
mod journeys;
mod owner;

use std::time::Instant;

use serde_json::Value;

use common::{App, Caller};

/// An order of `user` made through the JSON API (the browser tests check
/// pages, not setup).
pub async fn order_of(app: &App, user: &str) -> (Caller, i64) {
    let caller = app.user(user).await;
    let order = app.create_order(&caller, "kettle").await;
    (caller, order["id"].as_i64().expect("order id"))
}

/// The order as the API shows it to carol (acme's admin).
pub async fn order_now(app: &App, id: i64) -> Value {
    app.read_as_admin(&Value::from(id)).await
}

/// Waits until the audit log holds `count` records matching `keep` (the
/// log is written in batches, shortly after the answer), and returns them.
pub async fn audited(app: &App, count: usize, keep: impl Fn(&Value) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + harness::WAIT;
    loop {
        let found: Vec<Value> = app.audit_records().into_iter().filter(|r| keep(r)).collect();
        if found.len() >= count || Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
