use guard_runtime::{action, Authorized};

#[action(POST "/account/delete", requires = "account:delete", fresh = "5 minutes")]
async fn delete_account(_auth: Authorized) -> &'static str {
    "deleted"
}

fn main() {}
