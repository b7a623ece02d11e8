//! The login page: a plain form, no script.

use maud::{html, Markup};

use super::layout::page;

/// `GET /login`, and the answer to a refused `POST /login/form`: the form,
/// carrying `next` (the page to return to, checked again when posted).
/// `error` is shown above the form.
pub fn form(next: &str, error: Option<&str>) -> Markup {
    let body = html! {
        @if let Some(error) = error {
            p.error #login-error role="alert" { (error) }
        }
        form.card #login method="post" action="/login/form" {
            input type="hidden" name="next" value=(next);
            label { "Username " input #username type="text" name="username" autocomplete="username" required; }
            label { "Password " input #password type="password" name="password" autocomplete="current-password" required; }
            button #log-in type="submit" { "Log in" }
        }
        p { "The demo users and their passwords are in " a href="/api" { "the API description" } "." }
    };
    page("Log in", None, body)
}
