use guard_runtime::action;

#[action(GET "/health", public)]
async fn health() -> &'static str {
    "ok"
}

fn main() {}
