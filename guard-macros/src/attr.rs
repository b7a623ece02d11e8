//! Parsing `#[action(...)]`'s arguments. Single-key rules (grammar of a
//! permission, a duration, a size) are checked here; rules across keys live
//! in `check.rs`.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{bracketed, Ident, LitInt, LitStr, Path, Token};

use crate::ctxt::Ctxt;

/// Every key of the attribute and its parser: the one table both parsing
/// and the "unknown key" error read, so the list in the error is always
/// the list that is accepted.
const KEYS: &[(&str, KeyParser)] = &[
    ("requires", parse_requires),
    ("authenticated", parse_authenticated),
    ("public", parse_public),
    ("owner", parse_object_key),
    ("tenant", parse_object_key),
    ("resource", parse_object_key),
    ("callers", parse_callers),
    ("fresh", parse_fresh),
    ("replay", parse_replay),
    ("check", parse_check),
    ("bind", parse_bind),
    ("acr", parse_acr),
    ("approval", parse_approval),
    ("limit", parse_limit),
    ("page", parse_page),
    ("state", parse_state),
    ("crate", parse_crate),
];

type KeyParser = fn(&mut Ctxt, &mut Args, &Ident, ParseStream) -> syn::Result<()>;

/// The caller kinds `callers = [...]` may name. The runtime's
/// `CallerSet::from_names` defines them; the generated spec calls it in a
/// constant, so a name accepted here and unknown there fails the build, and
/// `tests/ui/action/pass/all-keys.rs` names each of them.
const CALLER_KINDS: [&str; 3] = ["user", "service", "agent"];

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// A key as written, with the span of its name (for "duplicate key" errors
/// and the like) and its value.
pub(crate) struct Keyed<T> {
    pub(crate) key: Span,
    pub(crate) value: T,
}

pub(crate) struct Route {
    pub(crate) method: Ident,
    pub(crate) path: LitStr,
    /// `{name}` segments of the path.
    pub(crate) params: Vec<String>,
}

pub(crate) enum Fresh {
    AppWindow,
    Within(u64),
}

#[derive(Default)]
pub(crate) struct Args {
    pub(crate) route: Option<Route>,
    pub(crate) requires: Option<Keyed<Vec<LitStr>>>,
    pub(crate) authenticated: Option<Keyed<()>>,
    pub(crate) public: Option<Keyed<LitStr>>,
    pub(crate) owner: Option<Keyed<LitStr>>,
    pub(crate) tenant: Option<Keyed<LitStr>>,
    pub(crate) resource: Option<Keyed<LitStr>>,
    /// The kinds named, as written.
    pub(crate) callers: Option<Keyed<Vec<String>>>,
    pub(crate) fresh: Option<Keyed<Fresh>>,
    pub(crate) replay: Option<Keyed<String>>,
    pub(crate) check: Option<Keyed<Path>>,
    pub(crate) limit: Option<Keyed<usize>>,
    /// The router state the action's extractors are checked against.
    pub(crate) state: Option<Keyed<syn::Type>>,
    /// `bind(claim = "value", ...)`: claims the credential must carry.
    pub(crate) bind: Option<Keyed<Vec<(String, LitStr)>>>,
    /// `acr = [...]`: the authentication context classes accepted.
    pub(crate) acr: Option<Keyed<Vec<LitStr>>>,
    /// `approval = "..."`: the permission a second person needs to approve.
    pub(crate) approval: Option<Keyed<LitStr>>,
    pub(crate) krate: Option<Keyed<Path>>,
    /// `page`: a GET page a browser navigates to; signed out, it is sent
    /// to the login page.
    pub(crate) page: Option<Keyed<()>>,
}

/// Parses the arguments, recording every error in `cx`. `None` when the
/// token stream itself could not be read.
pub(crate) fn parse(cx: &mut Ctxt, tokens: TokenStream) -> Option<Args> {
    let mut args = Args::default();
    let parser = |input: ParseStream| parse_args(cx, &mut args, input);
    match parser.parse2(tokens) {
        Ok(()) => Some(args),
        Err(err) => {
            cx.push(err);
            None
        }
    }
}

