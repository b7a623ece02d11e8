//! The app's pages, rendered on the server with maud (escaped by default).
//! No CDN and no script: the stylesheet is served by the app, and every
//! change is a plain form post.

pub mod admin;
pub mod layout;
pub mod login;
pub mod negotiate;
pub mod orders;
