//! Strict JSON bodies: media type, size, duplicates, trailing data, types,
//! unknown fields. Every refusal leaves the data as it was.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

const GOOD: &str = r#"{"item":"lamp","quantity":2,"address":"1 Main St"}"#;

async fn raw(app: &App, caller: &Caller, content_type: Option<&str>, body: impl Into<reqwest::Body>) -> Resp {
    let mut req = app.request(Method::POST, "/orders", caller).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    send(req).await
}

async fn count(app: &App, caller: &Caller) -> usize {
    app.get("/orders", caller).await.assert_ok(200).as_array().unwrap().len()
}

#[tokio::test]
async fn content_type_must_be_json_in_any_case_with_parameters() {
    let app = App::start(&[]);
    let alice = app.user("alice").await;
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/jsonx"),
        Some("multipart/form-data; boundary=x"),
        Some(""),
    ] {
        raw(&app, &alice, ct, GOOD).await.assert_problem(415, "unsupported_media_type");
    }
    assert_eq!(count(&app, &alice).await, 0);
    for ct in
        ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "Application/Json;charset=UTF-8"]
    {
        raw(&app, &alice, Some(ct), GOOD).await.assert_ok(201);
    }
    assert_eq!(count(&app, &alice).await, 4);
    // The login form follows the same rules.
    let form = send(
        app.client
            .post(app.url("/login"))
            .body("username=alice&password=alice-pass")
            .header("content-type", "application/x-www-form-urlencoded"),
    )
    .await;
    form.assert_problem(415, "unsupported_media_type");
}

#[tokio::test]
async fn bodies_over_64_kib_are_413_declared_or_chunked() {
    let app = App::start(&[]);
    let alice = app.user("alice").await;
    let big = json!({ "item": "x", "quantity": 1, "address": "a".repeat(70 * 1024) }).to_string();
    raw(&app, &alice, Some("application/json"), big.clone()).await.assert_problem(413, "payload_too_large");
    // No Content-Length: streamed in chunks.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.as_bytes().chunks(8 * 1024).map(|c| Ok(c.to_vec())).collect();
    let stream = futures_util::stream::iter(chunks);
    raw(&app, &alice, Some("application/json"), reqwest::Body::wrap_stream(stream))
        .await
        .assert_problem(413, "payload_too_large");
    // Just under the limit is read (then refused by the field rules).
    let under = json!({ "item": "x", "quantity": 1, "address": "a".repeat(60 * 1024) }).to_string();
    raw(&app, &alice, Some("application/json"), under).await.assert_problem(422, "invalid_input");
    assert_eq!(count(&app, &alice).await, 0);
}

#[tokio::test]
async fn malformed_ambiguous_or_coerced_json_is_refused_and_changes_nothing() {
    let app = App::start(&[]);
    let alice = app.user("alice").await;
    let order = app.create_order(&alice, "lamp").await;
    let refused: &[(&str, u16, &str)] = &[
        (r#"{"item":"a","item":"b","quantity":2,"address":"x"}"#, 400, "bad_request"),
        (r#"{"item":"a","quantity":2,"address":"x"} {}"#, 400, "bad_request"),
        (r#"{"item":"a","quantity":2,"address":"x"}garbage"#, 400, "bad_request"),
        (r#"{"item":"a","quantity":2,"address":"x""#, 400, "bad_request"),
        ("", 400, "bad_request"),
        (r#"{"item":"a","quantity":"5","address":"x"}"#, 422, "invalid_input"),
        (r#"{"item":"a","quantity":5.0,"address":"x"}"#, 422, "invalid_input"),
        (r#"{"item":"a","quantity":true,"address":"x"}"#, 422, "invalid_input"),
        (r#"{"item":"a","quantity":2,"address":"x","owner":"bob"}"#, 422, "invalid_input"),
        (r#"{"item":"a","quantity":2,"address":"x","tenant":"globex"}"#, 422, "invalid_input"),
        (r#"{"item":"a","quantity":2,"address":"x","status":"captured"}"#, 422, "invalid_input"),
        (r#"{"item":"a","quantity":2,"address":"x","id":1}"#, 422, "invalid_input"),
    ];
    for (body, status, code) in refused {
        raw(&app, &alice, Some("application/json"), *body).await.assert_problem(*status, code);
    }
    let path = format!("/orders/{}/address", order["id"]);
    for (body, status, code) in [
        (r#"{"address":"a","address":"b"}"#, 400, "bad_request"),
        (r#"{"address":"b","owner":"bob"}"#, 422, "invalid_input"),
        (r#"{"address":5}"#, 422, "invalid_input"),
    ] {
        let req = app.request(Method::POST, &path, &alice).header("content-type", "application/json").body(body);
        send(req).await.assert_problem(status, code);
    }
    let login = send(
        app.client
            .post(app.url("/login"))
            .header("content-type", "application/json")
            .body(r#"{"username":"bob","username":"alice","password":"alice-pass"}"#),
    )
    .await;
    login.assert_problem(400, "bad_request");
    // Read as an admin: the billing service would not see the address.
    let list = app.get("/orders", &app.user("carol").await).await.assert_ok(200);
    assert_eq!(list, Value::Array(vec![order.clone()]), "a refused body changed something");
    // A body naming an owner cannot create an order for someone else either.
    let bob = app.user("bob").await;
    assert_eq!(count(&app, &bob).await, 0);
    let _ = json!(null);
}
