//! Who is calling: logins, sessions, CSRF, credentials in odd places.

mod common;

use std::sync::Arc;

use common::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn login_sets_a_hardened_cookie_and_failures_are_indistinguishable() {
    let app = App::start(&[]);
    let ok = app.login_raw("alice", "alice-pass").await;
    let body = ok.assert_ok(200);
    assert_eq!(body["user"], "alice");
    assert!(body["csrf_token"].as_str().is_some_and(|t| t.len() >= 32));
    let cookie = ok.header("set-cookie").unwrap().to_ascii_lowercase();
    for attr in ["httponly", "samesite=lax", "path=/"] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }

    let unknown = app.login_raw("mallory", "alice-pass").await;
    let wrong = app.login_raw("alice", "wrong").await;
    unknown.assert_problem(401, "unauthenticated");
    wrong.assert_problem(401, "unauthenticated");
    assert_eq!(unknown.body, wrong.body, "unknown user and wrong password must look the same");
    assert!(unknown.header("set-cookie").is_none() && wrong.header("set-cookie").is_none());
    // Machines and agents cannot log in, not even with their secret.
    app.login_raw("svc-billing", SVC_KEY).await.assert_problem(401, "unauthenticated");
    app.login_raw("assistant", ASSISTANT).await.assert_problem(401, "unauthenticated");
    // Public answers carry no-store too; health reveals nothing.
    let health = app.get("/health", &Caller::Anon).await.assert_ok(200);
    assert_eq!(health, json!({ "status": "ok" }));
}

#[tokio::test]
async fn credentials_are_read_only_from_authorization_and_the_cookie() {
    let app = App::start(&[]);
    let alice = app.user("alice").await;
    let cookie = alice.session().cookie.clone();
    let routes = ["/orders", "/orders/1", "/admin/actions"];
    for route in routes {
        app.get(route, &Caller::Anon).await.assert_problem(401, "unauthenticated");
        for query in [
            format!("?token={ASSISTANT}"),
            format!("?access_token={ASSISTANT}"),
            format!("?api_key={SVC_KEY}"),
            format!("?guard_session={cookie}"),
            format!("?session={cookie}"),
        ] {
            app.get(&format!("{route}{query}"), &Caller::Anon).await.assert_problem(401, "unauthenticated");
        }
        for (name, value) in [
            ("x-user", "alice"),
            ("x-forwarded-user", "alice"),
            ("x-remote-user", "carol"),
            ("x-api-key", SVC_KEY),
            ("x-auth-token", ASSISTANT),
            ("x-forwarded-for", "127.0.0.1"),
        ] {
            send(app.client.get(app.url(route)).header(name, value)).await.assert_problem(401, "unauthenticated");
        }
        // Bad bearer credentials: never a fallback to anything else.
        for auth in ["Bearer nope", "Basic YWxpY2U6YWxpY2UtcGFzcw==", "Bearer", SVC_KEY, "Token svc-billing-demo-key"] {
            send(
                app.client
                    .get(app.url(route))
                    .header("authorization", auth)
                    .header("cookie", format!("guard_session={cookie}")),
            )
            .await
            .assert_problem(401, "unauthenticated");
        }
    }
    // A cookie of another name is not a session.
    send(app.client.get(app.url("/orders")).header("cookie", format!("session={cookie}")))
        .await
        .assert_problem(401, "unauthenticated");
}

#[tokio::test]
async fn csrf_protects_cookie_sessions_and_not_bearer_callers() {
    let app = App::start(&[]);
    let alice = app.user("alice").await;
    let order = app.create_order(&alice, "lamp").await;
    let path = format!("/orders/{}/address", order["id"]);
    let s = alice.session();
    let cookie = format!("guard_session={}", s.cookie);
    let body = json!({ "address": "evil" });
    let base = || app.client.post(app.url(&path)).header("cookie", &cookie).json(&body);

    send(base()).await.assert_problem(403, "csrf_failed");
    send(base().header("x-csrf-token", "0".repeat(64))).await.assert_problem(403, "csrf_failed");
    send(base().header("x-csrf-token", &s.csrf).header("sec-fetch-site", "cross-site"))
        .await
        .assert_problem(403, "csrf_failed");
    for origin in ["null", "http://evil.example", "https://evil.example", &format!("http://{}.evil", app.host())] {
        send(base().header("x-csrf-token", &s.csrf).header("origin", origin)).await.assert_problem(403, "csrf_failed");
    }
    // Another user's token does not fit this session.
    let bob = app.user("bob").await;
    send(base().header("x-csrf-token", &bob.session().csrf)).await.assert_problem(403, "csrf_failed");
    // Nothing changed.
    assert_eq!(app.read_as_admin(&order["id"]).await["address"], "1 Main St");

    // The right token, from our own origin or none, same-site: allowed.
    let ok = send(
        base()
            .header("x-csrf-token", &s.csrf)
            .header("origin", app.base.clone())
            .header("sec-fetch-site", "same-origin"),
    )
    .await;
    assert_eq!(ok.assert_ok(200)["address"], "evil");
    // Logout is an unsafe cookie request too.
    send(app.client.post(app.url("/logout")).header("cookie", &cookie)).await.assert_problem(403, "csrf_failed");

    // Bearer callers send no token and need none, even with hostile headers.
    let helper = Caller::bearer(HELPER);
    let created = app
        .request(Method::POST, "/orders", &helper)
        .header("origin", "null")
        .header("sec-fetch-site", "cross-site")
        .json(&json!({ "item": "x", "quantity": 1, "address": "y" }));
    send(created).await.assert_ok(201);
}

