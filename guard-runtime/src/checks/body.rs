//! A request body read within its limit, and its media type: what the JSON
//! and form inputs (step 7) and a form's CSRF field (step 4) share.

use std::borrow::Cow;

use axum::body::Body;
use axum::http::{header, request::Parts};
use http_body_util::BodyExt;

use crate::Code;

/// A refusal of the input step: its code and a client-safe detail.
pub(crate) type InputError = (Code, Cow<'static, str>);

/// Reads the whole body, refusing it (413) once it passes `limit`, whether
/// it declared its length or not (chunked).
pub(crate) async fn read(parts: &Parts, mut body: Body, limit: usize) -> Result<Vec<u8>, InputError> {
    let declared =
        parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        discard(body, DISCARD_CAP).await;
        return Err(too_large(limit));
    }
    // Read frame by frame: this also catches chunked bodies that declare no length.
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { return Err((Code::BadRequest, "The request body could not be read.".into())) };
        let Ok(data) = frame.into_data() else { continue };
        if bytes.len() + data.len() > limit {
            discard(body, DISCARD_CAP).await;
            return Err(too_large(limit));
        }
        bytes.extend_from_slice(&data);
    }
    Ok(bytes)
}

/// Whether the request has exactly one `Content-Type`, of this media type
/// (in any letter case, with or without parameters).
pub(crate) fn has_media_type(parts: &Parts, media: &str) -> bool {
    let mut values = parts.headers.get_all(header::CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else { return false };
    let Ok(value) = value.to_str() else { return false };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case(media)
}

/// How much of a refused body is still read, and thrown away, before the
/// 413 goes out. A server that answers and closes while the client is still
/// sending makes most clients report a broken connection instead of the 413
/// (the "lingering close" of web servers). Past this, the connection closes.
const DISCARD_CAP: usize = 1024 * 1024;

/// Reads and drops up to `cap` more bytes of `body`.
async fn discard(mut body: Body, cap: usize) {
    let mut seen = 0;
    while let Some(Ok(frame)) = body.frame().await {
        if let Ok(data) = frame.into_data() {
            seen += data.len();
            if seen > cap {
                return;
            }
        }
    }
}

fn too_large(limit: usize) -> InputError {
    (Code::PayloadTooLarge, Cow::Owned(format!("The request body is over the {limit}-byte limit.")))
}
