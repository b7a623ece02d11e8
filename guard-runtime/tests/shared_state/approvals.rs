//! The approval store scenario both network stores must pass: requests
//! shared by two connections (two instances), transitions that exactly one
//! of many racing callers wins, listing by tenant, and forgetting.

use std::sync::Arc;
use std::time::Duration;

use guard_runtime::store::{ApprovalRequest, ApprovalState, ApprovalStore};

fn request(id: &str, tenant: &str) -> ApprovalRequest {
    ApprovalRequest {
        id: id.to_owned(),
        action: "refund_order".into(),
        object: "orders/7".into(),
        object_owner: Some("alice".into()),
        tenant: tenant.to_owned(),
        requester: "carol".into(),
        requester_user: Some("carol".into()),
        permission: "orders:approve".into(),
        input_digest: "ab".repeat(32),
        request_id: "r-1".into(),
        requested_at: 1_000,
        expires_at: u64::MAX / 2,
        state: ApprovalState::Pending,
        decided_by: None,
    }
}

/// Runs `n` transitions of `id` from `from` to `to` at once, alternating
/// between the two stores, each by its own approver; returns the winners.
async fn race<A: ApprovalStore, B: ApprovalStore>(
    one: &Arc<A>,
    two: &Arc<B>,
    n: usize,
    id: &'static str,
    (from, to): (ApprovalState, ApprovalState),
) -> Vec<String> {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let (one, two) = (one.clone(), two.clone());
        tasks.spawn(async move {
            let by = format!("approver-{i}");
            let won = if i % 2 == 0 {
                one.transition(id, from, to, Some(&by)).await
            } else {
                two.transition(id, from, to, Some(&by)).await
            };
            won.expect("transition").then_some(by)
        });
    }
    tasks.join_all().await.into_iter().flatten().collect()
}

pub async fn approvals_are_shared_and_each_transition_wins_once(
    one: impl ApprovalStore,
    two: impl ApprovalStore,
    forget_after: Duration,
) {
    let (one, two) = (Arc::new(one), Arc::new(two));
    let asked = request("req-1", "acme");
    one.create(&asked, Duration::from_secs(60)).await.expect("create");
    one.create(&request("req-2", "globex"), Duration::from_secs(60)).await.expect("create");
    assert_eq!(two.get("req-1").await.expect("get"), Some(asked.clone()), "the other instance reads it as written");
    assert_eq!(two.get("nope").await.expect("get"), None);
    let listed = two.pending("acme").await.expect("pending");
    assert_eq!(listed.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["req-1"], "by tenant");

    // Many approvers at once, on both instances: one decides.
    let approved = race(&one, &two, 16, "req-1", (ApprovalState::Pending, ApprovalState::Approved)).await;
    assert_eq!(approved.len(), 1, "exactly one approver wins: {approved:?}");
    let now = one.get("req-1").await.expect("get").expect("kept");
    assert_eq!((now.state, now.decided_by.as_deref()), (ApprovalState::Approved, Some(approved[0].as_str())));
    assert!(two.pending("acme").await.expect("pending").is_empty(), "a decided request is not pending");
    assert!(!two.transition("req-1", ApprovalState::Pending, ApprovalState::Denied, Some("late")).await.expect("deny"));

    // Many retries at once: one uses it; the approver stays recorded.
    let used = race(&one, &two, 16, "req-1", (ApprovalState::Approved, ApprovalState::Used)).await;
    assert_eq!(used.len(), 1, "exactly one use wins: {used:?}");
    let now = two.get("req-1").await.expect("get").expect("kept");
    assert_eq!(now.state, ApprovalState::Used);
    assert!(!one.transition("nope", ApprovalState::Pending, ApprovalState::Approved, None).await.expect("unknown"));

    // A request is forgotten once its time has passed.
    one.create(&request("req-3", "acme"), forget_after).await.expect("create");
    assert!(two.get("req-3").await.expect("get").is_some());
    tokio::time::sleep(forget_after + Duration::from_millis(300)).await;
    assert_eq!(two.get("req-3").await.expect("get"), None, "forgotten after its time");
    assert!(!two.transition("req-3", ApprovalState::Pending, ApprovalState::Approved, None).await.expect("late"));
    assert!(one.pending("acme").await.expect("pending").is_empty());
}
