//! The `#[action]` attribute of guard. Depend on `guard-runtime`, which
//! re-exports it and documents it; this crate only parses, validates and
//! expands, and holds no runtime logic.
#![deny(unsafe_code)]

mod ast;
mod attr;
mod check;
mod ctxt;
mod expand;
mod fallback;

use proc_macro::TokenStream;

/// Turns an `async fn` into a guarded axum action. See the `guard-runtime`
/// crate documentation for the keys and the guarantees.
#[proc_macro_attribute]
pub fn action(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    let function = match syn::parse2::<syn::ItemFn>(item.clone()) {
        Ok(function) => function,
        // Not a function at all: say so where the attribute stands, and
        // leave the item as it was so nothing else breaks.
        Err(_) => {
            let error = syn::Error::new(
                proc_macro2::Span::call_site(),
                "`#[action]` goes on an `async fn`: the function becomes a guarded axum handler",
            );
            let mut out = error.to_compile_error();
            out.extend(item);
            return out.into();
        }
    };
    match try_expand(args.into(), &function) {
        Ok(tokens) => tokens.into(),
        Err(errors) => fallback::expand(&function, errors).into(),
    }
}

fn try_expand(args: proc_macro2::TokenStream, function: &syn::ItemFn) -> Result<proc_macro2::TokenStream, syn::Error> {
    let mut cx = ctxt::Ctxt::new();
    let args = attr::parse(&mut cx, args);
    let action = ast::Action::from_syn(&mut cx, function);
    let valid = match (args, action) {
        (Some(args), Some(action)) => check::validate(&mut cx, args, action),
        _ => None,
    };
    cx.check()?;
    // `validate` returns Some exactly when it recorded no error.
    Ok(valid.map(|valid| expand::expand(&valid)).unwrap_or_default())
}
