use guard_runtime::action;

#[action(POST "/orders", requires = "orders:write")]
struct CreateOrder {
    item: String,
}

fn main() {
    let _ = CreateOrder { item: String::new() }.item;
}
