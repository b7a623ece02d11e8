//! The guarded actions, one file per area.

pub mod account;
pub mod admin;
pub mod approvals;
pub mod forms;
pub mod health;
pub mod index;
pub mod orders;
pub mod pages;
pub mod payments;
pub mod users;
