//! In-process stores answer with `StoreFuture::ready`: authenticating
//! against them boxes no future (and, for bearer keys, allocates nothing),
//! while a store that must wait still authenticates the same way.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::request::Parts;
use axum::http::Request;
use guard_runtime::authn::{
    Authentication, MemorySessionStore, MemoryTokenStore, SessionRecord, SessionStore, Sessions, TokenRecord,
    TokenStore, Tokens, Via,
};
use guard_runtime::{Authenticator, Principal, StoreError, StoreFuture};

/// Counts this thread's allocations.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// What `f` returns, and how many allocations it made on this thread.
fn allocations<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let value = f();
    (value, ALLOCATIONS.with(Cell::get) - before)
}

fn parts(header: Option<(&str, &str)>) -> Parts {
    let mut request = Request::get("/");
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    request.body(()).unwrap().into_parts().0
}

fn service() -> Principal {
    let mut svc = Principal::service("svc-billing", "acme", ["orders:read"]);
    svc.credential_id = "key-1".into();
    svc
}

#[tokio::test]
async fn bearer_authentication_against_an_in_process_store_allocates_nothing() {
    assert_eq!(allocations(|| std::hint::black_box(Box::new(1))).1, 1, "the counter counts");
    let tokens = Tokens::new(MemoryTokenStore::new());
    tokens.issue("a-long-random-key", service()).await.unwrap();
    let cases = [
        (parts(Some(("authorization", "Bearer a-long-random-key"))), "authenticated"),
        (parts(Some(("authorization", "Bearer an-unknown-key"))), "invalid"),
        (parts(Some(("authorization", "Basic a-long-random-key"))), "invalid"),
        (parts(Some(("authorization", "Bearer eyJh.eyJz.c2ln"))), "unrecognized"),
        (parts(None), "missing"),
    ];
    for (parts, expected) in &cases {
        let (answer, allocated) = allocations(|| tokens.authenticate(parts).into_ready());
        let outcome = match answer.expect("an in-process store answers at once").unwrap() {
            Authentication::Authenticated(found) => {
                assert_eq!(found.principal.id, "svc-billing");
                assert!(matches!(found.via, Via::Bearer));
                "authenticated"
            }
            Authentication::Invalid => "invalid",
            Authentication::Missing => "missing",
            Authentication::Unrecognized => "unrecognized",
        };
        assert_eq!(outcome, *expected);
        assert_eq!(allocated, 0, "{expected}: bearer authentication allocated");
    }
}

#[tokio::test]
async fn sessions_and_tuples_answer_at_once_in_process() {
    let tokens = Tokens::new(MemoryTokenStore::new());
    let sessions = Sessions::new(MemorySessionStore::new());
    let user = Principal::user("alice", "acme", ["customer"]);
    let login = sessions.login(user).await.unwrap();
    let cookie = login.set_cookie.to_str().unwrap().split(';').next().unwrap().to_owned();
    let with_cookie = parts(Some(("cookie", &cookie)));

    let answer = sessions.authenticate(&with_cookie).into_ready().expect("an in-process store answers at once");
    let Authentication::Authenticated(found) = answer.unwrap() else { panic!("the session did not authenticate") };
    assert_eq!(found.principal.id, "alice");
    assert!(matches!(found.via, Via::Session { ref csrf_token, .. } if *csrf_token == login.csrf_token));

    let both = (tokens, sessions);
    let answer = both.authenticate(&with_cookie).into_ready().expect("an in-process tuple answers at once");
    assert!(matches!(answer, Ok(Authentication::Authenticated(_))));
    let none = parts(None);
    let (answer, allocated) = allocations(|| both.authenticate(&none).into_ready());
    assert!(matches!(answer, Ok(Ok(Authentication::Missing))));
    assert_eq!(allocated, 0, "no credential: the tuple allocated");
}

/// A store in memory whose every answer must be awaited, as over a network.
#[derive(Default)]
struct Waiting {
    tokens: Mutex<HashMap<String, TokenRecord>>,
    sessions: Mutex<HashMap<String, SessionRecord>>,
}

impl TokenStore for Waiting {
    fn find<'a>(&'a self, secret_hash: &'a str) -> StoreFuture<'a, Result<Option<TokenRecord>, StoreError>> {
        StoreFuture::new(async move {
            tokio::task::yield_now().await;
            Ok(self.tokens.lock().unwrap().get(secret_hash).cloned())
        })
    }

    fn insert(&self, record: TokenRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        StoreFuture::new(async move {
            self.tokens.lock().unwrap().insert(record.secret_hash.clone(), record);
            Ok(())
        })
    }

