//! `Loaded<T>`: the body gets the object the resolver read for the tenant
//! and owner check, so a guarded read reads it once and acts on exactly
//! what was checked. A resolver that attached no `T` fails closed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::Request;
use axum::Router;
use guard_runtime::authn::{MemoryTokenStore, Tokens};
use guard_runtime::{
    action, Actions, Authorized, Delegation, Json, Loaded, ObjectMeta, Principal, Resolver, Resolvers, RolePolicy,
    StoreError, StoreFuture,
};
use serde_json::Value;
use tower::ServiceExt;

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
struct Order {
    id: String,
    item: String,
}

/// What an order's resolver attaches: an `Order`, another type, or nothing.
#[derive(Clone)]
enum Attach {
    Order(Order),
    Other,
    Nothing,
}

/// Orders of alice's by id, counting every read.
#[derive(Clone, Default)]
struct Db {
    orders: Arc<HashMap<&'static str, Attach>>,
    reads: Arc<AtomicUsize>,
}

impl Resolver for Db {
    fn resolve<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Result<Option<ObjectMeta>, StoreError>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let meta = self.orders.get(key).map(|attach| {
            let meta = ObjectMeta::owned("acme", "alice");
            match attach {
                Attach::Order(order) => meta.with_object(order.clone()),
                Attach::Other => meta.with_object(format!("not an order: {key}")),
                Attach::Nothing => meta,
            }
        });
        StoreFuture::ready(Ok(meta))
    }
}

/// How many times the bodies ran.
#[derive(Clone, Default)]
struct Ran(Arc<AtomicUsize>);

#[action(GET "/orders/{id}", requires = "orders:read", owner = "id")]
async fn get_order(_auth: Authorized, State(ran): State<Ran>, order: Loaded<Order>) -> Json<Order> {
    ran.0.fetch_add(1, Ordering::SeqCst);
    Json(order.into_inner())
}

/// The proof lends the same object to a body that takes no `Loaded`.
#[action(GET "/orders/{id}/item", requires = "orders:read", owner = "id")]
async fn get_item(auth: Authorized, State(ran): State<Ran>) -> String {
    ran.0.fetch_add(1, Ordering::SeqCst);
    auth.loaded::<Order>().map_or_else(|| "nothing attached".to_owned(), |order| order.item.clone())
}

struct App {
    router: Router,
    db: Db,
    ran: Ran,
}

fn order(id: &str, item: &str) -> Attach {
    Attach::Order(Order { id: id.into(), item: item.into() })
}

async fn app() -> App {
    let orders = HashMap::from([("1", order("1", "book")), ("2", Attach::Other), ("3", Attach::Nothing)]);
    let db = Db { orders: Arc::new(orders), ..Db::default() };
    let tokens = Tokens::new(MemoryTokenStore::new());
    for (token, user) in [("alice-agent", "alice"), ("bob-agent", "bob")] {
        let delegation = Delegation { user: user.into(), roles: vec!["customer".into()] };
        let agent = Principal::agent(format!("{user}-bot"), "acme", ["orders:read"], delegation);
        tokens.issue(token, agent).await.expect("issue");
    }
    let policy = RolePolicy::new().role("customer", ["orders:read"]);
    let ran = Ran::default();
    let router = Actions::new(policy, tokens, Resolvers::new().with("orders", db.clone()))
        .mount(get_order)
        .mount(get_item)
        .into_router(ran.clone());
    App { router, db, ran }
}

impl App {
    async fn get(&self, path: &str, token: &str) -> (u16, Value, String) {
        let request = Request::get(path).header("authorization", format!("Bearer {token}"));
        let response =
            self.router.clone().oneshot(request.body(Body::empty()).expect("request")).await.expect("answer");
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.expect("body");
        let text = String::from_utf8_lossy(&body).into_owned();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null), text)
    }

    fn reads(&self) -> usize {
        self.db.reads.load(Ordering::SeqCst)
    }

    fn ran(&self) -> usize {
        self.ran.0.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn the_body_gets_the_checked_object_from_the_one_read() {
    let app = app().await;
    let (status, body, _) = app.get("/orders/1", "alice-agent").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, serde_json::json!({ "id": "1", "item": "book" }));
    assert_eq!((app.reads(), app.ran()), (1, 1), "one read, one body");

    let (status, _, text) = app.get("/orders/1/item", "alice-agent").await;
    assert_eq!((status, text.as_str()), (200, "book"));
    assert_eq!((app.reads(), app.ran()), (2, 2));
}

#[tokio::test]
async fn another_owner_reads_a_miss_and_no_body_runs() {
    let app = app().await;
    let (status, body, _) = app.get("/orders/1", "bob-agent").await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")), "{body}");
    assert_eq!(body.get("item"), None, "nothing of the order leaks");
    assert_eq!((app.reads(), app.ran()), (1, 0));
}

/// A resolver that attached another type, or nothing, is a bug between the
/// resolver and the action: 503, and the body does not run (it would have
/// to read the object again, unchecked).
#[tokio::test]
async fn a_resolver_that_attached_no_such_object_fails_closed() {
    let app = app().await;
    for path in ["/orders/2", "/orders/3"] {
        let (status, body, _) = app.get(path, "alice-agent").await;
        assert_eq!((status, body["code"].as_str()), (503, Some("unavailable")), "{path}: {body}");
    }
    assert_eq!(app.ran(), 0, "no body ran");
    // Without a `Loaded` parameter the body runs, and sees no order.
    let (status, _, text) = app.get("/orders/3/item", "alice-agent").await;
    assert_eq!((status, text.as_str()), (200, "nothing attached"));
}
