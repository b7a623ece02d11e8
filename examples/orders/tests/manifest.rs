//! The authorization manifest is checked in (`authorization-manifest.json`)
//! and must match the code: a policy change shows up in review as a diff of
//! that file, and this test fails, in words, until the file is regenerated:
//!
//! ```text
//! cargo run -p orders-example -- manifest > examples/orders/authorization-manifest.json
//! ```

mod common;

use guard_runtime::manifest::Manifest;
use orders_example::app;

const CHECKED_IN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/authorization-manifest.json");

fn code_manifest() -> Manifest {
    app::manifest(sqlx::SqlitePool::connect_lazy("sqlite::memory:").expect("lazy pool"))
}

#[tokio::test]
async fn the_checked_in_manifest_is_the_codes() {
    if let Err(stale) = code_manifest().check_file(CHECKED_IN) {
        panic!(
            "{stale}\nregenerate it with: cargo run -p orders-example -- manifest > examples/orders/authorization-manifest.json"
        );
    }
}

#[tokio::test]
async fn a_widened_policy_fails_with_a_readable_diff() {
    // What a change to the code would do: capture_payment accepts agents,
    // delete_order becomes public, a new export action appears.
    let mut code = code_manifest();
    let capture = code.actions.iter_mut().find(|a| a.name == "capture_payment").expect("capture_payment");
    capture.callers.push("agent".into());
    let delete = code.actions.iter_mut().find(|a| a.name == "delete_order").expect("delete_order");
    delete.policy = "public".into();
    delete.requires.clear();
    delete.public_reason = Some("cleanup script".into());
    let mut export = code.actions[0].clone();
    export.name = "export_orders".into();
    export.policy = "requires".into();
    export.requires = vec!["orders:export".into()];
    export.public_reason = None;
    export.method = "GET".into();
    export.path = "/orders/export".into();
    code.actions.push(export);
    let stale = code.check_file(CHECKED_IN).expect_err("the file no longer matches");
    let text = stale.to_string();
    for line in [
        "capture_payment: callers widened [service] → [service, agent]",
        "delete_order: now public (cleanup script)",
        "new action export_orders: requires orders:export on GET /orders/export",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    assert_eq!(stale.changes.len(), 3, "{text}");
}

#[test]
fn the_regenerate_command_prints_the_checked_in_file() {
    let output = common::command(&["manifest"]).output().expect("run orders-example manifest");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed = String::from_utf8(output.stdout).expect("utf-8");
    let checked_in = std::fs::read_to_string(CHECKED_IN).expect("checked-in manifest");
    assert_eq!(printed, checked_in, "regenerate the file: the command's output differs");
}
