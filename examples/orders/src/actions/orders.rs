//! Orders. guard has already checked permission, tenant and owner before any
//! body runs; the queries filter by tenant again anyway, as defense in depth.
//!
//! The two reads are pages too (`page`): a browser gets HTML and, signed
//! out, a 303 to the login page; API clients get JSON and a 401. The
//! writes here take JSON; their form twins are in `forms.rs`, and both run
//! the same operations below.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use guard_runtime::{action, ActionError, Authorized, Code, Json, Loaded};
use sqlx::sqlite::SqliteRow;

use crate::html::layout::Viewer;
use crate::html::negotiate::negotiated;
use crate::model::{check_text, parse_order_id, NewAddress, NewOrder, Order, ADDRESS_MAX, ITEM_MAX, QUANTITY_MAX};
use crate::state::AppState;

fn order(row: Option<SqliteRow>) -> Result<Order, ActionError> {
    let row = row.ok_or_else(ActionError::not_found)?;
    Order::from_row(&row).map_err(ActionError::unavailable)
}

fn id_of(key: &str) -> Result<i64, ActionError> {
    parse_order_id(key).ok_or_else(ActionError::not_found)
}

/// A customer sees its own orders; support and admin see their whole tenant.
#[action(GET "/orders", requires = "orders:read", page)]
pub async fn list_orders(
    auth: Authorized,
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ActionError> {
    let orders = visible(&auth, &app).await?;
    Ok(negotiated(&headers, || crate::html::orders::list(&Viewer::of(&auth), &orders), &orders))
}

/// The order the resolver read for the owner check is the answer: one read,
/// and what is shown is exactly what was checked.
#[action(GET "/orders/{id}", requires = "orders:read", owner = "id", page)]
pub async fn get_order(auth: Authorized, headers: HeaderMap, order: Loaded<Order>) -> Response {
    let order = order.into_inner();
    negotiated(&headers, || crate::html::orders::detail(&Viewer::of(&auth), &order), &order)
}

/// Owner and tenant come from the caller (an agent's orders belong to its
/// user); the input type has no such fields, so sending them is a 422.
#[action(POST "/orders", requires = "orders:write")]
pub async fn create_order(
    auth: Authorized,
    State(app): State<AppState>,
    Json(input): Json<NewOrder>,
) -> Result<(StatusCode, Json<Order>), ActionError> {
    Ok((StatusCode::CREATED, Json(place(&auth, &app, &input).await?)))
}

#[action(POST "/orders/{id}/address", requires = "orders:write", owner = "id")]
pub async fn change_address(
    auth: Authorized,
    State(app): State<AppState>,
    Path(id): Path<String>,
    Json(input): Json<NewAddress>,
) -> Result<Json<Order>, ActionError> {
    Ok(Json(readdress(&auth, &app, &id, &input).await?))
}

#[action(
    POST "/orders/{id}/cancel",
    requires = "orders:write",
    owner = "id",
    check = crate::checks::not_captured,
)]
pub async fn cancel_order(
    auth: Authorized,
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Order>, ActionError> {
    Ok(Json(cancel(&auth, &app, &id).await?))
}

#[action(DELETE "/orders/{id}", requires = "orders:delete", owner = "id")]
pub async fn delete_order(
    auth: Authorized,
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ActionError> {
    let done = sqlx::query("DELETE FROM orders WHERE id = ? AND tenant = ?")
        .bind(id_of(&id)?)
        .bind(&auth.principal().tenant)
        .execute(&app.pool)
        .await
        .map_err(ActionError::unavailable)?;
    if done.rows_affected() == 0 {
        return Err(ActionError::not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The orders `auth` may see, by id.
async fn visible(auth: &Authorized, app: &AppState) -> Result<Vec<Order>, ActionError> {
    let sql = concat!(
        "SELECT ",
        crate::order_columns!(),
        " FROM orders WHERE tenant = ?1 AND (?2 IS NULL OR owner = ?2) ORDER BY id"
    );
    let rows = sqlx::query(sql)
        .bind(&auth.principal().tenant)
        .bind(auth.visible_owner())
        .fetch_all(&app.pool)
        .await
        .map_err(ActionError::unavailable)?;
    rows.iter().map(Order::from_row).collect::<Result<_, _>>().map_err(ActionError::unavailable)
}

/// Places an order for the caller (`POST /orders` and its form).
pub(crate) async fn place(auth: &Authorized, app: &AppState, input: &NewOrder) -> Result<Order, ActionError> {
    check_text("item", &input.item, ITEM_MAX).map_err(ActionError::invalid_input)?;
    check_text("address", &input.address, ADDRESS_MAX).map_err(ActionError::invalid_input)?;
    if !(1..=QUANTITY_MAX).contains(&input.quantity) {
        return Err(ActionError::invalid_input(format!("`quantity` must be an integer from 1 to {QUANTITY_MAX}")));
    }
    let principal = auth.principal();
    // A service account owns nothing, so it cannot place orders.
    let owner = principal.owner_id().ok_or_else(|| ActionError::new(Code::Forbidden))?;
    let sql = concat!(
        "INSERT INTO orders (tenant, owner, item, quantity, address, status) VALUES (?, ?, ?, ?, ?, 'new') RETURNING ",
        crate::order_columns!()
    );
    let row = sqlx::query(sql)
        .bind(&principal.tenant)
        .bind(owner)
        .bind(&input.item)
        .bind(input.quantity)
        .bind(&input.address)
        .fetch_optional(&app.pool)
        .await
        .map_err(ActionError::unavailable)?;
    order(row)
}

/// Changes an order's address (`POST /orders/{id}/address` and its form).
pub(crate) async fn readdress(
    auth: &Authorized,
    app: &AppState,
    id: &str,
    input: &NewAddress,
) -> Result<Order, ActionError> {
    check_text("address", &input.address, ADDRESS_MAX).map_err(ActionError::invalid_input)?;
    let sql = concat!("UPDATE orders SET address = ? WHERE id = ? AND tenant = ? RETURNING ", crate::order_columns!());
    let row = sqlx::query(sql)
        .bind(&input.address)
        .bind(id_of(id)?)
        .bind(&auth.principal().tenant)
        .fetch_optional(&app.pool)
        .await
        .map_err(ActionError::unavailable)?;
    order(row)
}

/// Cancels an order (`POST /orders/{id}/cancel` and its form).
pub(crate) async fn cancel(auth: &Authorized, app: &AppState, id: &str) -> Result<Order, ActionError> {
    // The status condition again in the update: a capture that landed after
    // the check still wins.
    let sql = concat!(
        "UPDATE orders SET status = 'cancelled' WHERE id = ? AND tenant = ? AND status <> 'captured' RETURNING ",
        crate::order_columns!()
    );
    let row = sqlx::query(sql)
        .bind(id_of(id)?)
        .bind(&auth.principal().tenant)
        .fetch_optional(&app.pool)
        .await
        .map_err(ActionError::unavailable)?;
    match row {
        Some(row) => Order::from_row(&row).map_err(ActionError::unavailable),
        None => Err(ActionError::new(Code::Forbidden).with_detail("A captured order cannot be cancelled.")),
    }
}
