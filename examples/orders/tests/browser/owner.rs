//! Object-level authorization in the browser: bob, signed in, reaches for
//! alice's order by its page and by a form he made himself.

use serde_json::json;

use crate::harness::{scenario, Page};
use crate::{audited, order_now, order_of};

#[tokio::test(flavor = "multi_thread")]
async fn bob_sees_a_404_page_for_alices_order_and_his_own_form_to_it_is_refused() {
    scenario("bob_and_alices_order", |ctx| async move {
        let (page, browser) = (Page(&ctx.browser), &ctx.browser);
        let (_, id) = order_of(&ctx.app, "alice").await;
        let before = order_now(&ctx.app, id).await;
        page.open_and_log_in(&ctx.app, "bob").await;

        // The same page as for an order that does not exist.
        browser.goto(&ctx.app.url(&format!("/orders/{id}"))).await.expect("open alice's order");
        page.wait_for_path(&format!("/orders/{id}")).await;
        assert_eq!(page.refusal().await, (404, Some("not_found".to_owned())));
        let source = browser.source().await.expect("source");
        assert!(!source.contains("kettle") && !source.contains("1 Main St"), "the 404 page shows the order: {source}");

        // Bob's own session and CSRF token, a form he writes himself: the
        // only thing wrong is whose order it names.
        browser.goto(&ctx.app.url("/orders")).await.expect("open his orders");
        page.wait_for_path("/orders").await;
        for (action, fields) in [
            (format!("/orders/{id}/address/form"), json!({ "address": "Bob's place" })),
            (format!("/orders/{id}/cancel/form"), json!({})),
        ] {
            let script = r##"
                const [action, fields] = arguments;
                const form = document.createElement("form");
                form.method = "post";
                form.action = action;
                const token = document.querySelector("#create-order input[name=csrf_token]").value;
                for (const [name, value] of Object.entries({ ...fields, csrf_token: token })) {
                    const input = document.createElement("input");
                    input.type = "hidden";
                    input.name = name;
                    input.value = value;
                    form.appendChild(input);
                }
                document.body.appendChild(form);
                form.submit();
            "##;
            browser.execute(script, vec![json!(action), fields]).await.expect("submit bob's form");
            page.wait_for_path(&action).await;
            assert_eq!(page.refusal().await, (404, Some("not_found".to_owned())), "{action}");
            browser.back().await.expect("back to his orders");
            page.wait_for_path("/orders").await;
        }

        assert_eq!(order_now(&ctx.app, id).await, before, "bob's forms changed alice's order");
        let refused = audited(&ctx.app, 2, |r| {
            r["principal"] == "bob"
                && r["code"] == "not_found"
                && ["change_address_form", "cancel_order_form"].contains(&r["action"].as_str().unwrap_or(""))
        })
        .await;
        assert_eq!(refused.len(), 2, "{refused:?}");
        assert!(
            ctx.app.audit_records().iter().all(|r| !(r["principal"] == "bob"
                && r["decision"] == "allow"
                && r["action"].as_str().is_some_and(|a| a.ends_with("_form") && a != "login_form"))),
            "a form of bob's was allowed"
        );
    })
    .await;
}
