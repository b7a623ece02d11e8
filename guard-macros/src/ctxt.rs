//! Collects every error of one expansion, so the user sees all of them at
//! once (serde's `Ctxt`).

use std::fmt::Display;

use proc_macro2::Span;
use quote::ToTokens;

pub(crate) struct Ctxt {
    errors: Option<Vec<syn::Error>>,
}

impl Ctxt {
    pub(crate) fn new() -> Self {
        Ctxt { errors: Some(Vec::new()) }
    }

    pub(crate) fn error(&mut self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    /// An error underlining all of `tokens`, not only their first token
    /// (stable Rust cannot join spans; `syn` spans the emitted
    /// `compile_error!` from the first token to the last instead).
    pub(crate) fn error_spanned(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    pub(crate) fn push(&mut self, error: syn::Error) {
        if let Some(errors) = self.errors.as_mut() {
            errors.push(error);
        }
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.errors.as_ref().is_some_and(|e| !e.is_empty())
    }

    /// All errors combined, or `Ok` if there were none.
    pub(crate) fn check(mut self) -> Result<(), syn::Error> {
        let mut errors = self.errors.take().unwrap_or_default().into_iter();
        let Some(mut combined) = errors.next() else { return Ok(()) };
        for rest in errors {
            combined.combine(rest);
        }
        Err(combined)
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        // A dropped, unchecked context would swallow errors: a bug of ours.
        if !std::thread::panicking() && self.errors.as_ref().is_some_and(|e| !e.is_empty()) {
            panic!("guard-macros: Ctxt dropped with unreported errors");
        }
    }
}
