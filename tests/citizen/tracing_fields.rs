//! What an app's tracing gets from guard: the caller and the request id as
//! response extensions and span fields, and audit records as structured
//! events with one field per member.

use std::sync::Arc;

use guard_runtime::audit::TracingSink;
use guard_runtime::{Principal, RequestId};
use tower::ServiceExt;
use tracing_subscriber::layer::SubscriberExt;

use crate::app::{actions, bearer};
use crate::capture::Captured;

#[tokio::test]
async fn answers_carry_the_caller_and_the_request_id_as_extensions() {
    let router = actions().await.into_router(());
    let answer = router.oneshot(bearer("GET", "/report")).await.expect("answer");
    let principal = answer.extensions().get::<Arc<Principal>>().expect("the caller");
    assert_eq!(principal.id, "svc-reporter");
    let id = answer.extensions().get::<RequestId>().expect("the request id");
    assert_eq!(answer.headers()["x-request-id"], id.as_str());
}

#[tokio::test]
async fn the_tracing_sink_writes_one_field_per_record_member() {
    let captured = Captured::default();
    let _one = crate::capture::one_subscriber_at_a_time().await;
    let _subscriber = tracing::subscriber::set_default(tracing_subscriber::registry().with(captured.clone()));
    // Another test's thread may have met these callsites first, with no
    // subscriber, and cached "never interested": ask again, for this one.
    tracing::callsite::rebuild_interest_cache();
    let actions = actions().await.audit(TracingSink, 16);
    let audit = actions.audit_handle();
    let answer = actions.into_router(()).oneshot(bearer("GET", "/report")).await.expect("answer");
    assert_eq!(answer.status(), 200);
    audit.flush().await.expect("flushed");

    let events = captured.event_fields("decision");
    assert_eq!(events.len(), 1, "one record, one event");
    let names: Vec<&str> = events[0].iter().map(|(name, _)| name.as_str()).filter(|n| *n != "message").collect();
    assert_eq!(
        names,
        [
            "ts",
            "request_id",
            "principal",
            "principal_kind",
            "tenant",
            "action",
            "method",
            "path",
            "permission",
            "decision",
            "code",
            "latency_us"
        ],
        "absent members (on_behalf_of, resource) are left out"
    );
    let value = |name: &str| events[0].iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    assert_eq!(value("principal").as_deref(), Some("svc-reporter"));
    assert_eq!(value("decision").as_deref(), Some("allow"));
    assert_eq!(value("permission").as_deref(), Some("reports:read"));
}