fn parse_args(cx: &mut Ctxt, args: &mut Args, input: ParseStream) -> syn::Result<()> {
    if input.peek(Ident) && input.peek2(LitStr) {
        args.route = Some(parse_route(cx, input)?);
        if input.is_empty() {
            return Ok(());
        }
        input.parse::<Token![,]>()?;
    }
    while !input.is_empty() {
        let key = Ident::parse_any(input)?;
        parse_key(cx, args, &key, input)?;
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(())
}

fn parse_route(cx: &mut Ctxt, input: ParseStream) -> syn::Result<Route> {
    let method: Ident = input.parse()?;
    let path: LitStr = input.parse()?;
    if !METHODS.contains(&method.to_string().as_str()) {
        cx.error(
            method.span(),
            format_args!("unknown method `{method}`: expected one of GET, POST, PUT, PATCH, DELETE"),
        );
    }
    let value = path.value();
    let mut params = Vec::new();
    if !value.starts_with('/') {
        cx.error(path.span(), "a route path starts with `/`, like \"/orders/{order_id}\"");
    }
    for segment in value.split('/') {
        if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            let name = name.strip_prefix('*').unwrap_or(name);
            if syn::parse_str::<Ident>(name).is_err() {
                cx.error(
                    path.span(),
                    format_args!("`{{{name}}}` is not a path parameter: write `{{name}}` with an identifier inside"),
                );
            }
            params.push(name.to_owned());
        } else if segment.contains(['{', '}']) {
            cx.error(
                path.span(),
                format_args!("`{segment}`: a path parameter takes a whole segment, like `/orders/{{order_id}}`"),
            );
        }
    }
    Ok(Route { method, path, params })
}

/// Records `value` under `slot`, or a duplicate-key error at the second key.
fn set<T>(cx: &mut Ctxt, slot: &mut Option<Keyed<T>>, key: &Ident, value: T) {
    if slot.is_some() {
        cx.error(key.span(), format_args!("duplicate key `{key}`: each key is given once"));
    } else {
        *slot = Some(Keyed { key: key.span(), value });
    }
}

fn parse_key(cx: &mut Ctxt, args: &mut Args, key: &Ident, input: ParseStream) -> syn::Result<()> {
    let name = key.to_string();
    match KEYS.iter().find(|(known, _)| *known == name) {
        Some((_, parse)) => parse(cx, args, key, input),
        None => {
            let valid: Vec<String> = KEYS.iter().map(|(known, _)| format!("`{known}`")).collect();
            cx.error(key.span(), format_args!("unknown key `{key}`: valid keys are {}", valid.join(", ")));
            // Skip its value so the keys after it are still checked.
            while !input.is_empty() && !input.peek(Token![,]) {
                input.parse::<TokenTree>()?;
            }
            Ok(())
        }
    }
}

fn parse_requires(cx: &mut Ctxt, args: &mut Args, key: &Ident, input: ParseStream) -> syn::Result<()> {
    let list = string_list(input)?;
    if list.is_empty() {
        cx.error(key.span(), "`requires = []` names no permission: list at least one, or write `authenticated` if any signed-in caller may act");
    }
    for permission in &list {
        check_permission(cx, permission, "requires", "this action needs, like \"orders:write\"");
    }
    set(cx, &mut args.requires, key, list);
    Ok(())
}

/// `= "a"` or `= ["a", "b"]`: one string or a bracketed list of them.
fn string_list(input: ParseStream) -> syn::Result<Vec<LitStr>> {
    input.parse::<Token![=]>()?;
    if input.peek(syn::token::Bracket) {
        let content;
        bracketed!(content in input);
        Ok(Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?.into_iter().collect())
    } else {
        Ok(vec![input.parse()?])
    }
}

fn parse_authenticated(cx: &mut Ctxt, args: &mut Args, key: &Ident, _: ParseStream) -> syn::Result<()> {
    set(cx, &mut args.authenticated, key, ());
    Ok(())
}

fn parse_page(cx: &mut Ctxt, args: &mut Args, key: &Ident, _: ParseStream) -> syn::Result<()> {
    set(cx, &mut args.page, key, ());
    Ok(())
}

fn parse_public(cx: &mut Ctxt, args: &mut Args, key: &Ident, input: ParseStream) -> syn::Result<()> {
    const HOW: &str = "`public` needs a reason a reviewer can read: write `public = \"why this is safe\"`, like `public = \"login form: checks the password itself\"`";
    if !input.peek(Token![=]) {
        cx.error(key.span(), HOW);
        // Still the policy the user chose: no second "declares no policy".
        set(cx, &mut args.public, key, LitStr::new("", key.span()));
        return Ok(());
    }
    input.parse::<Token![=]>()?;
    let reason: LitStr = input.parse()?;
    if reason.value().trim().is_empty() {
        cx.error(reason.span(), HOW);
    }
    set(cx, &mut args.public, key, reason);
    Ok(())
}

