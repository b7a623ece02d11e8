use guard_runtime::{action, Authorized};

#[action(POST "/deploy", requires = "deploys:run", callers = service, bind)]
async fn deploy(_auth: Authorized) -> &'static str {
    "deployed"
}

#[action(POST "/release", requires = "deploys:run", callers = service, bind(environment = "", environment = "prod"))]
async fn release(_auth: Authorized) -> &'static str {
    "released"
}

fn main() {}
