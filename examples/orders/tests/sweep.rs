//! The authorization sweep over every action of the orders app, built
//! in-process on a fresh in-memory database.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use guard_runtime::authn::{hash_secret, random_secret, SessionRecord, SessionStore, Sessions, TokenStore};
use guard_runtime::store::{ApprovalRequest, ApprovalState, ApprovalStore};
use guard_runtime::testkit::{served_manifest, ActionFixture, AuditSource, Credential, Fixtures, Sweep};
use guard_runtime::{Delegation, Principal};
use orders_example::config::DbLocation;
use orders_example::store_choice::Stores;
use orders_example::stores::{SqliteSessionStore, SqliteTokenStore};
use orders_example::{app, db};
use serde_json::json;
use sqlx::SqlitePool;

/// A session of `principal` authenticated `age` ago, written straight into
/// the app's session store.
async fn session(pool: &SqlitePool, mut principal: Principal, age: Duration) -> Credential {
    let (id, csrf) = (random_secret().expect("random"), random_secret().expect("random"));
    principal.authenticated_at = SystemTime::now() - age;
    principal.credential_id = format!("session:{}", &hash_secret(&id)[..16]);
    let record = SessionRecord {
        principal,
        csrf_token: csrf.clone(),
        expires_at: SystemTime::now() + Duration::from_secs(3600),
    };
    SqliteSessionStore::new(pool.clone()).save(&hash_secret(&id), record).await.expect("save session");
    Credential::session(format!("guard_session={id}"), csrf)
}

/// A fresh login, as `POST /login` would make it.
async fn login(pool: &SqlitePool, principal: Principal) -> Credential {
    let new = Sessions::new(SqliteSessionStore::new(pool.clone())).login(principal).await.expect("login");
    Credential::session(new.set_cookie.to_str().expect("cookie"), new.csrf_token)
}

