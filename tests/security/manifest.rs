//! The manifest lists every mounted action with what it requires.

use guard_runtime::CallerKind;

use crate::app::*;

#[tokio::test]
async fn every_mounted_action_is_listed_with_its_requirements() {
    let app = app().await;
    let names: Vec<_> = app.manifest.iter().map(|a| a.name).collect();
    assert_eq!(
        names,
        [
            "read_doc",
            "edit_doc",
            "delete_doc",
            "move_doc",
            "pay",
            "sensitive",
            "public_probe",
            "check_password",
            "doc_page",
            "edit_doc_form",
            "list_docs"
        ]
    );
    let edit = &app.manifest[1];
    assert_eq!((edit.method.as_str(), edit.path.as_str()), ("POST", "/docs/{doc_id}"));
    assert_eq!(edit.requires, ["docs:write"]);
    assert_eq!((edit.object_check, edit.resource, edit.object_key), (Some("owner"), Some("docs"), Some("doc_id")));
    assert_eq!(edit.check, Some("not_locked"));
    assert_eq!(edit.body_limit, Some(64 * 1024));
    let pay = &app.manifest[4];
    assert_eq!(pay.callers, [CallerKind::Service]);
    assert_eq!(pay.replay, Some("idempotency-key"));
    assert_eq!(pay.object_check, Some("tenant"));
    assert_eq!(app.manifest[5].fresh_secs, Some(300));
    assert_eq!(app.manifest[6].policy, "public");
    assert_eq!(app.manifest[6].public_reason, Some("test probe: reveals nothing"));
    assert_eq!((app.manifest[10].method.as_str(), app.manifest[10].path.as_str()), ("GET", "/docs"));
    assert_eq!(app.manifest[3].body_limit, Some(1024));
    assert_eq!((edit.input, edit.page), (Some("json"), false));
    let (page, form) = (&app.manifest[8], &app.manifest[9]);
    assert_eq!((page.input, page.page, page.body_limit), (None, true, None));
    assert_eq!((form.input, form.page, form.body_limit), (Some("form"), false, Some(1024)));
}
