//! The admin's actions: rotating a service key, and the two admin pages
//! (the authorization manifest and the audit view), each also JSON for API
//! clients.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use guard_runtime::audit::Decision;
use guard_runtime::{action, ActionError, Authorized, Json};
use serde_json::{json, Value};

use crate::html::admin::{AuditFilter, AuditView};
use crate::html::layout::Viewer;
use crate::html::negotiate::negotiated;
use crate::principals;
use crate::state::AppState;

/// Issues a new key for a service account of the admin's tenant; the old
/// key stops working at once (same credential id, revoked before issuing).
#[action(
    POST "/admin/service-accounts/{name}/rotate-key",
    requires = "service_accounts:rotate",
    callers = user,
    fresh,
    tenant = "name",
    resource = "service_accounts",
)]
pub async fn rotate_service_key(
    _auth: Authorized,
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ActionError> {
    let principal = principals::service(&app.pool, &name)
        .await
        .map_err(ActionError::unavailable)?
        .ok_or_else(ActionError::not_found)?;
    let api_key = app.tokens.rotate(principal).await?;
    tracing::info!(service_account = %name, "service account key rotated");
    Ok(Json(json!({ "api_key": api_key })))
}

/// The authorization manifest, straight from `Actions::manifest()`: a
/// table in a browser, the JSON list for API clients.
#[action(GET "/admin/actions", requires = "actions:read", page)]
pub async fn list_actions(auth: Authorized, State(app): State<AppState>, headers: HeaderMap) -> Response {
    let viewer = Viewer::of(&auth);
    negotiated(&headers, || crate::html::admin::manifest(&viewer, &app.manifest), app.manifest.as_ref())
}

/// The latest decisions of the admin's tenant (the records kept in
/// memory, `src/recent.rs`), filtered by principal, decision and code;
/// the denials per principal; who the probing limit locks out now.
#[action(GET "/admin/audit", requires = "audit:read", page)]
pub async fn audit_view(
    auth: Authorized,
    State(app): State<AppState>,
    Query(filter): Query<AuditFilter>,
    headers: HeaderMap,
) -> Result<Response, ActionError> {
    let tenant = auth.principal().tenant.as_str();
    let kept: Vec<_> = app.recent.newest_first().into_iter().filter(|r| r.tenant() == Some(tenant)).collect();
    let mut denials: HashMap<&str, usize> = HashMap::new();
    for record in kept.iter().filter(|r| r.decision == Decision::Deny) {
        *denials.entry(record.principal().unwrap_or_default()).or_default() += 1;
    }
    let mut denials: Vec<(String, usize)> = denials.into_iter().map(|(who, n)| (who.to_owned(), n)).collect();
    denials.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let matching: Vec<_> = kept.iter().filter(|r| filter.matches(r)).cloned().collect();
    let shown = &matching[..matching.len().min(AuditView::SHOWN)];
    let lockouts = app.lockouts.of_tenant(tenant)?;
    let view = AuditView {
        filter: &filter,
        records: shown,
        matched: matching.len(),
        denials: &denials,
        lockouts: lockouts.as_deref(),
    };
    let data = json!({
        "records": shown,
        "matched": matching.len(),
        "denials_per_principal": denials.iter().map(|(who, n)| json!({ "principal": who, "denials": n })).collect::<Vec<_>>(),
        "lockouts": lockouts.as_ref().map(|l| l.iter().map(|l| json!({
            "principal": l.who, "denials": l.denials, "resets_in_secs": l.resets_in_secs,
        })).collect::<Vec<_>>()),
    });
    Ok(negotiated(&headers, || crate::html::admin::audit(&Viewer::of(&auth), &view), &data))
}