#[tokio::test]
async fn sessions_are_never_fixated_and_logout_revokes_server_side() {
    let app = App::start(&[]);
    let planted = "ab".repeat(32);
    // A client-chosen value is not a session.
    send(app.client.get(app.url("/orders")).header("cookie", format!("guard_session={planted}")))
        .await
        .assert_problem(401, "unauthenticated");
    // Logging in with it mints a new id, and the planted one stays dead.
    let resp = send(
        app.client
            .post(app.url("/login"))
            .header("cookie", format!("guard_session={planted}"))
            .json(&json!({ "username": "alice", "password": "alice-pass" })),
    )
    .await;
    let session = session_of(&resp);
    assert_ne!(session.cookie, planted);
    send(app.client.get(app.url("/orders")).header("cookie", format!("guard_session={planted}")))
        .await
        .assert_problem(401, "unauthenticated");
    let alice = Caller::Session(session.clone());
    app.get("/orders", &alice).await.assert_ok(200);

    // Logging in again while holding a session replaces it.
    let again = send(
        app.client
            .post(app.url("/login"))
            .header("cookie", format!("guard_session={}", session.cookie))
            .json(&json!({ "username": "alice", "password": "alice-pass" })),
    )
    .await;
    let second = Caller::Session(session_of(&again));
    app.get("/orders", &alice).await.assert_problem(401, "unauthenticated");
    app.get("/orders", &second).await.assert_ok(200);

    // Logout: 204, a clearing cookie, and the old cookie is dead server-side.
    let out = app.post_empty("/logout", &second).await;
    out.assert_ok(204);
    let clearing = out.header("set-cookie").unwrap().to_ascii_lowercase();
    assert!(clearing.contains("max-age=0"), "{clearing}");
    app.get("/orders", &second).await.assert_problem(401, "unauthenticated");
    app.post_empty("/logout", &second).await.assert_problem(401, "unauthenticated");

    // Bearer callers have no session: logout is for users.
    app.post_empty("/logout", &Caller::bearer(ASSISTANT)).await.assert_problem(403, "wrong_caller_kind");
    app.post_empty("/logout", &Caller::bearer(SVC_KEY)).await.assert_problem(403, "wrong_caller_kind");
}

#[tokio::test]
async fn password_change_needs_the_current_password_and_revokes_other_sessions() {
    let app = App::start(&[]);
    let here = app.user("alice").await;
    let elsewhere = app.user("alice").await;
    let bob = app.user("bob").await;
    let change = |current: &str, new: &str| json!({ "current_password": current, "new_password": new });

    app.post("/account/password", &here, change("wrong", "new-alice-pass")).await.assert_problem(403, "forbidden");
    app.post("/account/password", &here, change("alice-pass", "short")).await.assert_problem(422, "invalid_input");
    app.post("/account/password", &here, change("alice-pass", &"x".repeat(257)))
        .await
        .assert_problem(422, "invalid_input");
    app.post("/account/password", &here, json!({ "current_password": "alice-pass" }))
        .await
        .assert_problem(422, "invalid_input");
    // Refusals changed nothing: the other session still works.
    app.get("/orders", &elsewhere).await.assert_ok(200);
    // Agents and services are not users.
    for key in [ASSISTANT, HELPER, SVC_KEY] {
        app.post("/account/password", &Caller::bearer(key), change("alice-pass", "new-alice-pass"))
            .await
            .assert_problem(403, "wrong_caller_kind");
    }

    app.post("/account/password", &here, change("alice-pass", "new-alice-pass")).await.assert_ok(204);
    app.get("/orders", &here).await.assert_ok(200);
    app.get("/orders", &elsewhere).await.assert_problem(401, "unauthenticated");
    app.get("/orders", &bob).await.assert_ok(200);
    app.login_raw("alice", "alice-pass").await.assert_problem(401, "unauthenticated");
    app.login("alice", "new-alice-pass").await;
}

