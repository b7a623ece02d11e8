//! Step 7: JSON only, within the limit, with no field the input type does
//! not know (so no `owner`/`tenant` mass assignment), no duplicate keys, no
//! trailing data and no coercion.

use axum::body::Body;

use crate::app::*;

fn edit(content_type: Option<&str>, body: impl Into<Body>) -> axum::http::Request<Body> {
    let mut builder = bearer("POST", "/docs/1", ALICE);
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    builder.body(body.into()).expect("request")
}

#[tokio::test]
async fn only_json_media_types_are_accepted() {
    let app = app().await;
    for ct in [None, Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("application/json-patch+json")]
    {
        app.send(edit(ct, EDIT)).await.assert_problem(415, "unsupported_media_type");
    }
    assert_eq!(app.ran.count(), 0);
    for ct in ["application/json", "APPLICATION/JSON", "application/json; charset=utf-8"] {
        let answer = app.send(edit(Some(ct), EDIT)).await;
        assert_eq!(answer.status, 200, "{ct}: {}", answer.text);
    }
    assert_eq!(app.ran.count(), 3);
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let app = app().await;
    let big = format!(r#"{{"text":"{}","tag":"t"}}"#, "x".repeat(64 * 1024));
    app.send(edit(Some("application/json"), big)).await.assert_problem(413, "payload_too_large");
    // A chunked body with no Content-Length is cut off while streaming.
    let chunks = (0..80).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1024]));
    let stream = Body::from_stream(futures_util::stream::iter(chunks));
    app.send(edit(Some("application/json"), stream)).await.assert_problem(413, "payload_too_large");
    // The action's own `limit = "1KiB"`.
    let moved = format!(r#"{{"doc_id":"1","to":"{}"}}"#, "y".repeat(1100));
    let answer = app
        .send(
            bearer("POST", "/moves", ALICE)
                .header("content-type", "application/json")
                .body(Body::from(moved))
                .expect("request"),
        )
        .await;
    answer.assert_problem(413, "payload_too_large");
    assert_eq!(app.ran.count(), 0);
}

#[tokio::test]
async fn malformed_documents_are_400() {
    let app = app().await;
    for body in [
        "{",
        "",
        "nul",
        r#"{"text":"a","tag":"t"} {"text":"b"}"#,
        r#"{"text":"a","tag":"t"}x"#,
        r#"{"text":"a","text":"b","tag":"t"}"#,
    ] {
        app.send(edit(Some("application/json"), body)).await.assert_problem(400, "bad_request");
    }
    assert_eq!(app.ran.count(), 0);
}

#[tokio::test]
async fn unknown_fields_wrong_types_and_coercions_are_422() {
    let app = app().await;
    for body in [
        r#"{"text":"a","tag":"t","owner":"bob"}"#,
        r#"{"text":"a","tag":"t","tenant":"globex"}"#,
        r#"{"text":5,"tag":"t"}"#,
        r#"{"text":"a"}"#,
        r#"[]"#,
    ] {
        app.send(edit(Some("application/json"), body)).await.assert_problem(422, "invalid_input");
    }
    let moves =
        [r#"{"doc_id":1,"to":"x"}"#, r#"{"doc_id":"1","to":true}"#, r#"{"doc_id":"1","to":"x","owner":"alice"}"#];
    for body in moves {
        let answer = app
            .send(
                bearer("POST", "/moves", ALICE)
                    .header("content-type", "application/json")
                    .body(Body::from(body))
                    .expect("request"),
            )
            .await;
        answer.assert_problem(422, "invalid_input");
    }
    assert_eq!(app.ran.count(), 0);
}

#[tokio::test]
async fn unknown_fields_are_named_in_the_detail() {
    let app = app().await;
    let answer = app.send(edit(Some("application/json"), r#"{"text":"a","tag":"t","owner":"bob"}"#)).await;
    answer.assert_problem(422, "invalid_input");
    assert_eq!(answer.json()["detail"], "unknown field `owner`");
}

#[tokio::test]
async fn input_is_decoded_only_after_authorization() {
    let app = app().await;
    // Garbage from an unauthenticated caller is a 401, not a parse error.
    let answer = app
        .send(request("POST", "/docs/1").header("content-type", "text/plain").body(Body::from("{")).expect("request"))
        .await;
    answer.assert_problem(401, "unauthenticated");
}
