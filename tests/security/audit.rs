//! Every decision, allow or deny, is one record with every field.

use axum::body::Body;
use guard_runtime::audit::Decision;
use guard_runtime::CallerKind;

use crate::app::*;

#[tokio::test]
async fn one_record_per_decision_with_every_field() {
    let app = app().await;
    let allowed = app
        .send(
            bearer("GET", "/docs/1?secret=never-logged", AGENT_ALICE)
                .header("x-request-id", "req-1")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(allowed.status, 200);
    assert_eq!(allowed.headers["x-request-id"], "req-1");
    app.send(bearer("GET", "/docs/2", ALICE).header("x-request-id", "req-2").body(Body::empty()).expect("request"))
        .await;
    app.send(request("GET", "/docs/1").body(Body::empty()).expect("request")).await;

    let records = app.audit_records().await;
    assert_eq!(records.len(), 3, "{records:#?}");

    let allow = &records[0];
    assert_eq!(allow.decision, Decision::Allow);
    assert_eq!(allow.code, "ok");
    // The client's id is kept beside the server's, never as it.
    assert_eq!(allow.client_request_id.as_deref(), Some("req-1"));
    assert_ne!(allow.request_id.as_deref(), Some("req-1"));
    assert_eq!(allow.principal(), Some("agent-a"));
    assert_eq!(allow.principal_kind(), Some(CallerKind::Agent));
    assert_eq!(allow.on_behalf_of(), Some("alice"));
    assert_eq!(allow.tenant(), Some("acme"));
    assert_eq!(allow.action, "read_doc");
    assert_eq!(allow.method, "GET");
    assert_eq!(allow.path(), "/docs/1", "the path, without the query");
    assert_eq!(allow.permission.as_deref(), Some("docs:read"));
    assert_eq!(allow.resource.as_deref(), Some("docs/1"));

    let deny = &records[1];
    assert_eq!((deny.decision, deny.code), (Decision::Deny, "not_found"));
    assert_eq!(deny.principal(), Some("alice"));
    assert_eq!(deny.on_behalf_of(), None);
    assert_eq!(deny.resource.as_deref(), Some("docs/2"));

    let anonymous = &records[2];
    assert_eq!((anonymous.decision, anonymous.code), (Decision::Deny, "unauthenticated"));
    assert_eq!(anonymous.principal(), None);
    assert_eq!(anonymous.principal_kind(), None);
    assert!(anonymous.request_id.is_some(), "a request id is generated when the client sends none");
    assert_eq!(anonymous.client_request_id, None);

    let line = serde_json::to_value(allow).expect("serializes");
    for field in [
        "ts",
        "request_id",
        "client_request_id",
        "principal",
        "principal_kind",
        "on_behalf_of",
        "tenant",
        "action",
        "method",
        "path",
        "permission",
        "resource",
        "decision",
        "code",
        "latency_us",
    ] {
        assert!(line.get(field).is_some(), "record lacks `{field}`: {line}");
    }
    assert_eq!(line["decision"], "allow");
    let ts = line["ts"].as_str().expect("ts is a string");
    assert!(ts.len() == 27 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T', "ts {ts}");
    assert_eq!(line["principal_kind"], "agent");
    assert_eq!(line["path"], "/docs/1");
    assert!(!line.to_string().contains("never-logged"), "the query reached the log: {line}");
}

#[tokio::test]
async fn public_actions_are_audited_too() {
    let app = app().await;
    let answer = app.send(request("GET", "/public").body(Body::empty()).expect("request")).await;
    assert_eq!(answer.status, 200);
    let records = app.audit_records().await;
    assert_eq!(records.len(), 1);
    assert_eq!(
        (records[0].decision, records[0].action, records[0].principal()),
        (Decision::Allow, "public_probe", None)
    );
}

#[tokio::test]
async fn the_json_lines_sink_writes_one_line_per_record() {
    let dir = std::env::temp_dir().join(format!("guard-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("audit.jsonl");
    let _ = std::fs::remove_file(&path);
    let sink = guard_runtime::audit::JsonLinesSink::new(&path);
    let app = app_with(Config { sink: Some(std::sync::Arc::new(sink)), ..Config::default() }).await;
    for uri in ["/docs/1", "/docs/2", "/docs/3"] {
        app.send(bearer("GET", uri, ALICE).body(Body::empty()).expect("request")).await;
    }
    app.audit_handle.flush().await.expect("flush");
    let text = std::fs::read_to_string(&path).expect("audit file");
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines.iter().map(|l| l["code"].as_str().unwrap_or("")).collect::<Vec<_>>(),
        ["ok", "not_found", "not_found"]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A client cannot make two requests share an audit id, nor take another's:
/// every record's `request_id` is the server's own, and unique.
#[tokio::test]
async fn clients_cannot_choose_or_share_audit_request_ids() {
    let app = app().await;
    for _ in 0..3 {
        let answer = app
            .send(
                bearer("GET", "/docs/1", ALICE).header("x-request-id", "same-id").body(Body::empty()).expect("request"),
            )
            .await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.headers["x-request-id"], "same-id", "the client's id is still echoed");
    }
    let records = app.audit_records().await;
    let ids: std::collections::HashSet<String> =
        records.iter().map(|r| r.request_id.as_deref().expect("an id").to_owned()).collect();
    assert_eq!(ids.len(), 3, "three requests, three ids: {records:#?}");
    assert!(records.iter().all(|r| r.client_request_id.as_deref() == Some("same-id")));
}
