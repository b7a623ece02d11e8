use guard_runtime::Grant;

guard_runtime::permissions! {
    pub OrdersWrite = "orders:write";
}

fn forge() -> Grant<OrdersWrite> {
    Grant {}
}

fn main() {
    let _ = forge;
}
