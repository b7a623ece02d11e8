//! `ActionError` is a real error type, and an app's own codes render as
//! problem documents with guard's guarantees.

use guard_runtime::{ActionError, Code};
use tower::ServiceExt;

use crate::app::{actions, bearer, body_text, OUT_OF_STOCK};

#[test]
fn action_error_displays_and_is_a_std_error() {
    let error = ActionError::invalid_input("quantity must be between 1 and 10000");
    assert_eq!(error.to_string(), "422 invalid_input: quantity must be between 1 and 10000");
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(ActionError::new(Code::App(OUT_OF_STOCK)));
    assert_eq!(boxed.to_string(), "409 out_of_stock: The request was refused.");
}

#[tokio::test]
async fn an_apps_own_code_is_a_problem_document_with_its_status() {
    let router = actions().await.into_router(());
    let answer = router.oneshot(bearer("POST", "/reserve")).await.expect("answer");
    assert_eq!(answer.status(), 409);
    assert_eq!(answer.headers()["content-type"], "application/problem+json");
    assert_eq!(answer.headers()["cache-control"], "no-store");
    let problem: serde_json::Value = serde_json::from_str(&body_text(answer).await).expect("json");
    assert_eq!(problem["status"], 409);
    assert_eq!(problem["code"], "out_of_stock");
    assert_eq!(problem["detail"], "Only 0 left.");
}
