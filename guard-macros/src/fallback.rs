//! Output for an invalid attribute: the errors, plus a stand-in for the
//! action so the rest of the crate still type-checks (no cascade of "cannot
//! find `change_address`") and IDEs keep working inside the body. The build
//! fails on the errors, so the stand-in never runs.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemFn;

pub(crate) fn expand(original: &ItemFn, errors: syn::Error) -> TokenStream {
    let errors = errors.to_compile_error();
    let name = &original.sig.ident;
    let vis = &original.vis;
    let private = quote!(::guard_runtime::__private);
    let mut inner = original.clone();
    inner.vis = syn::Visibility::Inherited;
    quote! {
        #errors
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug)]
        #vis struct #name;
        const _: () = {
            // Kept only so the body still type-checks (and IDEs work) while
            // the attribute's errors fail the build; nothing calls it.
            #[allow(dead_code)]
            #inner
            impl #private::Sealed for #name {}
            impl #private::Routed for #name {}
            impl<__S> #private::GuardedAction<__S> for #name {
                fn spec(&self) -> &'static #private::ActionSpec {
                    #private::fallback_spec()
                }
                fn call(action: #private::Arc<#private::Mounted>, parts: #private::Parts, _: #private::Body, _: __S) -> #private::BoxFuture<'static, #private::Response> {
                    #private::fallback_call(action, parts)
                }
            }
        };
    }
}
