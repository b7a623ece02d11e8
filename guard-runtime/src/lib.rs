//! Guarded server actions for axum: authorization that cannot be forgotten.
//!
//! `#[action(...)]` turns an `async fn` into an axum handler that runs its
//! body only after guard has proved, for this very request, who the caller
//! is, that it holds the permission, and that it may touch the object it
//! names. Every step fails closed and every decision is audited.
//!
//! # Example
//!
//! ```
//! use guard_runtime::{action, Actions, Authorized, ActionError, Json, Resolvers, RolePolicy,
//!     authn::{MemoryTokenStore, Tokens}, Principal};
//!
//! #[derive(serde::Deserialize, serde::Serialize)]
//! struct Rename { name: String }
//!
//! #[action(POST "/widgets/{widget_id}/name", requires = "widgets:write", owner = "widget_id")]
//! async fn rename(auth: Authorized, Json(input): Json<Rename>) -> Result<String, ActionError> {
//!     Ok(format!("{} renamed it to {}", auth.principal().id, input.name))
//! }
//!
//! # async fn demo() {
//! let policy = RolePolicy::new().role("editor", ["widgets:write"]);
//! let tokens = Tokens::new(MemoryTokenStore::new());
//! let resolvers = Resolvers::new(); // .with("widgets", my_widget_resolver)
//! # let resolvers = resolvers.with("widgets", guard_runtime::resolve::from_fn(|_key| async { Ok(None) }));
//! let app: axum::Router = Actions::new(policy, tokens, resolvers)
//!     .mount(rename)
//!     .into_router(());
//! # }
//! ```
//!
//! # The attribute
//!
//! ```text
//! #[action(
//!     POST "/orders/{order_id}/address",   // optional: or Actions::mount_at(Method::POST, "/…", f)
//!     requires = "orders:write",           // or ["a:b", "c:d"] (all needed), or `authenticated`, or public = "reason"
//!     owner = "order_id",                  // path parameter or input field naming the object; or tenant = "…"
//!     resource = "orders",                 // which resolver loads the object (default: the permission's resource)
//!     callers = [user, agent],             // default: all kinds (`authenticated`: user and service)
//!     fresh,                               // or fresh = "5m": authentication age limit
//!     replay,                              // or replay = "x-nonce": single-use header (default Idempotency-Key)
//!     check = my_checks::order_is_new,     // async fn(&CheckContext<'_>) -> Result<(), CheckError>
//!     bind(environment = "production"),  // claims the credential must carry (403 binding_failed)
//!     acr = ["phr"],                       // authentication classes accepted (401 with a step-up challenge)
//!     approval = "orders:approve",         // a second person holding this approves each call (202 first)
//!     limit = "16KiB",                     // body limit (default 64 KiB)
//!     page,                                // a GET page: signed out, a browser goes to the login page
//!     state = AppState,                    // state the parameters are checked against (default: a State<T>'s T)
//! )]
//! ```
//!
//! Exactly one policy form is required: `requires`, `authenticated` or
//! `public = "why this is safe"`. A guarded action takes an [`Authorized`]
//! parameter; it may take typed [`Grant`]s for the permissions it requires,
//! the object `owner`/`tenant` names as its resolver read it ([`Loaded`]),
//! a single `Json<T>` or [`Form<T>`] input as its last parameter (`T:
//! Deserialize + Serialize`), and any axum `FromRequestParts` extractor.
//!
//! # Pages and forms
//!
//! `page` marks a guarded GET page: a signed-out browser is sent to the
//! login page (303 to `/login?next=…`, see `Actions::login_page`), while
//! an action that is not a page still answers 401. A form posts a
//! [`Form<T>`] with the session's CSRF token ([`Authorized::csrf_token`])
//! in the hidden field [`CSRF_FIELD`]. A refusal of a request that prefers
//! `text/html` is an HTML page with the same status and `code`
//! ([`html`]); API clients keep problem+json.
//!
//! # Request pipeline
//!
//! Per request, in this order, denying by default (the numbering of
//! the README and ARCHITECTURE.md):
//!
//! 1. authenticate (401 `unauthenticated`), then the probing limit of that
//!    caller or client address (429 `probing_suspected`);
//! 2. caller kind (403 `wrong_caller_kind`);
//! 3. freshness, for sessions, and `acr` (401 `reauth_required`, with the
//!    RFC 9470 step-up challenge);
//! 4. CSRF, for cookie sessions on unsafe methods: the token in a header
//!    or a form's hidden field (403 `csrf_failed`);
//! 5. replay header present (400 `bad_request`);
//! 6. permission (403 `forbidden`), then credential binding (403
//!    `binding_failed`);
//! 7. input: extractors, then the body (400/413/415/422);
//! 8. tenant and owner (404 `not_found`, identical to a missing object);
//!    a credential narrowed to one object serves only that one;
//! 9. custom check (403 `forbidden`); then, for `approval`, the first call
//!    answers 202 with an approval request and the retry needs it approved
//!    (403 `approval_invalid`, `approval_pending`, `approval_denied`);
//! 10. the approval and the replay key claimed (409 `approval_used`,
//!     `replayed`), the allow audited, then the body.
//!
//! Any store, resolver or audit failure answers 503 `unavailable` and the
//! body never runs.
#![warn(missing_docs)]
#![deny(unreachable_pub, unsafe_code)]

