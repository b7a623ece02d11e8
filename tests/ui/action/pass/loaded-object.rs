//! The body takes the object the resolver read and the guard checked: one
//! read, and the body acts on exactly what was checked.
use guard_runtime::authn::{MemoryTokenStore, Tokens};
use guard_runtime::{action, resolve, Actions, Authorized, Json, Loaded, ObjectMeta, Resolvers, RolePolicy};

#[derive(Clone, Debug, serde::Serialize)]
struct Order {
    id: String,
    item: String,
}

#[action(GET "/orders/{id}", requires = "orders:read", owner = "id")]
async fn get_order(_auth: Authorized, order: Loaded<Order>) -> Json<Order> {
    Json(order.into_inner())
}

#[derive(serde::Deserialize, serde::Serialize)]
struct Rename {
    order_id: String,
    item: String,
}

// Tenant only, the key from the input, the object anywhere in the list.
#[action(POST "/orders/rename", requires = "orders:write", tenant = "order_id")]
async fn rename(order: Loaded<Order>, _auth: Authorized, Json(input): Json<Rename>) -> String {
    format!("{} ({}) is now {}", order.id, order.item, input.item)
}

fn app() -> axum::Router {
    let resolvers = Resolvers::new().with(
        "orders",
        resolve::from_fn(|id: String| async move {
            let order = Order { id: id.clone(), item: "book".into() };
            Ok(Some(ObjectMeta::owned("acme", "alice").with_object(order)))
        }),
    );
    Actions::new(RolePolicy::new(), Tokens::new(MemoryTokenStore::new()), resolvers)
        .mount(get_order)
        .mount(rename)
        .into_router(())
}

fn main() {
    let _ = app;
}
