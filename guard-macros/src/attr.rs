//! Parsing `#[action(...)]`'s arguments. Single-key rules (grammar of a
//! permission, a duration, a size) are checked here; rules across keys live
//! in `check.rs`.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{bracketed, Ident, LitInt, LitStr, Path, Token};

use crate::ctxt::Ctxt;

pub(crate) const VALID_KEYS: &str =
    "`requires`, `authenticated`, `public`, `owner`, `tenant`, `resource`, `callers`, `fresh`, `replay`, `check`, `limit`, `crate`";
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
    pub(crate) callers: Option<Keyed<u8>>,
    pub(crate) fresh: Option<Keyed<Fresh>>,
    pub(crate) replay: Option<Keyed<String>>,
    pub(crate) check: Option<Keyed<Path>>,
    pub(crate) limit: Option<Keyed<usize>>,
    pub(crate) krate: Option<Keyed<Path>>,
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
    match key.to_string().as_str() {
        "requires" => {
            input.parse::<Token![=]>()?;
            let list: Vec<LitStr> = if input.peek(syn::token::Bracket) {
                let content;
                bracketed!(content in input);
                Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?.into_iter().collect()
            } else {
                vec![input.parse()?]
            };
            if list.is_empty() {
                cx.error(key.span(), "`requires = []` names no permission: list at least one, or write `authenticated` if any signed-in caller may act");
            }
            for permission in &list {
                check_permission(cx, permission);
            }
            set(cx, &mut args.requires, key, list);
        }
        "authenticated" => set(cx, &mut args.authenticated, key, ()),
        "public" => {
            input.parse::<Token![=]>()?;
            let reason: LitStr = input.parse()?;
            if reason.value().trim().is_empty() {
                cx.error(reason.span(), "`public` needs a reason a reviewer can read: `public = \"login form: checks the password itself\"`");
            }
            set(cx, &mut args.public, key, reason);
        }
        "owner" | "tenant" | "resource" => {
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
        }
        "callers" => {
            input.parse::<Token![=]>()?;
            let kinds: Vec<Ident> = if input.peek(syn::token::Bracket) {
                let content;
                bracketed!(content in input);
                Punctuated::<Ident, Token![,]>::parse_terminated(&content)?.into_iter().collect()
            } else {
                vec![input.parse()?]
            };
            let mut bits = 0u8;
            for kind in &kinds {
                bits |= match kind.to_string().as_str() {
                    "user" => 1,
                    "service" => 2,
                    "agent" => 4,
                    _ => {
                        cx.error(
                            kind.span(),
                            format_args!("unknown caller kind `{kind}`: expected `user`, `service` or `agent`"),
                        );
                        0
                    }
                };
            }
            if kinds.is_empty() {
                cx.error(key.span(), "`callers = []` admits nobody: list at least one of `user`, `service`, `agent`");
            }
            set(cx, &mut args.callers, key, bits);
        }
        "fresh" => {
            let fresh = if input.peek(Token![=]) {
                input.parse::<Token![=]>()?;
                let lit: LitStr = input.parse()?;
                match parse_duration(&lit.value()) {
                    Some(secs) => Fresh::Within(secs),
                    None => {
                        cx.error(lit.span(), format_args!("`{}` is not a duration: write a whole number and a unit, like \"30s\", \"5m\" or \"1h\"", lit.value()));
                        Fresh::AppWindow
                    }
                }
            } else {
                Fresh::AppWindow
            };
            set(cx, &mut args.fresh, key, fresh);
        }
        "replay" => {
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
        }
        "check" => {
            input.parse::<Token![=]>()?;
            let path: Path = input.parse()?;
            set(cx, &mut args.check, key, path);
        }
        "limit" => {
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
                _ => {
                    cx.error(span, "`limit` is a body size: a number of bytes, or a string like \"16KiB\" or \"1MiB\"")
                }
            }
        }
        "crate" => {
            input.parse::<Token![=]>()?;
            let path: Path = input.parse()?;
            set(cx, &mut args.krate, key, path);
        }
        _ => {
            cx.error(key.span(), format_args!("unknown key `{key}`: valid keys are {VALID_KEYS}"));
            // Skip its value so the keys after it are still checked.
            while !input.is_empty() && !input.peek(Token![,]) {
                input.parse::<TokenTree>()?;
            }
        }
    }
    Ok(())
}

fn check_permission(cx: &mut Ctxt, lit: &LitStr) {
    let value = lit.value();
    if value.ends_with('*') {
        cx.error(
            lit.span(),
            format_args!("`{value}` is a wildcard: wildcards grant (in roles and scopes); `requires` names the exact permission this action needs, like \"orders:write\""),
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
