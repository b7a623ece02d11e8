-- Refunds of captured orders, one per order at most. A refund runs only
-- with a second admin's approval (guard's `approval` key); the approval
-- request itself, with its approver, lives in guard's approval store.
CREATE TABLE refunds (
    order_id    INTEGER PRIMARY KEY NOT NULL REFERENCES orders(id),
    tenant      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    refunded_by TEXT NOT NULL,
    approval_id TEXT NOT NULL
) STRICT;