async fn exec(pool: &SqlitePool, sql: &'static str, binds: &[&str]) {
    let mut query = sqlx::query(sql);
    for bind in binds {
        query = query.bind(*bind);
    }
    query.execute(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Principals the demo seed lacks: a user with no role, a service with no
/// scope, an agent whose scopes cover everything for that role-less user,
/// and a service whose key is then revoked.
async fn extra_principals(pool: &SqlitePool) {
    exec(pool, "INSERT INTO users (name, tenant, roles, password_hash) VALUES ('nobody', 'acme', '[]', 'x')", &[])
        .await;
    exec(pool, "INSERT INTO service_accounts (name, tenant, scopes) VALUES ('svc-retired', 'acme', '[]')", &[]).await;
    // Holds nothing, but its keys fit capture's binding: the caller that
    // shows capture refused for lack of `payments:capture` alone.
    exec(
        pool,
        "INSERT INTO service_accounts (name, tenant, scopes, claims) \
         VALUES ('svc-none', 'acme', '[]', '{\"environment\":\"production\"}')",
        &[],
    )
    .await;
    // Holds `payments:capture`, but its keys say staging: capture's
    // `bind(environment = "production")` must refuse it.
    exec(
        pool,
        "INSERT INTO service_accounts (name, tenant, scopes, claims) \
         VALUES ('svc-staging', 'acme', '[\"payments:capture\"]', '{\"environment\":\"staging\"}')",
        &[],
    )
    .await;
    exec(
        pool,
        "INSERT INTO agents (name, tenant, user_name, scopes) VALUES ('rogue', 'acme', 'nobody', '[\"*\"]')",
        &[],
    )
    .await;
    for (secret, kind, name) in [
        ("svc-none-key", "service", "svc-none"),
        ("svc-retired-key", "service", "svc-retired"),
        ("svc-staging-key", "service", "svc-staging"),
        ("rogue-token", "agent", "rogue"),
    ] {
        let sql = "INSERT INTO credentials (secret_hash, credential_id, kind, name) VALUES (?, ?, ?, ?)";
        exec(pool, sql, &[&hash_secret(secret), &format!("key:{name}"), kind, name]).await;
    }
    SqliteTokenStore::new(pool.clone()).revoke("key:svc-retired").await.expect("revoke");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_action_of_the_orders_app_holds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (pool, _) = db::open(&DbLocation::Memory).await.expect("database");
    extra_principals(&pool).await;
    let audit_log = dir.path().join("audit.jsonl");
    let settings = app::Settings { audit_log: Some(audit_log.clone()), probe_threshold: 0, ..app::Settings::default() };
    // The app's stores, so that approval requests can be made for the sweep.
    let stores = Stores::in_process(&pool);
    let approvals = stores.approvals.clone();
    // The router as `build_with` serves it, with the layer's list of the
    // routes it accounts for: the sweep also reports any route outside it.
    let (router, accounted, audit) = app::assemble(pool.clone(), &settings, &stores);
    let router = accounted.clone().apply(router);

    let user = |name: &str, tenant: &str, roles: &[&str]| Principal::user(name, tenant, roles.iter().copied());
    let (alice, carol) = (user("alice", "acme", &["customer"]), user("carol", "acme", &["admin"]));
    let customer = |name: &str| Delegation { user: name.into(), roles: vec!["customer".into()] };
    let manifest =
        served_manifest(&router, "/admin/actions", &login(&pool, carol.clone()).await).await.expect("manifest");
    assert_eq!(manifest.len(), 30, "every mounted action");

    // A logged-out session: worked once, revoked server-side.
    let logged_out = login(&pool, alice.clone()).await;
    if let Credential::Session { cookie, .. } = &logged_out {
        let id = cookie.trim_start_matches("guard_session=");
        SqliteSessionStore::new(pool.clone()).revoke(&hash_secret(id)).await.expect("logout");
    }

    let next = Arc::new(AtomicU64::new(1));
    let (orders_pool, accounts_pool, users_pool) = (pool.clone(), pool.clone(), pool.clone());
    let next_user = Arc::new(AtomicU64::new(1));
    let next_approval = Arc::new(AtomicU64::new(1));
    let mut fixtures = Fixtures::new(app::policy())
        .audit(AuditSource::json_lines(&audit_log, audit))
        .caller(
            Principal {
                claims: [("environment", "production")].into_iter().collect(),
                ..Principal::service("svc-billing", "acme", ["orders:read", "payments:capture"])
            },
            Credential::bearer("svc-billing-demo-key"),
        )
        .unbound(
            Principal {
                claims: [("environment", "staging")].into_iter().collect(),
                ..Principal::service("svc-staging", "acme", ["payments:capture"])
            },
            Credential::bearer("svc-staging-key"),
        )
        .caller(
            Principal {
                claims: [("environment", "production")].into_iter().collect(),
                ..Principal::service("svc-none", "acme", Vec::<String>::new())
            },
            Credential::bearer("svc-none-key"),
        )
        .caller(
            Principal::agent("assistant", "acme", ["orders:read"], customer("alice")),
            Credential::bearer("assistant-demo-token"),
        )
        .caller(
            Principal::agent("helper", "acme", ["orders:*"], customer("bob")),
            Credential::bearer("helper-demo-token"),
        )
        .caller(
            Principal::agent("rogue", "acme", ["*"], Delegation { user: "nobody".into(), roles: vec![] }),
            Credential::bearer("rogue-token"),
        )
        .stale(carol.clone(), session(&pool, carol.clone(), Duration::from_secs(3600)).await)
        .revoked("alice's logged-out session", logged_out)
        .revoked("svc-retired's revoked key", Credential::bearer("svc-retired-key"))
        .objects("orders", move |owner: Principal| {
            let pool = orders_pool.clone();
            async move {
                let owned_by = owner.owner_id().unwrap_or(&owner.id).to_owned();
                let sql = "INSERT INTO orders (tenant, owner, item, quantity, address, status) \
                           VALUES (?, ?, 'sweep', 1, '1 Main St', 'new') RETURNING id";
                let id: i64 =
                    sqlx::query_scalar(sql).bind(&owner.tenant).bind(owned_by).fetch_one(&pool).await.expect("order");
                id
            }
        })
        .objects("service_accounts", move |owner: Principal| {
            let (pool, n) = (accounts_pool.clone(), next.fetch_add(1, Ordering::SeqCst));
            async move {
                let name = format!("sweep-sa-{n}");
                sqlx::query("INSERT INTO service_accounts (name, tenant, scopes) VALUES (?, ?, '[]')")
                    .bind(&name)
                    .bind(&owner.tenant)
                    .execute(&pool)
                    .await
                    .expect("service account");
                name
            }
        })
        .objects("users", move |owner: Principal| {
            let (pool, n) = (users_pool.clone(), next_user.fetch_add(1, Ordering::SeqCst));
            async move {
                let name = format!("sweep-user-{n}");
                sqlx::query("INSERT INTO users (name, tenant, roles, password_hash) VALUES (?, ?, '[]', 'x')")
                    .bind(&name)
                    .bind(&owner.tenant)
                    .execute(&pool)
                    .await
                    .expect("user");
                name
            }
        })
        // A pending request for a refund of an order of the owner's tenant,
        // asked by the owner: what the approve and deny actions name.
        .objects("approvals", move |owner: Principal| {
            let (store, n) = (approvals.clone(), next_approval.fetch_add(1, Ordering::SeqCst));
            async move {
                let request = ApprovalRequest {
                    id: format!("sweep-approval-{n}"),
                    action: "refund_order".into(),
                    object: "orders/1".into(),
                    object_owner: owner.owner_id().map(str::to_owned),
                    tenant: owner.tenant.clone(),
                    requester: owner.id.clone(),
                    requester_user: owner.owner_id().map(str::to_owned),
                    permission: "orders:approve".into(),
                    input_digest: String::new(),
                    request_id: format!("sweep-{n}"),
                    requested_at: 0,
                    expires_at: u64::MAX,
                    state: ApprovalState::Pending,
                    decided_by: None,
                };
                store.create(&request, Duration::from_secs(3600)).await.expect("approval request");
                request.id
            }
        })
        .action("refund_order", ActionFixture::new().body(json!({ "reason": "damaged" })))
        .action("set_role", ActionFixture::new().body(json!({ "role": "support" })))
        .action(
            "create_order",
            ActionFixture::new().body(json!({ "item": "tea", "quantity": 1, "address": "1 Main St" })),
        )
        .action("change_address", ActionFixture::new().body(json!({ "address": "2 Side St" })))
        // The pages' form routes: the same fields, sent as a form.
        .action(
            "create_order_form",
            ActionFixture::new().body(json!({ "item": "tea", "quantity": 1, "address": "1 Main St" })),
        )
        .action("change_address_form", ActionFixture::new().body(json!({ "address": "2 Side St" })))
        .action("reauth", ActionFixture::new().body(json!({ "password": "not-checked" })))
        .action(
            "change_password",
            ActionFixture::new().body(json!({ "current_password": "x", "new_password": "long-enough" })),
        );
    for principal in [
        alice,
        user("bob", "acme", &["customer"]),
        user("erin", "acme", &["support"]),
        carol,
        user("frank", "acme", &["admin"]),
        user("dave", "globex", &["customer"]),
        user("nobody", "acme", &[]),
    ] {
        let credential = login(&pool, principal.clone()).await;
        fixtures = fixtures.caller(principal, credential);
    }

    let report = Sweep::new(router, &manifest).accounted(&accounted).fixtures(fixtures).run().await;
    println!("{report}");
    assert_eq!(report.unguarded_routes().count(), 0, "{report}");
    std::fs::write(dir.path().join("sweep.md"), report.to_markdown()).expect("markdown");
    report.assert_fully_covered();
}
