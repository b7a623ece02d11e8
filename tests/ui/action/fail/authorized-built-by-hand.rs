use guard_runtime::Authorized;

fn forge() -> Authorized {
    Authorized {}
}

fn main() {
    let _ = forge;
}
