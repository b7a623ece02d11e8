//! Rules across keys and parameters. Each failure names the problem, points
//! at the token to change, and says how to fix it.

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use syn::{ItemFn, LitStr, Path};

use crate::ast::{Action, BodyKind, Param, Role};
use crate::attr::{Args, Fresh, Keyed};
use crate::ctxt::Ctxt;

pub(crate) enum Policy {
    Requires(Vec<LitStr>),
    Authenticated,
    Public(LitStr),
}

pub(crate) enum Key {
    /// A path parameter, read at request time.
    Path(String),
    /// A top-level field of the JSON input; the field access in the
    /// generated code makes the compiler check it exists.
    Input(LitStr),
}

pub(crate) struct Object {
    pub(crate) resource: String,
    pub(crate) key: Key,
    pub(crate) owner: bool,
}

/// A validated action: `expand` turns it into tokens without error branches.
pub(crate) struct Valid<'a> {
    pub(crate) original: &'a ItemFn,
    pub(crate) params: Vec<Param<'a>>,
    pub(crate) krate: TokenStream,
    pub(crate) route: Option<(String, String)>,
    pub(crate) policy: Policy,
    /// The caller kinds named; `None` admits every kind.
    pub(crate) callers: Option<Vec<String>>,
    /// The router state the extractors are checked against at definition:
    /// `state = T`, or the `T` of a `State<T>` parameter.
    pub(crate) state: Option<syn::Type>,
    pub(crate) fresh: Option<Fresh>,
    pub(crate) replay: Option<String>,
    pub(crate) object: Option<Object>,
    pub(crate) check: Option<Path>,
    /// `bind(...)`: (claim, value) pairs.
    pub(crate) bind: Vec<(String, String)>,
    /// `acr = [...]`.
    pub(crate) acr: Vec<String>,
    /// `approval = "..."`: the approver's permission.
    pub(crate) approval: Option<String>,
    pub(crate) limit: Option<usize>,
    /// `page`: a signed-out browser is sent to the login page.
    pub(crate) page: bool,
}

pub(crate) fn validate<'a>(cx: &mut Ctxt, args: Args, action: Action<'a>) -> Option<Valid<'a>> {
    let policy = policy(cx, &args);
    if let Some(Policy::Public(_)) = &policy {
        refuse_with_public(cx, &args);
    }
    check_params(cx, &action, policy.as_ref());
    check_page(cx, &args);
    // A public action's `owner`/`tenant` is already refused above; checking
    // where its key comes from would only repeat the error.
    let object = match policy {
        Some(Policy::Public(_)) => None,
        _ => object(cx, &args, &action, policy.as_ref()),
    };
    if let (Some(approval), None, false) = (&args.approval, &object, matches!(policy, Some(Policy::Public(_)))) {
        // Only say so when the object itself is not in error already.
        if args.owner.is_none() && args.tenant.is_none() {
            cx.error(
                approval.key,
                "an approval is given for one object, so the approver knows what they approve and the retry cannot \
                 use it on another: add `owner = \"...\"` or `tenant = \"...\"` naming the object",
            );
        }
    }
    if cx.has_errors() {
        return None;
    }
    // `authenticated` checks no permission, so an agent there would act on
    // its bearer token alone, past its scopes: agents only when named.
    let callers = args.callers.map(|c| c.value).or_else(|| {
        matches!(policy, Some(Policy::Authenticated)).then(|| vec!["user".to_owned(), "service".to_owned()])
    });
    let state = args.state.map(|s| s.value).or_else(|| action.params.iter().find_map(|p| state_of(p.ty)));
    Some(Valid {
        original: action.original,
        params: action.params,
        krate: args.krate.map_or_else(|| quote!(::guard_runtime), |k| k.value.into_token_stream()),
        route: args.route.map(|r| (r.method.to_string(), r.path.value())),
        policy: policy?,
        callers,
        state,
        fresh: args.fresh.map(|f| f.value),
        replay: args.replay.map(|r| r.value),
        object,
        check: args.check.map(|c| c.value),
        bind: args
            .bind
            .map(|b| b.value.into_iter().map(|(name, value)| (name, value.value())).collect())
            .unwrap_or_default(),
        acr: args.acr.map(|a| a.value.iter().map(LitStr::value).collect()).unwrap_or_default(),
        approval: args.approval.map(|a| a.value.value()),
        limit: args.limit.map(|l| l.value),
        page: args.page.is_some(),
    })
}

