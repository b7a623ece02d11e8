use guard_runtime::{action, Authorized, CheckContext};

mod checks {
    use super::*;

    // Should be `async fn(&CheckContext<'_>) -> Result<(), CheckError>`.
    pub fn order_is_new(_context: &CheckContext<'_>) -> bool {
        true
    }
}

#[action(POST "/orders/{order_id}/edit", requires = "orders:write", check = checks::order_is_new)]
async fn edit(_auth: Authorized) -> &'static str {
    "edited"
}

fn main() {}