/// `owner`, `tenant` and `resource`: each names something by identifier.
fn parse_object_key(cx: &mut Ctxt, args: &mut Args, key: &Ident, input: ParseStream) -> syn::Result<()> {
    input.parse::<Token![=]>()?;
    let name: LitStr = input.parse()?;
    // A raw identifier (`r#type`) is no field name a client sends.
    if name.value().starts_with("r#") || syn::parse_str::<Ident>(&name.value()).is_err() {
        cx.error(
            name.span(),
            format_args!("`{key}` names a path parameter or input field: an identifier, like \"order_id\""),
        );
    }
    let slot = match key.to_string().as_str() {
        "owner" => &mut args.owner,
        "tenant" => &mut args.tenant,
        _ => &mut args.resource,
    };
    set(cx, slot, key, name);
    Ok(())
}

fn parse_callers(cx: &mut Ctxt, args: &mut Args, key: &Ident, input: ParseStream) -> syn::Result<()> {
    input.parse::<Token![=]>()?;
    let kinds: Vec<Ident> = if input.peek(syn::token::Bracket) {
        let content;
        bracketed!(content in input);
        Punctuated::<Ident, Token![,]>::parse_terminated(&content)?.into_iter().collect()
    } else {
        vec![input.parse()?]
    };
    let mut names = Vec::new();
    for kind in &kinds {
        let name = kind.to_string();
        if CALLER_KINDS.contains(&name.as_str()) {
            names.push(name);
        } else {
            let valid: Vec<String> = CALLER_KINDS.iter().map(|k| format!("`{k}`")).collect();
            cx.error(kind.span(), format_args!("unknown caller kind `{kind}`: expected one of {}", valid.join(", ")));
        }
    }
    if kinds.is_empty() {
        cx.error(key.span(), "`callers = []` admits nobody: list at least one of `user`, `service`, `agent`");
    }
    set(cx, &mut args.callers, key, names);
    Ok(())
}

fn parse_fresh(cx: &mut Ctxt, args: &mut Args, key: &Ident, input: ParseStream) -> syn::Result<()> {
    let fresh = if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        let lit: LitStr = input.parse()?;
        match parse_duration(&lit.value()) {
            Some(secs) => Fresh::Within(secs),
            None => {
                cx.error(
                    lit.span(),
                    format_args!(
                        "`{}` is not a duration: write a whole number and a unit, like \"30s\", \"5m\" or \"1h\"",
                        lit.value()
                    ),
                );
                Fresh::AppWindow
            }
        }
    } else {
        Fresh::AppWindow
    };
    set(cx, &mut args.fresh, key, fresh);
    Ok(())
}

fn parse_replay(cx: &mut Ctxt, args: &mut Args, key: &Ident, input: ParseStream) -> syn::Result<()> {
    let header = if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        let lit: LitStr = input.parse()?;
        let name = lit.value().to_ascii_lowercase();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            cx.error(lit.span(), "`replay` names a header: letters, digits and `-`, like \"x-nonce\"");
        }
        name
    } else {
        "idempotency-key".to_owned()
    };
    set(cx, &mut args.replay, key, header);
    Ok(())
}

fn parse_check(cx: &mut Ctxt, args: &mut Args, key: &Ident, input: ParseStream) -> syn::Result<()> {
    input.parse::<Token![=]>()?;
    let path: Path = input.parse()?;
    set(cx, &mut args.check, key, path);
    Ok(())
}

/// `bind(environment = "production", ref = "refs/heads/main")`.
fn parse_bind(cx: &mut Ctxt, args: &mut Args, key: &Ident, input: ParseStream) -> syn::Result<()> {
    const HOW: &str = "`bind` lists the claims the credential must carry, like `bind(environment = \"production\", repository = \"acme/shop\")`";
    if !input.peek(syn::token::Paren) {
        cx.error(key.span(), HOW);
        return Ok(());
    }
    let content;
    syn::parenthesized!(content in input);
    let mut pairs = Vec::new();
    while !content.is_empty() {
        // Claim names may be keywords (`ref`, `sub`).
        let name = Ident::parse_any(&content)?;
        content.parse::<Token![=]>()?;
        let value: LitStr = content.parse()?;
        if value.value().is_empty() {
            cx.error(value.span(), format_args!("`{name}` is bound to nothing: give the value the claim must have"));
        }
        let claim = name.to_string();
        if pairs.iter().any(|(n, _): &(String, LitStr)| *n == claim) {
            cx.error(name.span(), format_args!("`{name}` is bound twice: a claim has one value"));
        }
        pairs.push((claim, value));
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    if pairs.is_empty() {
        cx.error(key.span(), HOW);
    }
    set(cx, &mut args.bind, key, pairs);
    Ok(())
}

/// `acr = "phr"` or `acr = ["phr", "phrh"]`.
fn parse_acr(cx: &mut Ctxt, args: &mut Args, key: &Ident, input: ParseStream) -> syn::Result<()> {
    let list = string_list(input)?;
    if list.is_empty() {
        cx.error(key.span(), "`acr = []` accepts no authentication: list at least one class, like `acr = \"phr\"`");
    }
    for class in &list {
        let value = class.value();
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\') {
            cx.error(
                class.span(),
                "an `acr` class is a name without spaces or quotes, like \"phr\" or \"urn:mace:incommon:iap:silver\"",
            );
        }
    }
    set(cx, &mut args.acr, key, list);
    Ok(())
}

