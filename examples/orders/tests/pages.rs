//! The pages and form routes over plain HTTP (the browser scenarios are in
//! `tests/browser/`): which requests get HTML and which JSON, where the
//! login form may send a browser, and what the admin pages show to whom.

mod common;

use common::{App, Caller, Resp, ASSISTANT};
use reqwest::Method;
use serde_json::Value;

const HTML: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

async fn get_as(app: &App, path: &str, caller: &Caller, accept: Option<&str>) -> Resp {
    let mut req = app.request(Method::GET, path, caller);
    if let Some(accept) = accept {
        req = req.header("accept", accept);
    }
    common::send(req).await
}

/// A form post as a browser sends it: the session's cookie, and the CSRF
/// token only if `fields` carry it (never the header). `fields` are
/// already URL-encoded.
async fn post_form(app: &App, path: &str, caller: &Caller, fields: &[(&str, &str)]) -> Resp {
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut req = app
        .client
        .post(app.url(path))
        .header("accept", HTML)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.join("&"));
    if let Caller::Session(session) = caller {
        req = req.header("cookie", format!("guard_session={}", session.cookie));
    }
    common::send(req).await
}

/// `GET path` as JSON, again until `ready` holds: the audit view shows
/// records once the log has written them, shortly after the answers.
async fn audit_view_until(app: &App, path: &str, caller: &Caller, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let resp = app.get(path, caller).await;
        assert_eq!(resp.status, 200, "{}", resp.text());
        let view = resp.json();
        if ready(&view) || std::time::Instant::now() > deadline {
            return view;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_browser_gets_the_page_and_an_api_client_the_json_of_the_same_route() {
    let app = App::start(&[]);
    let alice = app.user("alice").await;
    let order = app.create_order(&alice, "lamp").await;
    let csrf = alice.session().csrf.clone();

    let page = get_as(&app, "/orders", &alice, Some(HTML)).await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    let html = page.text();
    assert!(html.contains(r#"id="create-order""#), "{html}");
    assert!(html.contains(&format!(r#"name="csrf_token" value="{csrf}""#)), "the forms carry the session's token");
    assert!(html.contains("lamp"), "{html}");
    assert!(html.contains(r#"href="/static/app.css""#), "{html}");

    for accept in [Some("application/json"), Some("*/*"), None] {
        let json = get_as(&app, "/orders", &alice, accept).await;
        assert_eq!(json.status, 200);
        assert_eq!(json.header("content-type"), Some("application/json"), "Accept {accept:?}");
        assert_eq!(json.json()[0]["id"], order["id"]);
        assert_eq!(json.header("vary"), Some("accept"));
    }
    assert_eq!(page.header("vary"), Some("accept"));
    assert_eq!(page.header("cache-control"), Some("no-store"));

    // An agent has no session: its page has no token to leak, and its
    // JSON is unchanged.
    let agent = get_as(&app, &format!("/orders/{}", order["id"]), &Caller::bearer(ASSISTANT), Some(HTML)).await;
    assert_eq!(agent.status, 200);
    assert!(!agent.text().contains("csrf_token"), "{}", agent.text());

    let css = get_as(&app, "/static/app.css", &Caller::Anon, Some("text/css,*/*;q=0.1")).await;
    assert_eq!((css.status, css.header("content-type")), (200, Some("text/css; charset=utf-8")));
}

#[tokio::test]
async fn the_login_form_returns_only_to_a_local_path() {
    let app = App::start(&[]);
    for (next, expected) in [
        ("%2Forders%2F7%3Fa%3D1", "/orders/7?a=1"),
        ("", "/orders"),
        ("%2F%2Fevil.example%2Fx", "/orders"),
        ("https%3A%2F%2Fevil.example", "/orders"),
        ("%2F%5Cevil.example", "/orders"),
        ("%2Forders%0D%0ASet-Cookie%3A+x%3D1", "/orders"),
        ("orders", "/orders"),
    ] {
        let resp = post_form(
            &app,
            "/login/form",
            &Caller::Anon,
            &[("username", "alice"), ("password", "alice-pass"), ("next", next)],
        )
        .await;
        assert_eq!(resp.status, 303, "next={next}: {}", resp.text());
        assert_eq!(resp.header("location"), Some(expected), "next={next}");
        assert!(resp.header("set-cookie").is_some_and(|c| c.starts_with("guard_session=")), "next={next}");
    }

    let wrong =
        post_form(&app, "/login/form", &Caller::Anon, &[("username", "alice"), ("password", "nope"), ("next", "")])
            .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.header("set-cookie").is_none());
    assert!(wrong.text().contains(r#"id="login-error""#), "{}", wrong.text());
    let unknown =
        post_form(&app, "/login/form", &Caller::Anon, &[("username", "alice"), ("password", "x"), ("admin", "1")])
            .await;
    assert_eq!(unknown.status, 422, "an unknown field: {}", unknown.text());
    assert!(unknown.header("set-cookie").is_none());
}

#[tokio::test]
async fn the_form_routes_answer_303_and_change_what_their_json_twins_change() {
    let app = App::start(&[]);
    let alice = app.user("alice").await;
    let csrf = alice.session().csrf.clone();
    let created = post_form(
        &app,
        "/orders/form",
        &alice,
        &[("csrf_token", &csrf), ("item", "desk"), ("quantity", "2"), ("address", "1+Main+St")],
    )
    .await;
    assert_eq!(created.status, 303, "{}", created.text());
    let location = created.header("location").expect("location").to_owned();
    let id: i64 = location.strip_prefix("/orders/").and_then(|id| id.parse().ok()).expect("an order's page");
    let order = app.read_as_admin(&Value::from(id)).await;
    assert_eq!((order["item"].as_str(), order["owner"].as_str()), (Some("desk"), Some("alice")));

    let moved = post_form(
        &app,
        &format!("/orders/{id}/address/form"),
        &alice,
        &[("csrf_token", &csrf), ("address", "2+Side+St")],
    )
    .await;
    assert_eq!((moved.status, moved.header("location")), (303, Some(location.as_str())));
    assert_eq!(app.read_as_admin(&Value::from(id)).await["address"], "2 Side St");

    // Without the token (neither field nor header): refused, nothing changes.
    let cookie_only = post_form(&app, &format!("/orders/{id}/cancel/form"), &alice, &[]).await;
    assert_eq!(cookie_only.status, 403);
    assert!(cookie_only.text().contains(r#"<code id="error-code">csrf_failed</code>"#), "{}", cookie_only.text());
    assert_eq!(app.read_as_admin(&Value::from(id)).await["status"], "new");

    let cancelled = post_form(&app, &format!("/orders/{id}/cancel/form"), &alice, &[("csrf_token", &csrf)]).await;
    assert_eq!(cancelled.status, 303, "{}", cancelled.text());
    assert_eq!(app.read_as_admin(&Value::from(id)).await["status"], "cancelled");

    let logout = post_form(&app, "/logout/form", &alice, &[("csrf_token", &csrf)]).await;
    assert_eq!((logout.status, logout.header("location")), (303, Some("/login")));
    get_as(&app, "/orders", &alice, Some("application/json")).await.assert_problem(401, "unauthenticated");
}

#[tokio::test]
async fn the_audit_view_filters_the_tenants_decisions_and_lists_lockouts() {
    let app = App::start(&["--probe-threshold", "3"]);
    let (alice, bob, dave) = (app.user("alice").await, app.user("bob").await, app.user("dave").await);
    let order = app.create_order(&alice, "chair").await;
    // Bob probes alice's order until he is locked out; dave (globex) is
    // refused too, in another tenant.
    for _ in 0..3 {
        app.get(&format!("/orders/{}", order["id"]), &bob).await.assert_problem(404, "not_found");
    }
    app.get(&format!("/orders/{}", order["id"]), &bob).await.assert_problem(429, "probing_suspected");
    app.get(&format!("/orders/{}", order["id"]), &dave).await.assert_problem(404, "not_found");
    let carol = app.user("carol").await;

    let view = audit_view_until(&app, "/admin/audit?principal=bob&decision=deny", &carol, |v| {
        v["matched"].as_u64() >= Some(4)
    })
    .await;
    let records = view["records"].as_array().expect("records");
    assert!(records.iter().all(|r| r["principal"] == "bob" && r["decision"] == "deny"), "{view}");
    let codes: Vec<_> = records.iter().map(|r| r["code"].as_str().unwrap_or("")).collect();
    assert_eq!(codes, ["probing_suspected", "not_found", "not_found", "not_found"], "newest first: {view}");
    assert_eq!(view["lockouts"][0]["principal"], "bob", "{view}");
    assert_eq!(view["lockouts"].as_array().map(Vec::len), Some(1), "only acme's principals: {view}");
    let per_principal = view["denials_per_principal"].as_array().expect("denials");
    assert_eq!(per_principal[0]["principal"], "bob");
    assert_eq!(per_principal[0]["denials"], 4);

    let all = app.get("/admin/audit", &carol).await.json();
    assert!(
        all["records"].as_array().expect("records").iter().all(|r| r["tenant"] == "acme"),
        "another tenant's records"
    );
    let by_code = app.get("/admin/audit?code=probing_suspected", &carol).await.json();
    assert_eq!(by_code["matched"], 1, "{by_code}");

    let page = get_as(&app, "/admin/audit?principal=bob", &carol, Some(HTML)).await;
    assert_eq!(page.status, 200);
    let html = page.text();
    for part in [r#"id="decisions""#, r#"id="denials""#, r#"id="lockouts""#, "probing_suspected"] {
        assert!(html.contains(part), "no {part} in {html}");
    }
    let manifest = get_as(&app, "/admin/actions", &carol, Some(HTML)).await;
    assert_eq!(manifest.status, 200);
    assert!(manifest.text().contains(r#"data-action="change_address_form""#), "{}", manifest.text());

    // Not for customers: a page in a browser, a 403 either way.
    app.get("/admin/audit", &alice).await.assert_problem(403, "forbidden");
    let refused = get_as(&app, "/admin/audit", &alice, Some(HTML)).await;
    assert_eq!(refused.status, 403);
    assert!(refused.text().contains(r#"<code id="error-code">forbidden</code>"#), "{}", refused.text());
}

#[tokio::test]
async fn a_signed_out_browser_goes_to_login_and_an_api_client_gets_401() {
    let app = App::start(&[]);
    let page = get_as(&app, "/orders/1?tab=x", &Caller::Anon, Some(HTML)).await;
    assert_eq!(page.status, 303);
    assert_eq!(page.header("location"), Some("/login?next=/orders/1%3Ftab%3Dx"));
    let login = get_as(&app, "/login?next=%2Forders%2F1%3Ftab%3Dx", &Caller::Anon, Some(HTML)).await;
    assert_eq!(login.status, 200);
    assert!(login.text().contains(r#"name="next" value="/orders/1?tab=x""#), "{}", login.text());
    get_as(&app, "/orders/1", &Caller::Anon, None).await.assert_problem(401, "unauthenticated");
    // A form route is an action, not a page: a browser gets the 401 page.
    let form =
        post_form(&app, "/orders/form", &Caller::Anon, &[("item", "x"), ("quantity", "1"), ("address", "y")]).await;
    assert_eq!(form.status, 401);
    assert!(form.text().contains(r#"id="login-link""#), "{}", form.text());
}
