use axum::extract::{Path, State};
use guard_runtime::{action, ActionError, Authorized, Code, Json};

use crate::model::{parse_order_id, Order};
use crate::state::AppState;

/// Services capture payments of any order of their tenant (they own
/// nothing); the `Idempotency-Key` header makes each capture single-use.
/// Only credentials of production may: the claim `environment` must be
/// `production` (a JWT's own claim, or the one the app stores with the
/// billing service's API keys), else 403 `binding_failed`.
#[action(
    POST "/payments/{order_id}/capture",
    requires = "payments:capture",
    callers = service,
    tenant = "order_id",
    resource = "orders",
    replay,
    check = crate::checks::order_is_capturable,
    bind(environment = "production"),
)]
pub async fn capture_payment(
    auth: Authorized,
    State(app): State<AppState>,
    Path(order_id): Path<String>,
) -> Result<Json<Order>, ActionError> {
    let id = parse_order_id(&order_id).ok_or_else(ActionError::not_found)?;
    // `status = 'new'` again in the update: a capture racing a cancel
    // cannot capture a cancelled order.
    let sql = concat!(
        "UPDATE orders SET status = 'captured' WHERE id = ? AND tenant = ? AND status = 'new' RETURNING ",
        crate::order_columns!()
    );
    let row = sqlx::query(sql)
        .bind(id)
        .bind(&auth.principal().tenant)
        .fetch_optional(&app.pool)
        .await
        .map_err(ActionError::unavailable)?;
    match row {
        Some(row) => Ok(Json(Order::from_row(&row).map_err(ActionError::unavailable)?)),
        None => Err(ActionError::new(Code::Forbidden).with_detail("Only a new order can be captured.")),
    }
}
