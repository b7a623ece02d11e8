//! The authorization manifest as a file to check in, and the diff a
//! reviewer reads when the code's policy moves away from it.
//!
//! [`Manifest::new`] renders the mounted actions (and the declared public
//! routes) into a stable form: one entry per action, sorted by name, pretty
//! JSON with a fixed field order. [`diff`] compares two manifests and says
//! what changed in words: "capture_payment: callers widened [service] →
//! [service, agent]", "delete_order: now public", "new action refund_order:
//! requires orders:refund".
//!
//! ```no_run
//! # fn demo(actions: &guard_runtime::Actions) {
//! use guard_runtime::manifest::Manifest;
//! let code = Manifest::new(actions.manifest(), actions.public_routes());
//! // In a test: fails with the readable diff when the file is stale.
//! code.check_file("authorization-manifest.json").unwrap_or_else(|stale| panic!("{stale}"));
//! # }
//! ```

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::ActionInfo;

/// The manifest of an app: its actions and the public routes it declared.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// One entry per mounted action, sorted by name (then method and path).
    pub actions: Vec<Entry>,
    /// Routes served outside the guard on purpose, each with its reason,
    /// sorted by path and method.
    #[serde(default)]
    pub public_routes: Vec<PublicRoute>,
}

/// One action's authorization, as the manifest file records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The function's name.
    pub name: String,
    /// HTTP method.
    pub method: String,
    /// Route path.
    pub path: String,
    /// `"requires"`, `"authenticated"` or `"public"`.
    pub policy: String,
    /// Permissions required (all of them), sorted.
    pub requires: Vec<String>,
    /// Accepted caller kinds (`user`, `service`, `agent`).
    pub callers: Vec<String>,
    /// For a public action: why that is safe.
    pub public_reason: Option<String>,
    /// `owner` or `tenant`, the resource and the key naming the object:
    /// `owner orders by order_id`.
    pub object: Option<String>,
    /// Authentication age limit in seconds.
    pub fresh_secs: Option<u64>,
    /// The single-use key's header.
    pub replay: Option<String>,
    /// The custom check.
    pub check: Option<String>,
    /// Claims the credential must carry, as `claim=value`.
    pub binding: Vec<String>,
    /// Accepted authentication context classes (empty: any).
    pub acr: Vec<String>,
    /// Who must approve a call before the body runs (the two-person rule),
    /// when the action requires approval.
    pub approval: Option<String>,
}

/// A route served without the guard, declared with its reason.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicRoute {
    /// Route path, as given to the router.
    pub path: String,
    /// HTTP method.
    pub method: String,
    /// Why serving it unguarded is safe.
    pub reason: String,
}

impl Entry {
    fn from_info(info: &ActionInfo) -> Entry {
        let owned = |list: &[&'static str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let mut requires = owned(&info.requires);
        requires.sort();
        Entry {
            name: info.name.to_owned(),
            method: info.method.clone(),
            path: info.path.clone(),
            policy: info.policy.to_owned(),
            requires,
            callers: info.callers.iter().map(|k| k.as_str().to_owned()).collect(),
            public_reason: info.public_reason.map(str::to_owned),
            object: info
                .object_check
                .map(|check| format!("{check} {} by {}", info.resource.unwrap_or("?"), info.object_key.unwrap_or("?"))),
            fresh_secs: info.fresh_secs,
            replay: info.replay.map(str::to_owned),
            check: info.check.map(str::to_owned),
            binding: info.binding.clone(),
            acr: owned(&info.acr),
            approval: info.approval.map(str::to_owned),
        }
    }

    /// The key the diff matches entries by: the name, or, for an action
    /// mounted more than once, the name and its route.
    fn key(&self, names: &[&str]) -> String {
        if names.iter().filter(|n| **n == self.name).count() > 1 {
            format!("{} ({} {})", self.name, self.method, self.path)
        } else {
            self.name.clone()
        }
    }

    /// What a new action requires, in a few words.
    fn summary(&self) -> String {
        let mut out = match self.policy.as_str() {
            "public" => format!("public ({})", self.public_reason.as_deref().unwrap_or("no reason")),
            "authenticated" => "any authenticated caller".to_owned(),
            _ => format!("requires {}", self.requires.join(", ")),
        };
        out.push_str(&format!(" on {} {}", self.method, self.path));
        if self.policy != "public" {
            out.push_str(&format!(", callers {}", list(&self.callers)));
        }
        if let Some(object) = &self.object {
            out.push_str(&format!(", {object}"));
        }
        if let Some(approval) = &self.approval {
            out.push_str(&format!(", approval by {approval}"));
        }
        out
    }
}

impl Manifest {
    /// The manifest of `actions` (from [`Actions::manifest`](crate::Actions::manifest))
    /// and `public_routes` (from [`Actions::public_routes`](crate::Actions::public_routes)),
    /// sorted so that the same app always renders the same file.
    pub fn new(actions: &[ActionInfo], public_routes: &[PublicRoute]) -> Manifest {
        let mut entries: Vec<Entry> = actions.iter().map(Entry::from_info).collect();
        entries.sort_by(|a, b| (&a.name, &a.method, &a.path).cmp(&(&b.name, &b.method, &b.path)));
        let mut public_routes = public_routes.to_vec();
        public_routes.sort();
        Manifest { actions: entries, public_routes }
    }