    fn revoke<'a>(&'a self, credential_id: &'a str) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            self.tokens.lock().unwrap().retain(|_, r| r.principal.credential_id != credential_id);
            Ok(())
        })
    }
}

impl SessionStore for Waiting {
    fn load<'a>(&'a self, id_hash: &'a str) -> StoreFuture<'a, Result<Option<SessionRecord>, StoreError>> {
        StoreFuture::new(async move {
            tokio::task::yield_now().await;
            Ok(self.sessions.lock().unwrap().get(id_hash).cloned())
        })
    }

    fn save<'a>(&'a self, id_hash: &'a str, record: SessionRecord) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            self.sessions.lock().unwrap().insert(id_hash.to_owned(), record);
            Ok(())
        })
    }

    fn revoke<'a>(&'a self, id_hash: &'a str) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            self.sessions.lock().unwrap().remove(id_hash);
            Ok(())
        })
    }

    fn revoke_principal<'a>(
        &'a self,
        principal_id: &'a str,
        keep: Option<&'a str>,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            self.sessions.lock().unwrap().retain(|h, r| r.principal.id != principal_id || Some(h.as_str()) == keep);
            Ok(())
        })
    }
}

/// Forwards to a shared [`Waiting`], so a test can use it twice.
struct Shared(Arc<Waiting>);

impl TokenStore for Shared {
    fn find<'a>(&'a self, secret_hash: &'a str) -> StoreFuture<'a, Result<Option<TokenRecord>, StoreError>> {
        self.0.find(secret_hash)
    }
    fn insert(&self, record: TokenRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        self.0.insert(record)
    }
    fn revoke<'a>(&'a self, credential_id: &'a str) -> StoreFuture<'a, Result<(), StoreError>> {
        TokenStore::revoke(&*self.0, credential_id)
    }
}

impl SessionStore for Shared {
    fn load<'a>(&'a self, id_hash: &'a str) -> StoreFuture<'a, Result<Option<SessionRecord>, StoreError>> {
        self.0.load(id_hash)
    }
    fn save<'a>(&'a self, id_hash: &'a str, record: SessionRecord) -> StoreFuture<'a, Result<(), StoreError>> {
        self.0.save(id_hash, record)
    }
    fn revoke<'a>(&'a self, id_hash: &'a str) -> StoreFuture<'a, Result<(), StoreError>> {
        SessionStore::revoke(&*self.0, id_hash)
    }
    fn revoke_principal<'a>(
        &'a self,
        principal_id: &'a str,
        keep: Option<&'a str>,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        self.0.revoke_principal(principal_id, keep)
    }
}

#[tokio::test]
async fn a_store_that_waits_authenticates_the_same() {
    let store = Arc::new(Waiting::default());
    let tokens = Tokens::new(Shared(store.clone()));
    let sessions = Sessions::new(Shared(store));
    tokens.issue("a-long-random-key", service()).await.unwrap();
    let login = sessions.login(Principal::user("alice", "acme", ["customer"])).await.unwrap();
    let cookie = login.set_cookie.to_str().unwrap().split(';').next().unwrap().to_owned();
    let revoked = sessions.login(Principal::user("bob", "acme", ["customer"])).await.unwrap();
    let revoked_cookie = revoked.set_cookie.to_str().unwrap().split(';').next().unwrap().to_owned();
    sessions.revoke_all("bob", None).await.unwrap();
    let both = (tokens, sessions);

    let bearer = parts(Some(("authorization", "Bearer a-long-random-key")));
    let future = both.authenticate(&bearer);
    let future = future.into_ready().expect_err("the store waits");
    let Authentication::Authenticated(found) = future.await.unwrap() else { panic!("the key did not authenticate") };
    assert_eq!(found.principal.id, "svc-billing");
    assert!(matches!(found.via, Via::Bearer));

    let unknown = parts(Some(("authorization", "Bearer an-unknown-key")));
    assert!(matches!(both.authenticate(&unknown).await, Ok(Authentication::Invalid)));

    let session = parts(Some(("cookie", &cookie)));
    let Authentication::Authenticated(found) = both.authenticate(&session).await.unwrap() else {
        panic!("the session did not authenticate")
    };
    assert_eq!(found.principal.id, "alice");
    assert!(matches!(found.via, Via::Session { ref csrf_token, .. } if *csrf_token == login.csrf_token));

    let gone = parts(Some(("cookie", &revoked_cookie)));
    assert!(matches!(both.authenticate(&gone).await, Ok(Authentication::Invalid)));
    assert!(matches!(both.authenticate(&parts(None)).await, Ok(Authentication::Missing)));
}