/// `T` in a `State<T>` parameter: the state the app's router must hold.
fn state_of(ty: &syn::Type) -> Option<syn::Type> {
    let syn::Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else { return None };
    match (last.ident == "State", args.args.first(), args.args.len()) {
        (true, Some(syn::GenericArgument::Type(inner)), 1) => Some(inner.clone()),
        _ => None,
    }
}

/// Exactly one of `requires`, `authenticated`, `public`.
fn policy(cx: &mut Ctxt, args: &Args) -> Option<Policy> {
    let given: Vec<(&str, Span)> = [
        args.requires.as_ref().map(|k| ("requires", k.key)),
        args.authenticated.as_ref().map(|k| ("authenticated", k.key)),
        args.public.as_ref().map(|k| ("public", k.key)),
    ]
    .into_iter()
    .flatten()
    .collect();
    match given.as_slice() {
        [] => {
            cx.error(
                Span::call_site(),
                "this action declares no policy: add `requires = \"resource:verb\"` (the permission it needs), \
                 `authenticated` (any signed-in caller) or `public = \"why this is safe\"`",
            );
            None
        }
        [_] => Some(if let Some(r) = &args.requires {
            Policy::Requires(r.value.clone())
        } else if let Some(p) = &args.public {
            Policy::Public(p.value.clone())
        } else {
            Policy::Authenticated
        }),
        [(first, _), rest @ ..] => {
            for (second, span) in rest {
                cx.error(
                    *span,
                    format_args!(
                        "`{second}` contradicts `{first}`: an action has exactly one policy, so keep one of them"
                    ),
                );
            }
            None
        }
    }
}

/// A public action has no caller to check, so caller-based keys are errors.
fn refuse_with_public(cx: &mut Ctxt, args: &Args) {
    let mut refuse = |key: Option<Span>, name: &str| {
        if let Some(span) = key {
            cx.error(span, format_args!("`{name}` needs an authenticated caller, and `public` has none: drop `{name}`, or replace `public` with `requires = ...`"));
        }
    };
    refuse(args.owner.as_ref().map(|k| k.key), "owner");
    refuse(args.tenant.as_ref().map(|k| k.key), "tenant");
    refuse(args.callers.as_ref().map(|k| k.key), "callers");
    refuse(args.fresh.as_ref().map(|k| k.key), "fresh");
    refuse(args.check.as_ref().map(|k| k.key), "check");
    refuse(args.bind.as_ref().map(|k| k.key), "bind");
    refuse(args.acr.as_ref().map(|k| k.key), "acr");
    refuse(args.approval.as_ref().map(|k| k.key), "approval");
    refuse(args.page.as_ref().map(|k| k.key), "page");
}

/// `page` is for what a browser navigates to: a GET. A form post or an API
/// call that meets a signed-out caller answers 401; sending it to a login
/// page would lose what it posted.
fn check_page(cx: &mut Ctxt, args: &Args) {
    let (Some(page), Some(route)) = (&args.page, &args.route) else { return };
    if route.method != "GET" {
        cx.error(
            page.key,
            format_args!(
                "`page` is for a page a browser opens with GET, and this route is `{}`: a signed-out form post answers 401, \
                 so drop `page` here, and put it on the GET page that shows the form",
                route.method
            ),
        );
    }
}