    /// The file's text: pretty JSON and a final newline.
    pub fn render(&self) -> String {
        // A tree of strings, numbers and lists cannot fail to serialize.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Reads a manifest file's text.
    pub fn parse(text: &str) -> Result<Manifest, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Compares this manifest (the code's) with the file at `path` (the
    /// checked-in one). A missing or unreadable file, or any difference,
    /// is an error whose text lists the changes, one a line.
    pub fn check_file(&self, path: impl AsRef<Path>) -> Result<(), Stale> {
        let path = path.as_ref();
        let checked_in = match std::fs::read_to_string(path) {
            Ok(text) => Manifest::parse(&text).map_err(|e| Stale {
                path: path.display().to_string(),
                changes: vec![format!("cannot read it: {e}")],
            })?,
            Err(e) => {
                return Err(Stale { path: path.display().to_string(), changes: vec![format!("cannot read it: {e}")] })
            }
        };
        let changes = diff(&checked_in, self);
        if changes.is_empty() {
            Ok(())
        } else {
            Err(Stale { path: path.display().to_string(), changes })
        }
    }
}

/// The checked-in manifest differs from the code's: what changed, one
/// line each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stale {
    /// The checked-in file.
    pub path: String,
    /// The changes from the file to the code, as [`diff`] words them.
    pub changes: Vec<String>,
}

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the authorization manifest {} differs from the code:", self.path)?;
        for change in &self.changes {
            writeln!(f, "  - {change}")?;
        }
        write!(f, "review these changes, then regenerate the file")
    }
}

impl std::error::Error for Stale {}

/// The changes from `old` to `new`, one readable line each: actions added
/// and removed, and for each action kept, every field that changed, with
/// callers and permissions said to be widened or narrowed.
pub fn diff(old: &Manifest, new: &Manifest) -> Vec<String> {
    let old_names: Vec<&str> = old.actions.iter().map(|e| e.name.as_str()).collect();
    let new_names: Vec<&str> = new.actions.iter().map(|e| e.name.as_str()).collect();
    let keyed = |entries: &[Entry], names: &[&str]| -> Vec<(String, Entry)> {
        entries.iter().map(|e| (e.key(names), e.clone())).collect()
    };
    let (old_keyed, new_keyed) = (keyed(&old.actions, &old_names), keyed(&new.actions, &new_names));
    let find = |list: &[(String, Entry)], key: &str| list.iter().find(|(k, _)| k == key).map(|(_, e)| e.clone());
    let mut out = Vec::new();
    for (key, entry) in &new_keyed {
        match find(&old_keyed, key) {
            None => out.push(format!("new action {key}: {}", entry.summary())),
            Some(before) => changes(key, &before, entry, &mut out),
        }
    }
    for (key, _) in &old_keyed {
        if find(&new_keyed, key).is_none() {
            out.push(format!("removed action {key}"));
        }
    }
    for route in &new.public_routes {
        match old.public_routes.iter().find(|r| r.path == route.path && r.method == route.method) {
            None => out.push(format!("new public route {} {}: {}", route.method, route.path, route.reason)),
            Some(before) if before.reason != route.reason => out.push(format!(
                "public route {} {}: reason \"{}\" → \"{}\"",
                route.method, route.path, before.reason, route.reason
            )),
            Some(_) => {}
        }
    }
    for route in &old.public_routes {
        if !new.public_routes.iter().any(|r| r.path == route.path && r.method == route.method) {
            out.push(format!("removed public route {} {}", route.method, route.path));
        }
    }
    out
}

