use guard_runtime::action;

#[action(POST "/orders", requires = "orders:write")]
async fn create_order() -> &'static str {
    "created"
}

fn main() {}
