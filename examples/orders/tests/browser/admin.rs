//! The admin pages in the browser: the manifest table and the audit view
//! with its filter form.

use fantoccini::Locator;

use crate::harness::{eventually, scenario, Page};

#[tokio::test(flavor = "multi_thread")]
async fn carol_reads_the_manifest_and_filters_the_audit_view_by_principal() {
    scenario("admin_pages", |ctx| async move {
        let (page, browser) = (Page(&ctx.browser), &ctx.browser);
        // A denial of bob's for the audit view to show.
        let (_, id) = crate::order_of(&ctx.app, "alice").await;
        let bob = ctx.app.user("bob").await;
        ctx.app.get(&format!("/orders/{id}"), &bob).await.assert_problem(404, "not_found");
        // Written to the log, so kept for the audit view.
        let written = crate::audited(&ctx.app, 1, |r| r["principal"] == "bob" && r["code"] == "not_found").await;
        assert_eq!(written.len(), 1);

        page.open_and_log_in(&ctx.app, "carol").await;
        page.click("a[href='/admin/actions']").await;
        page.wait_for_path("/admin/actions").await;
        let rows = browser.find_all(Locator::Css("#manifest tbody tr")).await.expect("rows");
        assert_eq!(rows.len(), 30, "one row per mounted action");
        let capture = page.text("tr[data-action=capture_payment]").await;
        assert!(capture.contains("payments:capture") && capture.contains("environment=production"), "{capture}");

        page.click("a[href='/admin/audit']").await;
        page.wait_for_path("/admin/audit").await;
        page.fill("#audit-filter input[name=principal]", "bob").await;
        page.click("#apply-filter").await;
        // The filter is a GET form: the URL says what is shown.
        eventually("the filtered audit view", || async move {
            let url = browser.current_url().await.ok()?;
            url.query().is_some_and(|q| q.contains("principal=bob")).then_some(())
        })
        .await;
        page.wait_for_path("/admin/audit").await;
        let principals = browser.find_all(Locator::Css("#decisions td.principal")).await.expect("cells");
        assert!(!principals.is_empty(), "bob's decisions are shown");
        for cell in principals {
            assert_eq!(cell.text().await.expect("text"), "bob");
        }
        let denials = page.text("#denials").await;
        assert!(denials.contains("bob"), "{denials}");
        assert!(page.text("#decisions").await.contains("not_found"));
    })
    .await;
}
