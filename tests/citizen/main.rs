//! guard as a good axum and tower citizen: its router merges into an app
//! that has its own fallback, it works inside the usual tower-http layers
//! (the README's recipe, `recipe.rs`), its answers and records carry what
//! an app's tracing needs, and an app's own refusals render like guard's.

mod app;
mod capture;
mod errors;
mod merge;
mod readme;
mod recipe;
mod tracing_fields;
