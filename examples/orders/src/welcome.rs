//! What the app prints for a newcomer once it listens: whom to log in as,
//! with which credential, and two requests to try.

use std::fmt::Write;
use std::net::SocketAddr;

use crate::db::{KEYS, USERS};

/// The greeting for a server on `addr`, built from the seed data itself so
/// it cannot list a credential the database never had.
pub fn welcome(addr: SocketAddr) -> String {
    let mut text = String::from("Demo principals (as seeded into an empty database; API.md has their grants):\n");
    for user in USERS {
        let _ = writeln!(
            text,
            "  {:<12} user     {:<7} role {:<9} password {}",
            user.name, user.tenant, user.role, user.password
        );
    }
    for (secret, kind, name) in KEYS {
        let _ = writeln!(text, "  {name:<12} {kind:<8} acme    bearer {secret}");
    }
    let _ = write!(
        text,
        "Try:\n  curl -H 'authorization: Bearer assistant-demo-token' http://{addr}/orders\n  \
         curl -H 'content-type: application/json' -d '{{\"username\":\"alice\",\"password\":\"alice-pass\"}}' \
         http://{addr}/login\nThe API description: http://{addr}/api\n"
    );
    text
}