/// Every change of one action, in the manifest's field order.
fn changes(key: &str, old: &Entry, new: &Entry, out: &mut Vec<String>) {
    if (&old.method, &old.path) != (&new.method, &new.path) {
        out.push(format!("{key}: route {} {} → {} {}", old.method, old.path, new.method, new.path));
    }
    match (old.policy.as_str(), new.policy.as_str()) {
        (a, b) if a == b => {}
        (_, "public") => {
            out.push(format!("{key}: now public ({})", new.public_reason.as_deref().unwrap_or("no reason given")))
        }
        (_, "authenticated") => out.push(format!("{key}: now open to any authenticated caller (was {})", old.policy)),
        (_, _) => out.push(format!("{key}: no longer {}: requires {}", old.policy, new.requires.join(", "))),
    }
    if old.policy == new.policy && old.requires != new.requires {
        out.push(set_change(key, "requires", &old.requires, &new.requires, true));
    }
    if old.callers != new.callers {
        out.push(set_change(key, "callers", &old.callers, &new.callers, false));
    }
    if old.policy == new.policy && old.public_reason != new.public_reason {
        out.push(format!("{key}: public reason {} → {}", option(&old.public_reason), option(&new.public_reason)));
    }
    let fields: [(&str, Option<String>, Option<String>); 5] = [
        ("object check", old.object.clone(), new.object.clone()),
        ("fresh", old.fresh_secs.map(|s| format!("{s}s")), new.fresh_secs.map(|s| format!("{s}s"))),
        ("replay key", old.replay.clone(), new.replay.clone()),
        ("custom check", old.check.clone(), new.check.clone()),
        ("approval", old.approval.clone(), new.approval.clone()),
    ];
    for (name, before, after) in fields {
        if before != after {
            let word = match (&before, &after) {
                (Some(_), None) => " dropped",
                (None, Some(_)) => " added",
                _ => "",
            };
            out.push(format!("{key}: {name}{word} {} → {}", option(&before), option(&after)));
        }
    }
    if old.binding != new.binding {
        out.push(set_change(key, "binding", &old.binding, &new.binding, true));
    }
    if old.acr != new.acr {
        // An empty list accepts any context: fewer entries, not more, widen it.
        out.push(format!("{key}: acr {} → {}", list(&old.acr), list(&new.acr)));
    }
}

/// `key: field widened [a] → [a, b]`. For a list that restricts by each
/// entry (`requires`, `binding`), more entries narrow; for one that admits
/// by each entry (`callers`), more entries widen.
fn set_change(key: &str, field: &str, old: &[String], new: &[String], restricts: bool) -> String {
    let grew = old.iter().all(|x| new.contains(x));
    let shrank = new.iter().all(|x| old.contains(x));
    let word = match (grew, shrank, restricts) {
        (true, false, false) | (false, true, true) => "widened",
        (true, false, true) | (false, true, false) => "narrowed",
        _ => "changed",
    };
    format!("{key}: {field} {word} {} → {}", list(old), list(new))
}

fn list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

