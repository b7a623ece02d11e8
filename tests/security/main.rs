//! The HTTP-level security suite: one module per threat, each driving a
//! small guarded app (`app.rs`, not the orders example) with
//! `tower::ServiceExt::oneshot`. Every refusal test asserts the exact
//! status, the problem `code`, and that the action body did not run.

mod app;

mod approval;

mod audit;
mod authn;
mod callers;
mod claims;
mod csrf;
mod faults;
mod forms;
mod freshness;
mod input;
mod manifest;
mod mounting;
mod object;
mod pages;
mod permission;
mod probing;
mod replay;