mod accounted;
pub mod approval;
pub mod audit;
pub mod authn;
mod authorized;
mod checks;
mod claims;
mod error;
mod fast_map;
mod form;
mod gate;
mod hex;
pub mod html;
mod input_schema;
mod loaded;
pub mod manifest;
#[cfg(feature = "mcp")]
pub mod mcp;
mod minimize;
mod mount;
mod parameter;
pub mod permission;
mod pipeline;
pub mod policy;
mod principal;
mod request_id;
pub mod resolve;
mod runtime;
mod spec;
pub mod store;
mod store_future;
#[cfg(feature = "testkit")]
pub mod testkit;

#[doc(hidden)]
pub mod __private;

pub use accounted::Accounted;
pub use audit::{AuditSink, DecisionRecord};
pub use authn::Authenticator;
pub use authorized::{Authorized, CheckContext, CheckError, Grant};
pub use axum::Json;
pub use checks::csrf::CSRF_FIELD;
pub use claims::Claims;
pub use error::{ActionError, AppCode, Code, StepUp, StoreError};
pub use form::Form;
pub use guard_macros::action;
pub use loaded::{AnyObject, Loaded};
pub use minimize::{GuardedField, Minimize};
pub use mount::{not_found, Actions, AuditHandle, GuardedAction, Routed};
pub use parameter::{ActionParameter, ActionParameters};
pub use permission::Permission;
pub use policy::{Policy, Reach, RolePolicy};
pub use principal::{CallerKind, Delegation, Principal};
pub use request_id::RequestId;
pub use resolve::{ObjectMeta, OwnerKey, Resolver, Resolvers, TenantKey};
pub use spec::ActionInfo;
pub use store_future::StoreFuture;

/// A boxed, sendable future: what [`StoreFuture::new`] wraps.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

#[cfg(test)]
mod dependency_tests {
    /// The library asks Tokio for what it uses and no more; an app's own
    /// features are its business.
    #[test]
    fn tokio_features_are_the_ones_the_library_uses() {
        let manifest = include_str!("../Cargo.toml");
        let (_, dependencies) = manifest.split_once("[dependencies]").expect("[dependencies]");
        let tokio = dependencies.lines().find(|line| line.starts_with("tokio ")).expect("a tokio line");
        assert_eq!(tokio, r#"tokio = { workspace = true, features = ["rt", "sync", "time"] }"#);
        let workspace = include_str!("../../Cargo.toml");
        let line = workspace.lines().find(|line| line.starts_with("tokio ")).expect("the workspace's tokio line");
        assert_eq!(line, r#"tokio = { version = "1", default-features = false }"#, "no features for everyone");
    }
}
