//! Custom checks: workflow rules guard runs after the owner check and before
//! the body, on the status the orders resolver loaded.

use guard_runtime::{CheckContext, CheckError};

fn status<'a>(ctx: &'a CheckContext<'_>) -> Option<&'a str> {
    ctx.object.and_then(|o| o.attributes.get("status")).map(String::as_str)
}

/// Only a new order can be captured.
///
/// A capture sent again with the same `Idempotency-Key` still answers 409
/// `replayed`: guard refuses a used key before it runs this check. The body
/// captures only a `new` order again in its `UPDATE`, so a capture racing a
/// cancel cannot capture a cancelled order.
pub async fn order_is_capturable(ctx: &CheckContext<'_>) -> Result<(), CheckError> {
    match status(ctx) {
        Some("new") => Ok(()),
        _ => Err(CheckError::denied("Only a new order can be captured.")),
    }
}

/// A captured order has been paid for: it can no longer be cancelled.
pub async fn not_captured(ctx: &CheckContext<'_>) -> Result<(), CheckError> {
    match status(ctx) {
        Some("new" | "cancelled") => Ok(()),
        _ => Err(CheckError::denied("A captured order cannot be cancelled.")),
    }
}

/// Only a captured order has been paid, so only it can be refunded. Runs
/// before the approval step: no approval is asked for a refund that could
/// never run.
pub async fn order_is_refundable(ctx: &CheckContext<'_>) -> Result<(), CheckError> {
    match status(ctx) {
        Some("captured") => Ok(()),
        _ => Err(CheckError::denied("Only a captured order can be refunded.")),
    }
}