fn option(value: &Option<String>) -> String {
    value.clone().unwrap_or_else(|| "none".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str) -> Entry {
        Entry {
            name: name.to_owned(),
            method: "POST".to_owned(),
            path: format!("/{name}"),
            policy: "requires".to_owned(),
            requires: vec!["orders:write".to_owned()],
            callers: vec!["service".to_owned()],
            public_reason: None,
            object: Some("owner orders by id".to_owned()),
            fresh_secs: None,
            replay: None,
            check: None,
            binding: Vec::new(),
            acr: Vec::new(),
            approval: None,
        }
    }

    fn manifest(entries: Vec<Entry>) -> Manifest {
        Manifest { actions: entries, public_routes: Vec::new() }
    }

    fn one_change(old: Entry, new: Entry) -> Vec<String> {
        diff(&manifest(vec![old]), &manifest(vec![new]))
    }

    #[test]
    fn the_same_manifest_has_no_changes() {
        let m = manifest(vec![entry("a"), entry("b")]);
        assert_eq!(diff(&m, &m), Vec::<String>::new());
    }

    #[test]
    fn callers_widened_and_narrowed() {
        let old = entry("capture_payment");
        let new = Entry { callers: vec!["service".into(), "agent".into()], ..old.clone() };
        assert_eq!(
            one_change(old.clone(), new.clone()),
            ["capture_payment: callers widened [service] → [service, agent]"]
        );
        assert_eq!(one_change(new, old), ["capture_payment: callers narrowed [service, agent] → [service]"]);
        let other = Entry { callers: vec!["user".into()], ..entry("capture_payment") };
        assert_eq!(
            one_change(entry("capture_payment"), other),
            ["capture_payment: callers changed [service] → [user]"]
        );
    }

    #[test]
    fn an_action_made_public() {
        let old = entry("delete_order");
        let new =
            Entry { policy: "public".into(), requires: Vec::new(), public_reason: Some("demo".into()), ..old.clone() };
        assert_eq!(one_change(old, new), ["delete_order: now public (demo)"]);
    }

    #[test]
    fn new_and_removed_actions() {
        let refund = Entry { requires: vec!["orders:refund".into()], ..entry("refund_order") };
        let changes = diff(&manifest(vec![entry("x")]), &manifest(vec![refund]));
        assert_eq!(
            changes,
            [
                "new action refund_order: requires orders:refund on POST /refund_order, callers [service], owner orders by id",
                "removed action x",
            ]
        );
    }

    #[test]
    fn fewer_permissions_widen_and_more_narrow() {
        let old = Entry { requires: vec!["orders:read".into(), "orders:write".into()], ..entry("a") };
        let new = Entry { requires: vec!["orders:read".into()], ..old.clone() };
        assert_eq!(
            one_change(old.clone(), new.clone()),
            ["a: requires widened [orders:read, orders:write] → [orders:read]"]
        );
        assert_eq!(one_change(new, old), ["a: requires narrowed [orders:read] → [orders:read, orders:write]"]);
    }

    #[test]
    fn every_other_field_is_named() {
        let old = entry("a");
        let new = Entry {
            method: "PUT".into(),
            object: None,
            fresh_secs: Some(300),
            replay: Some("idempotency-key".into()),
            check: Some("within_limit".into()),
            binding: vec!["environment=production".into()],
            acr: vec!["mfa".into()],
            approval: Some("orders:approve".into()),
            ..old.clone()
        };
        assert_eq!(
            one_change(old, new),
            [
                "a: route POST /a → PUT /a",
                "a: object check dropped owner orders by id → none",
                "a: fresh added none → 300s",
                "a: replay key added none → idempotency-key",
                "a: custom check added none → within_limit",
                "a: approval added none → orders:approve",
                "a: binding narrowed [] → [environment=production]",
                "a: acr [] → [mfa]",
            ]
        );
    }

    #[test]
    fn an_action_mounted_twice_is_told_apart_by_its_route() {
        let first = entry("a");
        let second = Entry { path: "/other".into(), ..entry("a") };
        let widened = Entry { callers: vec!["service".into(), "user".into()], ..second.clone() };
        let changes = diff(&manifest(vec![first.clone(), second]), &manifest(vec![first, widened]));
        assert_eq!(changes, ["a (POST /other): callers widened [service] → [service, user]"]);
    }

    #[test]
    fn public_routes_added_removed_and_reworded() {
        let route =
            |path: &str, reason: &str| PublicRoute { path: path.into(), method: "GET".into(), reason: reason.into() };
        let old = Manifest { actions: Vec::new(), public_routes: vec![route("/", "index"), route("/old", "x")] };
        let new = Manifest { actions: Vec::new(), public_routes: vec![route("/", "the index"), route("/new", "y")] };
        assert_eq!(
            diff(&old, &new),
            [
                "public route GET /: reason \"index\" → \"the index\"",
                "new public route GET /new: y",
                "removed public route GET /old",
            ]
        );
    }

    #[test]
    fn render_and_parse_round_trip_and_unknown_fields_are_refused() {
        let m = manifest(vec![entry("b"), entry("a")]);
        assert_eq!(Manifest::parse(&m.render()).expect("parses"), m);
        assert!(m.render().ends_with("}\n"));
        let mut value: serde_json::Value = serde_json::from_str(&m.render()).expect("json");
        value["actions"][0]["surprise"] = serde_json::json!(1);
        assert!(Manifest::parse(&value.to_string()).is_err());
    }
}
