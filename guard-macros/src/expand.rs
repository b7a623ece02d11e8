//! Code generation for a validated action. No error branches: `check.rs`
//! has ruled out everything that could go wrong here.

use proc_macro2::{Group, Ident, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::{BodyKind, Role};
use crate::attr::Fresh;
use crate::check::{Key, Object, Policy, Valid};

pub(crate) fn expand(action: &Valid) -> TokenStream {
    let krate = &action.krate;
    let private = quote!(#krate::__private);
    let original = action.original;
    let name = &original.sig.ident;
    let vis = &original.vis;
    let docs = original.attrs.iter().filter(|a| a.path().is_ident("doc"));
    // The user's lint levels hold for what stands for the function too.
    let lint_levels: Vec<_> =
        original.attrs.iter().filter(|a| a.path().is_ident("allow") || a.path().is_ident("expect")).collect();

    // The user's function, untouched but for its visibility, lives inside
    // `call` so nothing can reach it except through the guard.
    let mut inner = original.clone();
    inner.vis = syn::Visibility::Inherited;

    let requires = match &action.policy {
        Policy::Requires(list) => Some(quote!(const __GUARD_REQUIRES: &[&str] = &[#(#list),*];)),
        _ => None,
    };
    let spec = spec(action, &private);
    // The stand-in type takes the function's name and its span, so "`Routed`
    // is not implemented for `report`" points at the function. Unused, it
    // says nothing: `never_mounted` below does, in words.
    // Its `Clone` and `Debug` are written out, not derived: a derived
    // `Clone` counts as constructing the type, which would keep
    // `never_mounted` alive.
    let decl = quote_spanned! {name.span()=>
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #name;
    };
    let name_text = name.to_string();
    let derived = quote! {
        impl #private::Clone for #name {
            fn clone(&self) -> Self {
                *self
            }
        }
        impl ::core::marker::Copy for #name {}
        impl ::core::fmt::Debug for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(#name_text)
            }
        }
    };
    // Read only by the action's `spec`, which only mounting calls: if the
    // action is never mounted, the lint names this constant ("constant
    // `create_order_is_never_mounted` is never used").
    let never_mounted = format_ident!("{}_is_never_mounted", name, span = name.span());
    // Spanned on the name as a whole: the lint skips items whose span is
    // the macro's own.
    let never_mounted_decl = quote_spanned! {name.span()=>
        #[allow(non_upper_case_globals)]
        const #never_mounted: () = ();
    };
    let routed = action.route.as_ref().map(|_| quote!(impl #private::Routed for #name {}));

    let state = match &action.state {
        Some(state) => quote!(#state),
        None => quote!(()),
    };
    let mut bounds = Vec::new();
    let mut param_checks = Vec::new();
    let mut grants = Vec::new();
    let mut loaded = Vec::new();
    let mut call_args = Vec::new();
    let mut grant_checks = Vec::new();
    let mut extractor_tys = Vec::new();
    let mut extractor_vars = Vec::new();
    let mut input_ty = None;
    for (i, param) in action.params.iter().enumerate() {
        let ty = param.ty;
        match param.role {
            Role::Authorized => call_args.push(quote!(__guard_auth)),
            Role::Grant(permission) => {
                let var = format_ident!("__guard_grant_{}", i);
                grant_checks.push(grant_check(action, permission, &private));
                grants.push(quote! {
                    let #var = match __guard_auth.grant::<#permission>() {
                        #private::Option::Some(grant) => grant,
                        #private::Option::None => return __guard_gate.fail_closed().await,
                    };
                });
                call_args.push(quote!(#var));
            }
            Role::Loaded(object) => {
                let var = format_ident!("__guard_loaded_{}", i);
                let private = respan(private.clone(), object.span());
                // Spanned on the type: a `T` that cannot cross threads is
                // one error there.
                let take = quote_spanned!(object.span()=> #private::take_loaded::<#object>(&mut __guard_auth));
                loaded.push(quote! {
                    let #var = match #take {
                        #private::Option::Some(loaded) => loaded,
                        #private::Option::None => return __guard_gate.fail_closed().await,
                    };
                });
                call_args.push(quote!(#var));
            }
            Role::Body(kind, input) => {
                input_ty = Some((kind, input));
                call_args.push(quote!(__guard_input));
            }
            Role::Extractor => {
                let var = format_ident!("__guard_arg_{}", i);
                let krate = respan(krate.clone(), ty.span());
                bounds.push(quote_spanned!(ty.span()=> #ty: #krate::ActionParameter<__S>));
                // Checked where the action is written, mounted or not,
                // against the state its `State<T>` (or `state = T`) names.
                param_checks.push(quote_spanned! {ty.span()=>
                    const _: () = <#ty as #krate::ActionParameter<#state>>::CHECKED;
                });
                extractor_tys.push(ty);
                extractor_vars.push(var.clone());
                call_args.push(quote!(#var));
            }
        }
    }
    // `json_input` requires `JsonInput`, spanned on the user's type: an
    // input that is not one is one error there, with that trait's message.
    let (input, read) = match input_ty {
        Some((BodyKind::Json, input)) => {
            let private = respan(private.clone(), input.span());
            (quote!(#private::Json<#input>), quote_spanned!(input.span()=> #private::json_input::<#input>))
        }
        Some((BodyKind::Form, input)) => {
            let private = respan(private.clone(), input.span());
            (quote!(#private::Form<#input>), quote_spanned!(input.span()=> #private::form_input::<#input>))
        }
        None => (quote!(#private::NoInput), quote!(#private::no_input)),
    };
    let key = match action.object.as_ref() {
        Some(Object { key: Key::Input(field), owner, .. }) => {
            let field_ident = Ident::new(&field.value(), field.span());
            let private = respan(private.clone(), field.span());
            let (key_trait, named_by) = if *owner {
                (quote!(OwnerKey), quote!(owner_names_a_route_parameter_or_an_input_field_of))
            } else {
                (quote!(TenantKey), quote!(tenant_names_a_route_parameter_or_an_input_field_of))
            };
            // The field is read through a wrapper named for the rule, so a
            // field the input lacks is "no field `x` on type
            // `owner_names_a_route_parameter_or_an_input_field_of<'_, Input>`".
            let read = quote_spanned!(field.span()=>
                #private::#key_trait::object_key(&#private::#named_by::new(&__guard_input.0).#field_ident)
            );
            quote!(#private::Option::Some(|__guard_input: &#input| #read))
        }
        _ => quote!(#private::Option::None),
    };
    let check = match &action.check {
        Some(check) => {
            let private = respan(private.clone(), check.span());
            let call = quote_spanned!(check.span()=> #private::CheckFn::call(#check, __guard_context));
            quote!(#private::Option::Some(|__guard_context| #call))
        }
        None => quote!(#private::Option::None),
    };
    // An action with `approval` binds each approval to its input's digest.
    let digest = match (&action.approval, input_ty) {
        (None, _) => quote!(#private::Option::None),
        (Some(_), Some((BodyKind::Json, input))) => quote!(#private::Option::Some(#private::json_digest::<#input>)),
        (Some(_), Some((BodyKind::Form, input))) => quote!(#private::Option::Some(#private::form_digest::<#input>)),
        (Some(_), None) => quote!(#private::Option::Some(#private::no_input_digest)),
    };
    // Only an action that takes a `Loaded` rebinds its proof as mutable.
    let loaded = (!loaded.is_empty()).then(|| quote!(let mut __guard_auth = __guard_auth; #(#loaded)*));
    let required_by_this_action = (!grant_checks.is_empty()).then(|| required_by_this_action(action));
    let extractors = quote!((#(#extractor_tys,)*));
    let guarded = match action.policy {
        // A public action runs the public steps and takes no proof.
        Policy::Public(_) => quote! {
            let ((#(#extractor_vars,)*), __guard_input) =
                match #private::run_public::<#extractors, #input, __S>(
                    &mut __guard_gate, &mut __guard_parts, &__guard_state, __guard_body, #read,
                ).await {
                    #private::Result::Ok(admitted) => admitted,
                    #private::Result::Err(refusal) => return refusal,
                };
        },
        _ => quote! {
            let __guard_plan = #private::Plan { read: #read, key: #key, check: #check, digest: #digest };
            let ((#(#extractor_vars,)*), __guard_input, __guard_auth) =
                match #private::run::<#extractors, #input, __S>(
                    &mut __guard_gate, &mut __guard_parts, &__guard_state, __guard_body, __guard_plan,
                ).await {
                    #private::Result::Ok(admitted) => admitted,
                    #private::Result::Err(refusal) => return refusal,
                };
            #loaded
            #(#grants)*
        },
    };
    let output = match &original.sig.output {
        syn::ReturnType::Default => Span::call_site(),
        syn::ReturnType::Type(_, ty) => ty.span(),
    };
    let respond = {
        let private = respan(private.clone(), output);
        quote_spanned!(output=> #private::Respond::respond(__guard_output))
    };

    quote! {
        #(#docs)*
        #decl

        const _: () = {
            #(#lint_levels)*
            #never_mounted_decl
            #requires
            static __GUARD_SPEC: #private::ActionSpec = #spec;
            #required_by_this_action
            #(#grant_checks)*
            #(#param_checks)*
            #derived
            impl #private::Sealed for #name {}
            #routed
            impl<__S> #private::GuardedAction<__S> for #name
            where
                __S: #private::Clone + #private::Send + #private::Sync + 'static,
                #(#bounds,)*
            {
                fn spec(&self) -> &'static #private::ActionSpec {
                    let () = #never_mounted;
                    &__GUARD_SPEC
                }

                fn input_schema(&self) -> #private::Option<#private::SchemaFn> {
                    // Autoref specialization: the probe's methods for an
                    // input with a JSON Schema (or none) are found first.
                    // A glob: the one trait that applies is used, the others are not.
                    use #private::schema_probe::*;
                    (&&#private::SchemaProbe::<#input>::NEW).input_schema()
                }

                fn call(
                    __guard_action: #private::Arc<#private::Mounted>,
                    mut __guard_parts: #private::Parts,
                    __guard_body: #private::Body,
                    __guard_state: __S,
                ) -> #private::BoxFuture<'static, #private::Response> {
                    #inner
                    // Every step runs inside `run`, inline in this future:
                    // the guard adds the boxed gate and the path's copy to
                    // the allocations of a plain handler.
                    #private::Box::pin(async move {
                        let mut __guard_gate = #private::Gate::new(__guard_action, &__guard_parts);
                        // The block ends before the body is awaited: what the
                        // guard hands the body lives in the body's future
                        // only, not also in a slot of this one, which would
                        // grow every request's allocation.
                        let __guard_output = {
                            #guarded
                            #name(#(#call_args),*)
                        }
                        .await;
                        __guard_gate.finish(#respond).await
                    })
                }
            }
        };
    }
}

/// A `Grant<P>` parameter: `P` must be among the permissions the action
/// requires. `is_required` decides at compile time; the trait this action
/// defines carries the message, so the error is this action's own, on the
/// permission type, and names no internals.
fn grant_check(action: &Valid, permission: &syn::Type, private: &TokenStream) -> TokenStream {
    let span = permission.span();
    let krate = respan(action.krate.clone(), span);
    let private = respan(private.clone(), span);
    quote_spanned! {span=>
        const _: () = <#permission as RequiredByThisAction<{
            #private::is_required(<#permission as #krate::Permission>::NAME, __GUARD_REQUIRES)
        }>>::CHECKED;
    }
}

/// The trait behind [`grant_check`], defined once per action that takes grants.
fn required_by_this_action(action: &Valid) -> TokenStream {
    let message = format!(
        "this action takes `Grant<{{Self}}>`, but `{{Self}}` is not among the permissions it requires ({})",
        listed(action)
    );
    quote! {
        #[diagnostic::on_unimplemented(
            message = #message,
            label = "`{Self}` is not required by this action",
            note = "add `{Self}`'s permission to `requires`, or remove the `Grant<{Self}>` parameter"
        )]
        trait RequiredByThisAction<const REQUIRED: bool> {
            const CHECKED: () = ();
        }
        #[diagnostic::do_not_recommend]
        impl<P> RequiredByThisAction<true> for P {}
    }
}

/// The action's `ActionSpec`: the keys it gives, over `ActionSpec::NONE`.
fn spec(action: &Valid, private: &TokenStream) -> TokenStream {
    let name = action.original.sig.ident.to_string();
    let mut fields = vec![quote!(name: #name)];
    if let Some((method, path)) = &action.route {
        fields.push(quote!(route: #private::Option::Some((#method, #path))));
    }
    fields.push(match &action.policy {
        Policy::Requires(_) => quote!(policy: #private::PolicyKind::Requires(__GUARD_REQUIRES)),
        Policy::Authenticated => quote!(policy: #private::PolicyKind::Authenticated),
        Policy::Public(reason) => quote!(policy: #private::PolicyKind::Public(#reason)),
    });
    fields.push(match &action.callers {
        Some(names) => quote!(callers: #private::CallerSet::from_names(&[#(#names),*])),
        None => quote!(callers: #private::CallerSet::ALL),
    });
    match action.fresh {
        None => {}
        Some(Fresh::AppWindow) => fields.push(quote!(fresh: #private::Fresh::AppWindow)),
        Some(Fresh::Within(secs)) => fields.push(quote!(fresh: #private::Fresh::Within(#secs))),
    }
    if let Some(header) = &action.replay {
        fields.push(quote!(replay: #private::Option::Some(#header)));
    }
    if let Some(object) = &action.object {
        let resource = &object.resource;
        let owner = object.owner;
        let key = match &object.key {
            Key::Path(name) => quote!(#private::KeySource::Path(#name)),
            Key::Input(field) => {
                let field = field.value();
                quote!(#private::KeySource::Input(#field))
            }
        };
        fields.push(
            quote!(object: #private::Option::Some(#private::ObjectSpec { resource: #resource, key: #key, owner: #owner })),
        );
    }
    if let Some(path) = &action.check {
        let text = text(path);
        fields.push(quote!(check: #private::Option::Some(#text)));
    }
    if !action.bind.is_empty() {
        let pairs = action.bind.iter().map(|(name, value)| quote!((#name, #value)));
        fields.push(quote!(binding: &[#(#pairs),*]));
    }
    if !action.acr.is_empty() {
        let classes = &action.acr;
        let values = action.acr.join(" ");
        fields.push(quote!(acr: &[#(#classes),*]));
        fields.push(quote!(acr_values: #values));
    }
    if let Some(permission) = &action.approval {
        fields.push(quote!(approval: #private::Option::Some(#permission)));
    }
    if let Some(limit) = action.limit {
        fields.push(quote!(body_limit: #private::Option::Some(#limit)));
    }
    if action.page {
        fields.push(quote!(page: true));
    }
    if let Some(kind) = action.params.iter().find_map(|p| match p.role {
        Role::Body(kind, _) => Some(kind),
        _ => None,
    }) {
        let media = format_ident!("{}", kind.name());
        fields.push(quote!(input: #private::Option::Some(#private::InputMedia::#media)));
    }
    quote! {
        #private::ActionSpec { #(#fields,)* ..#private::ActionSpec::NONE }
    }
}

/// `tokens` with every span set to `span`, so an error about a generated
/// bound or call lands on the user's token and not on the attribute.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|tree| match tree {
            TokenTree::Group(group) => {
                let mut respanned = Group::new(group.delimiter(), respan(group.stream(), span));
                respanned.set_span(span);
                TokenTree::Group(respanned)
            }
            mut other => {
                other.set_span(span);
                other
            }
        })
        .collect()
}

/// A type or path as the user would write it.
fn text(tokens: &impl quote::ToTokens) -> String {
    tokens.to_token_stream().to_string().replace(' ', "")
}

/// The required permissions, as listed in an error message.
fn listed(action: &Valid) -> String {
    match &action.policy {
        Policy::Requires(list) => list.iter().map(|p| format!("\"{}\"", p.value())).collect::<Vec<_>>().join(", "),
        _ => "none".to_owned(),
    }
}
