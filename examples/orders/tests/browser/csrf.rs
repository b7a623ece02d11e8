//! Cross-site request forgery from a real browser: alice is signed in and
//! opens an attacker's page that posts to her order (two fetches with her
//! cookies, then an auto-submitted form).
//!
//! From another port of 127.0.0.1 the attacker is the same site: her
//! `SameSite=Lax` cookie IS sent, so only the CSRF token stops it. From
//! 127.0.0.2 (another site) the browser withholds the cookie.

use std::net::{IpAddr, Ipv4Addr};

use crate::attacker::{Attacker, Target};
use crate::harness::{eventually, scenario, Page};
use crate::{audited, order_now, order_of};

/// Alice signed in, her order, and the attacker's page opened in her
/// browser; returns the order's id once the forged form's answer shows.
async fn attack_from(ctx: &crate::harness::Ctx, attacker_ip: IpAddr) -> i64 {
    let page = Page(&ctx.browser);
    page.open_and_log_in(&ctx.app, "alice").await;
    let (_, id) = order_of(&ctx.app, "alice").await;
    let target = Target { app_base: ctx.app.base.clone(), order_id: id, address: "Attacker Road" };
    let attacker = Attacker::serve(attacker_ip, &target).await;
    ctx.browser.goto(&format!("{}/", attacker.base)).await.expect("open the attacker's page");
    // The forged form's answer, wherever it sent the browser: refused, it
    // stays on the form route; accepted, it is the order's page (303).
    let (browser, app) = (&ctx.browser, ctx.app.base.as_str());
    eventually("the forged form's answer", || async move {
        let url = browser.current_url().await.ok()?;
        let ready = browser.execute("return document.readyState", vec![]).await.ok()?;
        (url.as_str().starts_with(&format!("{app}/")) && ready == "complete").then_some(())
    })
    .await;
    assert_eq!(page.location().await, format!("/orders/{id}/address/form"), "the forged form was not refused");
    id
}

#[tokio::test(flavor = "multi_thread")]
async fn an_attacker_on_another_port_of_the_same_host_is_refused_with_csrf_failed() {
    scenario("csrf_same_site", |ctx| async move {
        let id = attack_from(&ctx, IpAddr::V4(Ipv4Addr::LOCALHOST)).await;
        assert_eq!(Page(&ctx.browser).refusal().await, (403, Some("csrf_failed".to_owned())));
        let order = order_now(&ctx.app, id).await;
        assert_eq!((order["address"].as_str(), order["status"].as_str()), (Some("1 Main St"), Some("new")), "{order}");
        // All three requests carried alice's cookie (they authenticated as
        // her) and all three were refused for the missing token: the two
        // form posts and the JSON fetch.
        let refused = audited(&ctx.app, 3, |r| r["principal"] == "alice" && r["code"] == "csrf_failed").await;
        let mut actions: Vec<_> = refused.iter().map(|r| r["action"].as_str().unwrap_or("").to_owned()).collect();
        actions.sort();
        assert_eq!(actions, ["change_address", "change_address_form", "change_address_form"], "{refused:?}");
        let allowed = ctx.app.audit_records().into_iter().filter(|r| {
            r["decision"] == "allow" && r["action"].as_str().is_some_and(|a| a.starts_with("change_address"))
        });
        assert_eq!(allowed.count(), 0, "a forged request was allowed");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_attacker_on_another_site_is_refused() {
    scenario("csrf_cross_site", |ctx| async move {
        let id = attack_from(&ctx, IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))).await;
        // Cross-site, the Lax cookie stays home: the form arrives signed out.
        assert_eq!(Page(&ctx.browser).refusal().await, (401, Some("unauthenticated".to_owned())));
        let order = order_now(&ctx.app, id).await;
        assert_eq!((order["address"].as_str(), order["status"].as_str()), (Some("1 Main St"), Some("new")), "{order}");
        let refused = audited(&ctx.app, 3, |r| {
            r["decision"] == "deny" && r["action"].as_str().is_some_and(|a| a.starts_with("change_address"))
        })
        .await;
        assert_eq!(refused.len(), 3, "{refused:?}");
        assert!(refused.iter().all(|r| r["code"] == "unauthenticated" && r["principal"].is_null()), "{refused:?}");
        let allowed = ctx.app.audit_records().into_iter().filter(|r| {
            r["decision"] == "allow" && r["action"].as_str().is_some_and(|a| a.starts_with("change_address"))
        });
        assert_eq!(allowed.count(), 0, "a forged request was allowed");
    })
    .await;
}
