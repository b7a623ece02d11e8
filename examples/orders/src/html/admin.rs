//! The admin pages: the authorization manifest as a table, and the audit
//! view over the latest decisions.

use guard_runtime::{ActionInfo, DecisionRecord};
use maud::{html, Markup};

use super::layout::{page, Viewer};

/// `GET /admin/actions` in a browser: one row per mounted action.
pub fn manifest(viewer: &Viewer<'_>, actions: &[ActionInfo]) -> Markup {
    let body = html! {
        p { (actions.len()) " actions are mounted. Every row is what guard checks before the action's body runs." }
        table #manifest {
            thead { tr {
                th { "Action" } th { "Route" } th { "Policy" } th { "Callers" } th { "Object" }
                th { "Fresh" } th { "Replay" } th { "Check" } th { "Binding" } th { "Approval" }
            } }
            tbody {
                @for action in actions {
                    tr data-action=(action.name) {
                        td { code { (action.name) } }
                        td { (action.method) " " (action.path) }
                        td {
                            @match action.policy {
                                "requires" => { (action.requires.join(", ")) },
                                "public" => { "public: " (action.public_reason.unwrap_or("")) },
                                other => { (other) },
                            }
                        }
                        td { (action.callers.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")) }
                        td {
                            @if let (Some(check), Some(key)) = (action.object_check, action.object_key) {
                                (check) " of " (action.resource.unwrap_or("")) " by " code { (key) }
                            }
                        }
                        td { @if let Some(secs) = action.fresh_secs { (secs) " s" } }
                        td { @if let Some(header) = action.replay { code { (header) } } }
                        td { @if let Some(check) = action.check { code { (check) } } }
                        td { (action.binding.join(", ")) }
                        td { @if let Some(approver) = action.approval { "second person with " (approver) } }
                    }
                }
            }
        }
    };
    page("Authorization manifest", Some(viewer), body)
}

/// What the audit page was asked to show (`GET /admin/audit?…`); an empty
/// filter matches everything.
#[derive(Debug, Default, serde::Deserialize)]
pub struct AuditFilter {
    #[serde(default)]
    pub principal: String,
    #[serde(default)]
    pub decision: String,
    #[serde(default)]
    pub code: String,
}

impl AuditFilter {
    pub fn matches(&self, record: &DecisionRecord) -> bool {
        let principal = record.principal().unwrap_or("");
        (self.principal.is_empty() || principal == self.principal)
            && (self.decision.is_empty() || record.decision.as_str() == self.decision)
            && (self.code.is_empty() || record.code == self.code)
    }
}

/// A principal locked out by the probing limit.
pub struct Lockout {
    pub who: String,
    pub denials: u32,
    pub resets_in_secs: u64,
}

/// What the audit page shows, computed by the action.
pub struct AuditView<'a> {
    pub filter: &'a AuditFilter,
    /// The matching records, newest first, at most [`AuditView::SHOWN`].
    pub records: &'a [DecisionRecord],
    /// How many records matched in all.
    pub matched: usize,
    /// Denials per principal over the records kept, most first.
    pub denials: &'a [(String, usize)],
    /// `None` when the denial counters live in a shared store, which
    /// cannot be listed.
    pub lockouts: Option<&'a [Lockout]>,
}

impl AuditView<'_> {
    pub const SHOWN: usize = 200;
}

/// `GET /admin/audit` in a browser.
pub fn audit(viewer: &Viewer<'_>, view: &AuditView<'_>) -> Markup {
    let filter = view.filter;
    let body = html! {
        form.card.filters #audit-filter method="get" action="/admin/audit" {
            label { "Principal " input type="text" name="principal" value=(filter.principal); }
            label { "Decision "
                select name="decision" {
                    @for (value, label) in [("", "any"), ("allow", "allow"), ("deny", "deny")] {
                        option value=(value) selected[filter.decision == value] { (label) }
                    }
                }
            }
            label { "Code " input type="text" name="code" value=(filter.code) placeholder="e.g. csrf_failed"; }
            button #apply-filter type="submit" { "Filter" }
        }
        h2 { "Latest decisions" }
        p #matched { (view.matched) " matching records (newest first; the page shows at most " (AuditView::SHOWN) ")." }
        table #decisions {
            thead { tr {
                th { "Time" } th { "Principal" } th { "Action" } th { "Request" } th { "Resource" }
                th { "Decision" } th { "Code" }
            } }
            tbody {
                @for record in view.records {
                    tr {
                        td { (logged_time(record)) }
                        td.principal { (record.principal().unwrap_or("—")) }
                        td.action { code { (record.action) } }
                        td { (record.method.as_str()) " " (record.path()) }
                        td { (record.resource.as_deref().unwrap_or("")) }
                        td class={ "decision " (record.decision.as_str()) } { (record.decision.as_str()) }
                        td.code { code { (record.code) } }
                    }
                }
            }
        }
        h2 { "Denials per principal" }
        @if view.denials.is_empty() {
            p #no-denials { "No denials among the records kept." }
        } @else {
            table #denials {
                thead { tr { th { "Principal" } th { "Denials" } } }
                tbody { @for (who, count) in view.denials { tr { td { (who) } td { (count) } } } }
            }
        }
        h2 { "Probing lockouts now" }
        @match view.lockouts {
            None => p { "The denial counters live in the shared store, which guard cannot list." },
            Some([]) => p #no-lockouts { "Nobody is locked out." },
            Some(lockouts) => table #lockouts {
                thead { tr { th { "Principal" } th { "Denials in the window" } th { "Unlocked in" } } }
                tbody { @for l in lockouts { tr { td { (l.who) } td { (l.denials) } td { (l.resets_in_secs) " s" } } } }
            },
        }
    };
    page("Audit", Some(viewer), body)
}

/// The record's time exactly as the log writes it (RFC 3339, UTC, the
/// record's own serializer), so the page and the file can be compared.
fn logged_time(record: &DecisionRecord) -> String {
    serde_json::to_value(record).ok().and_then(|v| v["ts"].as_str().map(str::to_owned)).unwrap_or_default()
}
