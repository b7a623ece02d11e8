//! The frame every page shares: the title, the stylesheet the app serves
//! itself (no CDN, no script), and a navigation bar naming who is signed in
//! with a logout form.

use guard_runtime::{Authorized, Policy, CSRF_FIELD};
use maud::{html, Markup, DOCTYPE};

/// Where the stylesheet is served (`actions::pages::stylesheet`).
pub const STYLESHEET: &str = "/static/app.css";

/// Who is looking at a page: the signed-in user and the session's CSRF
/// token that goes into every form of the page.
pub struct Viewer<'a> {
    pub user: &'a str,
    pub csrf_token: Option<&'a str>,
    /// Shows the admin links. Only navigation: the admin pages are guarded
    /// actions and refuse everyone without the permission.
    pub admin: bool,
    /// Whether the caller holds `orders:read_address`: a page leaves the
    /// delivery address out exactly where the JSON answer does (guard
    /// strips it from JSON; a page is the body's own rendering).
    pub sees_address: bool,
}

impl<'a> Viewer<'a> {
    pub fn of(auth: &'a Authorized) -> Self {
        let principal = auth.principal();
        Viewer {
            user: principal.owner_id().unwrap_or(&principal.id),
            csrf_token: auth.csrf_token(),
            admin: principal.roles.iter().any(|r| r == "admin"),
            sees_address: crate::app::policy().reach(principal, "orders:read_address").is_some(),
        }
    }
}

/// The hidden field carrying the session's CSRF token in a form (guard
/// reads it from the form when no `x-csrf-token` header is sent).
pub fn csrf_field(viewer: &Viewer<'_>) -> Markup {
    html! {
        @if let Some(token) = viewer.csrf_token {
            input type="hidden" name=(CSRF_FIELD) value=(token);
        }
    }
}

/// A whole page: `title` in the tab and as the heading, `body` below it.
pub fn page(title: &str, viewer: Option<&Viewer<'_>>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · orders" }
                link rel="stylesheet" href=(STYLESHEET);
            }
            body {
                header.bar {
                    a.brand href="/" { "orders" }
                    @if let Some(viewer) = viewer {
                        nav {
                            a href="/orders" { "My orders" }
                            @if viewer.admin {
                                a href="/admin/actions" { "Manifest" }
                                a href="/admin/audit" { "Audit" }
                            }
                        }
                        form.logout method="post" action="/logout/form" {
                            span #signed-in-as { (viewer.user) }
                            (csrf_field(viewer))
                            button #logout type="submit" { "Log out" }
                        }
                    } @else {
                        nav { a href="/login" { "Log in" } }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}
