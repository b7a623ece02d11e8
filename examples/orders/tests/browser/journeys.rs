//! What a user does with the pages: log in, place an order, change it,
//! cancel it; come back signed out; log out in one tab while another is
//! open.

use crate::harness::{eventually, scenario, Page};
use crate::{audited, order_now};

#[tokio::test(flavor = "multi_thread")]
async fn alice_logs_in_creates_an_order_changes_its_address_and_cancels_it() {
    scenario("alice_journey", |ctx| async move {
        let page = Page(&ctx.browser);
        page.open_and_log_in(&ctx.app, "alice").await;

        page.fill("#create-order input[name=item]", "tea pot").await;
        page.fill("#create-order input[name=quantity]", "3").await;
        page.fill("#create-order input[name=address]", "1 Main St").await;
        page.click("#create").await;
        // Post/Redirect/Get: the form's answer is a 303 to the new order.
        let browser = &ctx.browser;
        let id: i64 = eventually("the new order's page", || async move {
            let url = browser.current_url().await.ok()?;
            url.path().strip_prefix("/orders/")?.parse().ok()
        })
        .await;
        page.wait_for_path(&format!("/orders/{id}")).await;
        assert_eq!(page.status().await, 200);
        assert_eq!(page.text("#item").await, "tea pot");
        assert_eq!(page.text("#status").await, "new");
        let stored = order_now(&ctx.app, id).await;
        assert_eq!(
            (stored["owner"].as_str(), stored["item"].as_str(), stored["quantity"].as_i64()),
            (Some("alice"), Some("tea pot"), Some(3)),
            "{stored}"
        );

        page.fill("#change-address input[name=address]", "2 Side St").await;
        page.click("#save-address").await;
        page.wait_for_text("#address", "2 Side St").await;
        assert_eq!(page.location().await, format!("/orders/{id}"));
        assert_eq!(order_now(&ctx.app, id).await["address"], "2 Side St");

        page.click("#cancel").await;
        page.wait_for_text("#status", "cancelled").await;
        assert_eq!(order_now(&ctx.app, id).await["status"], "cancelled");

        // Each form post was one guarded decision of alice's, allowed.
        let forms = ["create_order_form", "change_address_form", "cancel_order_form"];
        let allowed = audited(&ctx.app, 3, |r| {
            forms.contains(&r["action"].as_str().unwrap_or("")) && r["principal"] == "alice" && r["decision"] == "allow"
        })
        .await;
        assert_eq!(allowed.len(), 3, "{allowed:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_out_browser_on_orders_lands_on_login_and_returns_to_orders() {
    scenario("signed_out_returns", |ctx| async move {
        let page = Page(&ctx.browser);
        ctx.browser.goto(&ctx.app.url("/orders")).await.expect("open /orders");
        page.wait_for_path("/login").await;
        assert_eq!(page.location().await, "/login?next=/orders");

        // A wrong password shows the form again, still on the way back.
        page.fill("#username", "alice").await;
        page.fill("#password", "not-her-password").await;
        page.click("#log-in").await;
        page.wait_for_path("/login/form").await;
        assert_eq!(page.status().await, 401);
        assert_eq!(page.text("#login-error").await, "Wrong username or password.");

        page.log_in("alice", "/orders").await;
        assert_eq!(page.location().await, "/orders");
        assert_eq!(page.status().await, 200);
        assert_eq!(page.text("h1").await, "My orders");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn after_logout_in_one_tab_the_other_tabs_next_post_is_refused_and_leads_to_login() {
    scenario("logout_other_tab", |ctx| async move {
        let (page, browser) = (Page(&ctx.browser), &ctx.browser);
        page.open_and_log_in(&ctx.app, "alice").await;
        let (_, id) = crate::order_of(&ctx.app, "alice").await;
        let order_path = format!("/orders/{id}");
        browser.goto(&ctx.app.url(&order_path)).await.expect("open the order");
        page.wait_for_path(&order_path).await;
        let first = browser.window().await.expect("first tab");

        let second = browser.new_window(true).await.expect("second tab").handle;
        browser.switch_to_window(second.clone()).await.expect("to the second tab");
        browser.goto(&ctx.app.url(&order_path)).await.expect("open the order again");
        page.wait_for_path(&order_path).await;
        assert_eq!(page.text("#address").await, "1 Main St");

        browser.switch_to_window(first).await.expect("back to the first tab");
        page.click("#logout").await;
        page.wait_for_path("/login").await;

        // The second tab still shows the form, with the old token.
        browser.switch_to_window(second).await.expect("to the second tab");
        assert_eq!(page.location().await, order_path);
        page.fill("#change-address input[name=address]", "3 Late St").await;
        page.click("#save-address").await;
        page.wait_for_path(&format!("{order_path}/address/form")).await;
        assert_eq!(page.refusal().await, (401, Some("unauthenticated".to_owned())));
        page.click("#login-link").await;
        page.wait_for_path("/login").await;
        assert_eq!(order_now(&ctx.app, id).await["address"], "1 Main St", "the refused post changed nothing");
        let refused = audited(&ctx.app, 1, |r| {
            r["action"] == "change_address_form" && r["code"] == "unauthenticated" && r["decision"] == "deny"
        })
        .await;
        assert_eq!(refused.len(), 1, "{refused:?}");
    })
    .await;
}
