//! Rows as the API shows them, and the input types of the JSON bodies.

use guard_runtime::Minimize;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

/// An order as every order route returns it.
#[derive(Clone, Debug, Serialize)]
pub struct Order {
    pub id: i64,
    pub owner: String,
    pub tenant: String,
    pub item: String,
    pub quantity: i64,
    pub address: String,
    pub status: String,
}

/// The delivery address is personal data: a caller sees it only with
/// `orders:read_address` besides the action's own permission (customers,
/// support and admins do; an agent only if its scopes grant it too).
impl Minimize for Order {
    const GUARDED_FIELDS: &'static [(&'static str, &'static str)] = &[("address", "orders:read_address")];
}

/// The columns `Order::from_row` reads, for `concat!`-built queries (sqlx
/// takes only static SQL strings: no query text is ever built at run time).
#[macro_export]
macro_rules! order_columns {
    () => {
        "id, owner, tenant, item, quantity, address, status"
    };
}

impl Order {
    pub fn from_row(row: &SqliteRow) -> Result<Self, sqlx::Error> {
        Ok(Order {
            id: row.try_get("id")?,
            owner: row.try_get("owner")?,
            tenant: row.try_get("tenant")?,
            item: row.try_get("item")?,
            quantity: row.try_get("quantity")?,
            address: row.try_get("address")?,
            status: row.try_get("status")?,
        })
    }
}

/// Order ids are SQLite row ids written in canonical decimal. Anything else
/// (`007`, `+7`, `7.0`, `abc`) names no order, exactly like a missing one.
pub fn parse_order_id(key: &str) -> Option<i64> {
    let id: i64 = key.parse().ok()?;
    (id > 0 && id.to_string() == key).then_some(id)
}

/// `POST /orders`. Owner and tenant are not fields: they come from the
/// caller, and guard refuses unknown fields with 422. Its JSON Schema is
/// the `create_order` tool's input.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
pub struct NewOrder {
    pub item: String,
    pub quantity: u32,
    pub address: String,
}

/// `POST /orders/{id}/address`.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
pub struct NewAddress {
    pub address: String,
}

/// `POST /admin/users/{name}/role`.
#[derive(Debug, Deserialize, Serialize)]
pub struct NewRole {
    pub role: String,
}

/// `POST /login`.
#[derive(Deserialize, Serialize)]
pub struct Login {
    pub username: String,
    pub password: String,
}

/// `POST /login/form`: the login form's fields. `next` is the page to go
/// back to (a hidden field, empty for none); it is checked to be a local
/// path before it is followed.
#[derive(Deserialize, Serialize)]
pub struct LoginForm {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub next: String,
}

/// A form with no field of its own (log out, cancel): only the hidden
/// CSRF token, which guard takes out before decoding, so anything else
/// posted is an unknown field (422).
#[derive(Debug, Deserialize, Serialize)]
pub struct Confirm {}

/// `POST /reauth`.
#[derive(Deserialize, Serialize)]
pub struct Reauth {
    pub password: String,
}

/// `POST /account/password`.
#[derive(Deserialize, Serialize)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Item: 1 to 200 characters; address: 1 to 500; quantity: 1 to 10,000.
pub const ITEM_MAX: usize = 200;
pub const ADDRESS_MAX: usize = 500;
pub const QUANTITY_MAX: u32 = 10_000;

/// Counts characters (not bytes), as the contract does.
pub fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), String> {
    let len = value.chars().count();
    if len == 0 || len > max {
        return Err(format!("`{field}` must be 1 to {max} characters"));
    }
    Ok(())
}
