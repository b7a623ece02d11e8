//! Shared state behind traits: replay keys, denial counters and approval
//! requests.
//!
//! Sessions and keys have their stores in [`authn`](crate::authn). Every
//! trait here is async and fallible so that a network store (Redis,
//! PostgreSQL) fits; an error always denies with 503. The `Memory*` types
//! are the zero-setup defaults for a single instance.

mod approvals;
mod denials;
mod replay;
mod sweep;

pub(crate) use sweep::Sweeper;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "redis")]
pub mod redis;

pub(crate) use approvals::unix_secs;
pub use approvals::{ApprovalRequest, ApprovalState, ApprovalStore, MemoryApprovalStore};
pub use denials::{DenialStore, DenialWindow, MemoryDenialStore};
pub use replay::{MemoryReplayStore, ReplayStore};
