//! The two-person rule: a refund runs only once a second admin approved it.
//! The rules on approvers (a person, of the tenant, not the requester,
//! holding `orders:approve`) are guard's (`Approvals`); these actions only
//! expose them.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use guard_runtime::approval::{ApprovalRequest, HEADER};
use guard_runtime::{action, ActionError, AppCode, Authorized, Code, Json};
use serde::{Deserialize, Serialize};

use crate::model::{check_text, parse_order_id};
use crate::state::AppState;

/// 409: the order was refunded already.
const ALREADY_REFUNDED: AppCode = AppCode::new(409, "already_refunded");

/// The longest refund reason, in characters.
const REASON_MAX: usize = 500;

#[derive(Debug, Deserialize, Serialize)]
pub struct RefundInput {
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct Refund {
    pub order_id: i64,
    pub reason: String,
    pub refunded_by: String,
    pub approval_id: String,
}

/// Refunds a captured order. The first call answers 202 with an approval
/// request; a second admin approves it (`POST /approvals/{id}/approve`);
/// the same admin's retry with `Approval-Id` and the same body refunds,
/// once.
#[action(
    POST "/orders/{id}/refund",
    requires = "orders:refund",
    callers = user,
    owner = "id",
    check = crate::checks::order_is_refundable,
    approval = "orders:approve",
)]
pub async fn refund_order(
    auth: Authorized,
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(input): Json<RefundInput>,
) -> Result<(StatusCode, Json<Refund>), ActionError> {
    check_text("reason", &input.reason, REASON_MAX).map_err(ActionError::invalid_input)?;
    let order_id = parse_order_id(&id).ok_or_else(ActionError::not_found)?;
    // The guard ran this body only with an approved `Approval-Id`.
    let approval_id = headers.get(HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let principal = auth.principal();
    let done = sqlx::query(
        "INSERT INTO refunds (order_id, tenant, reason, refunded_by, approval_id)
         SELECT id, tenant, ?, ?, ? FROM orders WHERE id = ? AND tenant = ? AND status = 'captured'
         ON CONFLICT (order_id) DO NOTHING",
    )
    .bind(&input.reason)
    .bind(&principal.id)
    .bind(&approval_id)
    .bind(order_id)
    .bind(&principal.tenant)
    .execute(&app.pool)
    .await
    .map_err(ActionError::unavailable)?;
    if done.rows_affected() == 0 {
        return Err(ActionError::new(Code::App(ALREADY_REFUNDED)).with_detail("This order was refunded already."));
    }
    let refund = Refund { order_id, reason: input.reason, refunded_by: principal.id.clone(), approval_id };
    Ok((StatusCode::CREATED, Json(refund)))
}

/// The open requests the caller may decide: of its tenant, not its own.
#[action(GET "/approvals", requires = "orders:approve", callers = user)]
pub async fn list_approvals(
    auth: Authorized,
    State(app): State<AppState>,
) -> Result<Json<Vec<ApprovalRequest>>, ActionError> {
    app.approvals.pending(&auth).await.map(Json)
}

#[action(
    POST "/approvals/{approval_id}/approve",
    requires = "orders:approve",
    callers = user,
    tenant = "approval_id",
    resource = "approvals",
)]
pub async fn approve_request(
    auth: Authorized,
    State(app): State<AppState>,
    Path(approval_id): Path<String>,
) -> Result<Json<ApprovalRequest>, ActionError> {
    app.approvals.approve(&auth, &approval_id).await.map(Json)
}

#[action(
    POST "/approvals/{approval_id}/deny",
    requires = "orders:approve",
    callers = user,
    tenant = "approval_id",
    resource = "approvals",
)]
pub async fn deny_request(
    auth: Authorized,
    State(app): State<AppState>,
    Path(approval_id): Path<String>,
) -> Result<Json<ApprovalRequest>, ActionError> {
    app.approvals.deny(&auth, &approval_id).await.map(Json)
}
