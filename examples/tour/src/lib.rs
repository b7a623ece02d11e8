use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use guard_runtime::authn::{MemorySessionStore, MemoryTokenStore, Sessions, Tokens};
use guard_runtime::{action, resolve, ActionError, Actions, Authorized, Grant, Json};
use guard_runtime::{ObjectMeta, Resolvers, RolePolicy, StoreError};

guard_runtime::permissions! { pub OrdersWrite = "orders:write"; }

#[derive(serde::Deserialize, serde::Serialize)]
pub struct NewAddress {
    pub address: String,
}

#[derive(Clone, serde::Serialize)]
pub struct Order {
    pub tenant: String,
    pub owner: String,
    pub address: String,
}

/// Orders by id: a stand-in for your database.
#[derive(Clone, Default)]
pub struct Db(pub Arc<Mutex<HashMap<String, Order>>>);

/// The data layer demands proof that `orders:write` was checked.
async fn save_address(_proof: &Grant<OrdersWrite>, db: &Db, id: &str, address: &str) -> Result<Order, ActionError> {
    let mut orders = db.0.lock().map_err(ActionError::unavailable)?;
    let order = orders.get_mut(id).ok_or_else(ActionError::not_found)?;
    order.address = address.to_owned();
    Ok(order.clone())
}

#[action(POST "/orders/{order_id}/address", requires = "orders:write", owner = "order_id")]
pub async fn change_address(
    _auth: Authorized,             // proof the guard ran; only the runtime can build one
    grant: Grant<OrdersWrite>,     // typed grant: compile error if `requires` lacks orders:write
    State(db): State<Db>,          // any axum extractor
    Path(order_id): Path<String>,  // the object `owner` names: guard checked it before the body runs
    Json(input): Json<NewAddress>, // decoded strictly; must be the last parameter
) -> Result<Json<Order>, ActionError> {
    Ok(Json(save_address(&grant, &db, &order_id, &input.address).await?))
}

/// What guard reads before the body runs: the order's tenant and owner.
async fn order_meta(db: Db, id: String) -> Result<Option<ObjectMeta>, StoreError> {
    let orders = db.0.lock().map_err(|_| StoreError::new("orders", "lock poisoned"))?;
    Ok(orders.get(&id).map(|order| ObjectMeta::owned(order.tenant.as_str(), order.owner.as_str())))
}

/// The app: which role grants what, how callers prove who they are (bearer
/// keys first, then session cookies), and where guard finds objects.
pub fn app(db: Db) -> axum::Router {
    let policy = RolePolicy::new()
        .role("customer", ["orders:read", "orders:write"]) // own objects
        .tenant_role("admin", ["orders:*"]); // the whole tenant
    let sessions = Sessions::new(MemorySessionStore::new());
    let tokens = Tokens::new(MemoryTokenStore::new());
    let orders = db.clone();
    let resolvers = Resolvers::new().with("orders", resolve::from_fn(move |id| order_meta(orders.clone(), id)));
    Actions::new(policy, (tokens, sessions), resolvers).mount(change_address).into_router(db)
}
