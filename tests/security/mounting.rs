//! What only mounting can check fails at startup, naming the action:
//! never per request, and never as axum's own panic.

use axum::http::Method;
use guard_runtime::authn::{MemoryTokenStore, Tokens};
use guard_runtime::{action, Actions, Authorized, Resolvers, RolePolicy};

#[action(POST "/orders", requires = "orders:write")]
async fn create_order(_auth: Authorized) -> &'static str {
    "created"
}

#[action(requires = "orders:write")]
async fn import_orders(_auth: Authorized) -> &'static str {
    "imported"
}

#[action(POST "/orders/{order_id}/cancel", requires = "orders:write", owner = "order_id")]
async fn cancel_order(_auth: Authorized) -> &'static str {
    "cancelled"
}

fn actions() -> Actions {
    Actions::new(RolePolicy::new(), Tokens::new(MemoryTokenStore::new()), Resolvers::new())
}

#[test]
#[should_panic(
    expected = "actions `create_order` and `import_orders` are both mounted on POST /orders: each method and path serves one action"
)]
fn two_actions_on_one_method_and_path_name_both() {
    let _ = actions().mount(create_order).mount_at(Method::POST, "/orders", import_orders);
}

#[test]
#[should_panic(
    expected = "actions `import_orders` and `cancel_order` are both mounted on POST /orders/{order_id}/cancel"
)]
fn parameter_names_do_not_make_routes_different() {
    let _ = actions().mount_at(Method::POST, "/orders/{id}/cancel", import_orders).mount(cancel_order);
}

#[test]
fn the_same_path_on_another_method_is_another_route() {
    let actions = actions().mount(create_order).mount_at(Method::PUT, "/orders", import_orders);
    assert_eq!(actions.manifest().len(), 2);
}

#[test]
#[should_panic(
    expected = "action `cancel_order` resolves `orders` objects, but no resolver is registered for `orders`"
)]
fn a_missing_resolver_fails_at_mount_naming_the_action() {
    let _ = actions().mount(cancel_order);
}