/// `approval = "orders:approve"`: the exact permission an approver holds.
fn parse_approval(cx: &mut Ctxt, args: &mut Args, key: &Ident, input: ParseStream) -> syn::Result<()> {
    if !input.peek(Token![=]) {
        cx.error(
            key.span(),
            "`approval` names the permission a second person needs to approve, like `approval = \"orders:approve\"`",
        );
        return Ok(());
    }
    input.parse::<Token![=]>()?;
    let permission: LitStr = input.parse()?;
    check_permission(cx, &permission, "approval", "an approver holds, like \"orders:approve\"");
    set(cx, &mut args.approval, key, permission);
    Ok(())
}

fn parse_limit(cx: &mut Ctxt, args: &mut Args, key: &Ident, input: ParseStream) -> syn::Result<()> {
    input.parse::<Token![=]>()?;
    let (span, bytes) = if input.peek(LitInt) {
        let lit: LitInt = input.parse()?;
        (lit.span(), lit.base10_parse::<usize>().ok())
    } else {
        let lit: LitStr = input.parse()?;
        (lit.span(), parse_size(&lit.value()))
    };
    match bytes {
        Some(bytes) if bytes > 0 => set(cx, &mut args.limit, key, bytes),
        _ => cx.error(span, "`limit` is a body size: a number of bytes, or a string like \"16KiB\" or \"1MiB\""),
    }
    Ok(())
}

fn parse_state(cx: &mut Ctxt, args: &mut Args, key: &Ident, input: ParseStream) -> syn::Result<()> {
    input.parse::<Token![=]>()?;
    let ty: syn::Type = input.parse()?;
    set(cx, &mut args.state, key, ty);
    Ok(())
}

fn parse_crate(cx: &mut Ctxt, args: &mut Args, key: &Ident, input: ParseStream) -> syn::Result<()> {
    input.parse::<Token![=]>()?;
    let path: Path = input.parse()?;
    set(cx, &mut args.krate, key, path);
    Ok(())
}

/// A permission named by `key`: exact (never a wildcard) and well-formed.
/// `names` says what the key's permission is for, as the error's example.
fn check_permission(cx: &mut Ctxt, lit: &LitStr, key: &str, names: &str) {
    let value = lit.value();
    if value.ends_with('*') {
        cx.error(
            lit.span(),
            format_args!("`{value}` is a wildcard: wildcards grant (in roles and scopes); `{key}` names the exact permission {names}"),
        );
    } else if !is_permission(&value) {
        cx.error(
            lit.span(),
            format_args!("`{value}` is not a permission: write `resource:verb` in lowercase letters, digits, `_` or `-`, like \"orders:write\""),
        );
    }
}

/// `resource:verb`, each part `[a-z][a-z0-9_-]*`. The runtime's
/// `permission::is_valid_name` is the same grammar.
fn is_permission(value: &str) -> bool {
    let segment = |s: &str| {
        s.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    };
    matches!(value.split_once(':'), Some((resource, verb)) if segment(resource) && segment(verb))
}

/// `"30s"`, `"5m"`, `"1h"` into seconds.
fn parse_duration(value: &str) -> Option<u64> {
    let split = value.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = value.split_at(split);
    let n: u64 = number.parse().ok().filter(|n| *n > 0)?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return None,
    };
    n.checked_mul(scale)
}

/// `"512B"`, `"16KiB"`, `"1MiB"` into bytes.
fn parse_size(value: &str) -> Option<usize> {
    let split = value.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = value.split_at(split);
    let n: usize = number.parse().ok()?;
    let scale = match unit {
        "B" => 1,
        "KiB" => 1024,
        "MiB" => 1024 * 1024,
        _ => return None,
    };
    n.checked_mul(scale)
}