fn check_params(cx: &mut Ctxt, action: &Action, policy: Option<&Policy>) {
    let sig = &action.original.sig;
    let authorized = action.params.iter().filter(|p| matches!(p.role, Role::Authorized)).count();
    match policy {
        Some(Policy::Public(_)) => {
            for param in
                action.params.iter().filter(|p| matches!(p.role, Role::Authorized | Role::Grant(_) | Role::Loaded(_)))
            {
                cx.error_spanned(param.arg, "a public action has no authorized caller: remove this parameter, or replace `public` with `requires = ...`");
            }
        }
        Some(_) if authorized == 0 => cx.error(
            sig.ident.span(),
            format_args!(
                "a guarded action takes its proof of authorization: add a parameter `auth: Authorized` to `{}` (`_auth` if the body does not read it)",
                sig.ident
            ),
        ),
        _ => {}
    }
    if authorized > 1 {
        for param in action.params.iter().filter(|p| matches!(p.role, Role::Authorized)).skip(1) {
            cx.error_spanned(param.arg, "`Authorized` is taken once: remove this parameter");
        }
    }
    if !matches!(policy, Some(Policy::Requires(_))) {
        for param in action.params.iter().filter(|p| matches!(p.role, Role::Grant(_))) {
            if !matches!(policy, Some(Policy::Public(_))) {
                cx.error_spanned(
                    param.arg,
                    "a `Grant` proves a required permission, and this action requires none: add `requires = \"...\"` naming its permission, or remove this parameter",
                );
            }
        }
    }
    for param in action.params.iter().filter(|p| matches!(p.role, Role::Loaded(_))).skip(1) {
        cx.error_spanned(param.arg, "an action names one object, so it takes one `Loaded`: remove this parameter");
    }
    let bodies: Vec<(usize, BodyKind)> = action
        .params
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match p.role {
            Role::Body(kind, _) => Some((i, kind)),
            _ => None,
        })
        .collect();
    for &(i, _) in bodies.iter().skip(1) {
        cx.error_spanned(
            action.params[i].arg,
            "an action reads one body: take one `Json<T>` or `Form<T>` input, and merge the inputs into one type",
        );
    }
    // With two bodies, the error above is the one to fix first.
    if let [(i, kind)] = bodies[..] {
        if i + 1 != action.params.len() {
            cx.error_spanned(
                action.params[i].arg,
                format_args!(
                    "the `{}` input consumes the body, so it must be the last parameter: move it to the end",
                    kind.name()
                ),
            );
        }
    }
}

/// `owner`/`tenant`: where the key comes from and which resolver loads it.
fn object(cx: &mut Ctxt, args: &Args, action: &Action, policy: Option<&Policy>) -> Option<Object> {
    let (named, owner) = match (&args.owner, &args.tenant) {
        (Some(owner), Some(tenant)) => {
            cx.error(
                tenant.key,
                "`tenant` is part of `owner` (an owner check also checks the tenant): keep one of them",
            );
            let _ = owner;
            return None;
        }
        (Some(owner), None) => (owner, true),
        (None, Some(tenant)) => (tenant, false),
        (None, None) => {
            for param in action.params.iter().filter(|p| matches!(p.role, Role::Loaded(_))) {
                if !matches!(policy, Some(Policy::Public(_))) {
                    cx.error_spanned(
                        param.arg,
                        "`Loaded` is the object that `owner` or `tenant` names, and this action names none: \
                         add `owner = \"...\"` (or `tenant = \"...\"`) naming its key, or remove this parameter",
                    );
                }
            }
            if let Some(resource) = &args.resource {
                cx.error(resource.key, "`resource` names the resolver of an object, and this action names none: add `owner = \"...\"` or `tenant = \"...\"`");
            }
            return None;
        }
    };
    let resource = resource(cx, args, named, policy)?;
    let name = named.value.value();
    let has_body = action.params.iter().any(|p| matches!(p.role, Role::Body(..)));
    let key = match &args.route {
        // The route is given when mounting: `Actions::mount_at` checks it.
        None => Key::Path(name),
        Some(route) if route.params.contains(&name) => Key::Path(name),
        Some(_) if has_body => Key::Input(named.value.clone()),
        Some(route) => {
            let path = route.path.value();
            let message = if route.params.is_empty() {
                format!(
                    "`{key}` names `{name}`, but the route \"{path}\" has no parameters and the action takes no `Json` or `Form` input: \
                     add `{{{name}}}` to the route, or take a `Json<T>` (or `Form<T>`) input whose type has a field `{name}`",
                    key = if owner { "owner" } else { "tenant" },
                )
            } else {
                format!(
                    "`{name}` is not a parameter of the route \"{path}\", and the action takes no `Json` or `Form` input: name one of {}",
                    route.params.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
                )
            };
            cx.error(named.value.span(), message);
            return None;
        }
    };
    Some(Object { resource, key, owner })
}

/// `resource = "..."`, or else the resource of the first required permission.
fn resource(cx: &mut Ctxt, args: &Args, named: &Keyed<LitStr>, policy: Option<&Policy>) -> Option<String> {
    if let Some(resource) = &args.resource {
        return Some(resource.value.value());
    }
    if let Some(Policy::Requires(list)) = policy {
        if let Some((resource, _)) = list.first().map(LitStr::value).as_deref().and_then(|p| p.split_once(':')) {
            return Some(resource.to_owned());
        }
    }
    cx.error(named.key, "which resolver loads this object? Add `resource = \"orders\"` (the name it is registered under in `Resolvers`)");
    None
}
