use guard_runtime::{action, Authorized};

#[action(POST "/wire", requires = "payments:send", acr = ["phr", "two factor"])]
async fn wire(_auth: Authorized) -> &'static str {
    "sent"
}

fn main() {}
