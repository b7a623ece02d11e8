//! The orders demo as a library: `main.rs` keeps only the startup code, and
//! tests build the app in-process (`app::build`) to sweep it (`tests/sweep.rs`).

pub mod accounts;
pub mod actions;
pub mod app;
pub mod argon;
pub mod cached;
pub mod checks;
pub mod config;
pub mod db;
pub mod generation;
pub mod html;
pub mod lockouts;
pub mod model;
pub mod oidc;
pub mod passwords;
pub mod principals;
pub mod reads;
pub mod recent;
pub mod resolvers;
pub mod shared_keys;
pub mod state;
pub mod store_choice;
pub mod stores;
pub mod welcome;
