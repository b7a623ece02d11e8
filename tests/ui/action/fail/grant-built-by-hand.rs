use guard_runtime::Grant;

guard_runtime::permissions! {
    pub OrdersWrite = "orders:write";
}

fn forge() -> Grant<OrdersWrite> {
    Grant { _permission: std::marker::PhantomData }
}

fn main() {
    let _ = forge;
}
