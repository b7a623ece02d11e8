use guard_runtime::{Authorized, Principal, Reach};

fn forge(principal: Principal) -> Authorized {
    Authorized { principal: std::sync::Arc::new(principal), session: None, reach: Reach::Tenant, required: &[], object: None, request_id: None }
}

fn main() {
    let _ = forge;
}
