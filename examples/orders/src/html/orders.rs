//! "My orders" and one order's page, with the forms that change them.
//!
//! Each form posts to the action's form route (`…/form`, see API.md) with
//! the session's CSRF token as a hidden field; the action answers 303 to
//! the order's page (Post/Redirect/Get).

use maud::{html, Markup};

use super::layout::{csrf_field, page, Viewer};
use crate::model::{Order, ADDRESS_MAX, ITEM_MAX, QUANTITY_MAX};

/// `GET /orders` in a browser: the orders the caller may see, and a form
/// to place one.
pub fn list(viewer: &Viewer<'_>, orders: &[Order]) -> Markup {
    let body = html! {
        @if orders.is_empty() {
            p #no-orders { "No orders yet." }
        } @else {
            table #orders {
                thead { tr { th { "Order" } th { "Item" } th { "Quantity" } th { "Owner" } th { "Status" } } }
                tbody {
                    @for order in orders {
                        tr data-order-id=(order.id) {
                            td { a href={ "/orders/" (order.id) } { "#" (order.id) } }
                            td { (order.item) }
                            td { (order.quantity) }
                            td { (order.owner) }
                            td.status { (order.status) }
                        }
                    }
                }
            }
        }
        h2 { "Place an order" }
        form.card #create-order method="post" action="/orders/form" {
            (csrf_field(viewer))
            label { "Item " input type="text" name="item" required maxlength=(ITEM_MAX); }
            label { "Quantity " input type="number" name="quantity" value="1" min="1" max=(QUANTITY_MAX) required; }
            label { "Address " input type="text" name="address" required maxlength=(ADDRESS_MAX); }
            button #create type="submit" { "Place order" }
        }
    };
    page("My orders", Some(viewer), body)
}

/// `GET /orders/{id}` in a browser: the order, and the forms that change
/// its address and cancel it.
pub fn detail(viewer: &Viewer<'_>, order: &Order) -> Markup {
    let body = html! {
        table.card #order data-order-id=(order.id) {
            tr { th { "Item" } td #item { (order.item) } }
            tr { th { "Quantity" } td #quantity { (order.quantity) } }
            @if viewer.sees_address {
                tr { th { "Address" } td #address { (order.address) } }
            }
            tr { th { "Owner" } td #owner { (order.owner) } }
            tr { th { "Status" } td #status { (order.status) } }
        }
        @if order.status != "cancelled" {
            h2 { "Change the address" }
            form.card #change-address method="post" action={ "/orders/" (order.id) "/address/form" } {
                (csrf_field(viewer))
                @if viewer.sees_address {
                    label { "New address " input type="text" name="address" required maxlength=(ADDRESS_MAX) value=(order.address); }
                } @else {
                    label { "New address " input type="text" name="address" required maxlength=(ADDRESS_MAX); }
                }
                button #save-address type="submit" { "Save address" }
            }
        }
        @if order.status != "cancelled" && order.status != "captured" {
            h2 { "Cancel" }
            form.card #cancel-order method="post" action={ "/orders/" (order.id) "/cancel/form" } {
                (csrf_field(viewer))
                button #cancel type="submit" { "Cancel this order" }
            }
        }
        p { a href="/orders" { "Back to my orders" } }
    };
    page(&format!("Order #{}", order.id), Some(viewer), body)
}