#[tokio::test]
async fn stale_sessions_must_reauthenticate_for_sensitive_actions() {
    let app = App::start(&["--reauth-window", "1"]);
    let alice = app.user("alice").await;
    let carol = app.user("carol").await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let change = json!({ "current_password": "alice-pass", "new_password": "new-alice-pass" });
    app.post("/account/password", &alice, change.clone()).await.assert_problem(401, "reauth_required");
    app.post_empty("/admin/service-accounts/svc-billing/rotate-key", &carol)
        .await
        .assert_problem(401, "reauth_required");
    // Ordinary actions do not care.
    app.get("/orders", &alice).await.assert_ok(200);
    // A wrong password does not renew anything.
    app.post("/reauth", &alice, json!({ "password": "nope" })).await.assert_problem(401, "reauth_required");
    app.post("/account/password", &alice, change.clone()).await.assert_problem(401, "reauth_required");
    // /reauth is for sessions, and needs the CSRF token like any cookie POST.
    app.post("/reauth", &Caller::bearer(ASSISTANT), json!({ "password": "alice-pass" }))
        .await
        .assert_problem(403, "wrong_caller_kind");
    send(
        app.client
            .post(app.url("/reauth"))
            .header("cookie", format!("guard_session={}", alice.session().cookie))
            .json(&json!({ "password": "alice-pass" })),
    )
    .await
    .assert_problem(403, "csrf_failed");

    app.post("/reauth", &alice, json!({ "password": "alice-pass" })).await.assert_ok(204);
    app.post("/account/password", &alice, change).await.assert_ok(204);
    app.post("/reauth", &carol, json!({ "password": "carol-pass" })).await.assert_ok(204);
    app.post_empty("/admin/service-accounts/svc-billing/rotate-key", &carol).await.assert_ok(200);
}

/// The `Set-Cookie` of a login, lowercased, and the session it carries
/// under `name`.
async fn login_cookie(app: &App, name: &str) -> (String, Session) {
    let resp = app.login_raw("alice", "alice-pass").await;
    resp.assert_ok(200);
    let set_cookie = resp.header("set-cookie").expect("set-cookie").to_owned();
    let cookie = set_cookie
        .split(';')
        .next()
        .and_then(|kv| kv.trim().strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {set_cookie}"))
        .to_owned();
    let csrf = resp.json()["csrf_token"].as_str().expect("csrf_token").to_owned();
    (set_cookie.to_ascii_lowercase(), Session { cookie, csrf })
}

/// A `__Host-` cookie: `Secure`, `Path=/`, no `Domain`.
fn assert_host_cookie(set_cookie: &str) {
    assert!(set_cookie.starts_with("__host-guard_session="), "{set_cookie}");
    for attr in ["; secure", "; path=/", "; httponly", "; samesite=lax"] {
        assert!(set_cookie.contains(attr), "{set_cookie} lacks {attr}");
    }
    assert!(!set_cookie.contains("domain"), "{set_cookie}");
}

#[tokio::test]
async fn secure_cookies_carry_the_host_prefix_when_asked_or_off_loopback() {
    // Asked for on loopback, by flag and by environment variable.
    let by_flag = App::start(&["--secure-cookies", "true"]);
    let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
    let by_env = App::start_with_env(dir, &["--probe-threshold", "0"], &[("ORDERS_SECURE_COOKIES", "true")]);
    // Not loopback: on by default.
    let reachable = App::start(&["--addr", "0.0.0.0:0"]);
    for app in [&by_flag, &by_env, &reachable] {
        let (set_cookie, session) = login_cookie(app, "__Host-guard_session").await;
        assert_host_cookie(&set_cookie);
        let prefixed = format!("__Host-guard_session={}", session.cookie);
        send(app.client.get(app.url("/orders")).header("cookie", &prefixed)).await.assert_ok(200);
        // The unprefixed name is not this app's session cookie.
        send(app.client.get(app.url("/orders")).header("cookie", format!("guard_session={}", session.cookie)))
            .await
            .assert_problem(401, "unauthenticated");
        let out =
            send(app.client.post(app.url("/logout")).header("cookie", &prefixed).header("x-csrf-token", &session.csrf))
                .await;
        out.assert_ok(204);
        assert_host_cookie(&out.header("set-cookie").expect("clearing cookie").to_ascii_lowercase());
    }

    // Loopback by default, or turned off explicitly: a plain cookie.
    let loopback = App::start(&[]);
    let off = App::start(&["--addr", "0.0.0.0:0", "--secure-cookies", "false"]);
    for app in [&loopback, &off] {
        let (set_cookie, _) = login_cookie(app, "guard_session").await;
        assert!(!set_cookie.contains("secure"), "{set_cookie}");
    }
}
