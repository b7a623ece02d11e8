//! A borrowed view of the annotated function: its parameters sorted by the
//! role they play.

use syn::{FnArg, GenericArgument, ItemFn, PatType, PathArguments, Type};

use crate::ctxt::Ctxt;

pub(crate) enum Role<'a> {
    /// `auth: Authorized`: the proof the guard hands the body.
    Authorized,
    /// `grant: Grant<P>`: a typed grant of `P`.
    Grant(&'a Type),
    /// `order: Loaded<T>`: the object `owner`/`tenant` named, as its
    /// resolver read it and the guard checked it.
    Loaded(&'a Type),
    /// `Json(input): Json<T>` or `Form(input): Form<T>`: the strictly
    /// decoded body.
    Body(BodyKind, &'a Type),
    /// Any other axum `FromRequestParts` extractor.
    Extractor,
}

/// How a body input is encoded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    /// `application/json`.
    Json,
    /// `application/x-www-form-urlencoded`, an HTML form.
    Form,
}

impl BodyKind {
    /// The wrapper's name, as the user writes it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            BodyKind::Json => "Json",
            BodyKind::Form => "Form",
        }
    }
}

pub(crate) struct Param<'a> {
    /// The whole parameter, `pattern: Type`, for errors about the parameter.
    pub(crate) arg: &'a PatType,
    pub(crate) ty: &'a Type,
    pub(crate) role: Role<'a>,
}

pub(crate) struct Action<'a> {
    pub(crate) original: &'a ItemFn,
    pub(crate) params: Vec<Param<'a>>,
}

impl<'a> Action<'a> {
    pub(crate) fn from_syn(cx: &mut Ctxt, original: &'a ItemFn) -> Option<Self> {
        let sig = &original.sig;
        if sig.asyncness.is_none() {
            cx.error(sig.fn_token.span, "an action must be an `async fn`: write `async fn`");
        }
        if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
            let (generics, where_clause) = (&sig.generics, &sig.generics.where_clause);
            cx.error_spanned(
                quote::quote!(#generics #where_clause),
                "an action cannot be generic: axum needs one concrete handler per route, so remove the generic parameters",
            );
        }
        if let Some(variadic) = &sig.variadic {
            cx.error_spanned(variadic, "an action cannot be variadic: remove the `...` parameter");
        }
        let mut params = Vec::new();
        for input in &sig.inputs {
            match input {
                FnArg::Receiver(receiver) => {
                    cx.error_spanned(
                        receiver,
                        "an action is a free function, not a method: remove `self` and move the function out of the `impl`",
                    );
                }
                FnArg::Typed(typed) => {
                    let ty = &*typed.ty;
                    params.push(Param { arg: typed, ty, role: role_of(ty) });
                }
            }
        }
        Some(Action { original, params })
    }
}

/// Recognizes a parameter's role by its type's last path segment, as axum's
/// `debug_handler` does; the generated code then checks the real types.
fn role_of(ty: &Type) -> Role<'_> {
    let Type::Path(path) = ty else { return Role::Extractor };
    let Some(last) = path.path.segments.last() else { return Role::Extractor };
    let single_arg = match &last.arguments {
        PathArguments::AngleBracketed(args) if args.args.len() == 1 => match args.args.first() {
            Some(GenericArgument::Type(inner)) => Some(inner),
            _ => None,
        },
        _ => None,
    };
    match (last.ident.to_string().as_str(), single_arg) {
        ("Authorized", None) => Role::Authorized,
        ("Grant", Some(permission)) => Role::Grant(permission),
        ("Json", Some(input)) => Role::Body(BodyKind::Json, input),
        ("Form", Some(input)) => Role::Body(BodyKind::Form, input),
        ("Loaded", Some(object)) => Role::Loaded(object),
        _ => Role::Extractor,
    }
}
