//! The error collector: every check pushes into it and goes on, so that a build with
//! several mistakes reports all of them at once.

use std::cell::RefCell;
use std::fmt::Display;

use quote::ToTokens;

/// Collects `syn::Error`s; [`Ctxt::check`] combines them into one.
///
/// A `Ctxt` must end in `check`: dropping it unchecked would lose every error it
/// holds, so that panics in debug builds, as `serde_derive`'s `Ctxt` does. It is a bug
/// of this crate, never a reaction to the input: the one place that makes a `Ctxt`
/// (`derive` in `lib.rs`) always checks it, and the tests run that path.
pub struct Ctxt {
    /// `None` once checked.
    errors: RefCell<Option<Vec<syn::Error>>>,
}

impl Ctxt {
    pub fn new() -> Self {
        Ctxt {
            errors: RefCell::new(Some(Vec::new())),
        }
    }

    /// Records an error spanned on `tokens`.
    pub fn error_spanned_by<T: ToTokens, M: Display>(&self, tokens: T, message: M) {
        self.push(syn::Error::new_spanned(tokens.into_token_stream(), message));
    }

    /// Records an error.
    pub fn push(&self, error: syn::Error) {
        if let Some(errors) = self.errors.borrow_mut().as_mut() {
            errors.push(error);
        }
    }

    /// `Ok` if nothing was recorded, else every error combined into one.
    pub fn check(self) -> syn::Result<()> {
        let errors = self.errors.borrow_mut().take().unwrap_or_default();
        let mut errors = errors.into_iter();
        let Some(mut combined) = errors.next() else {
            return Ok(());
        };
        for error in errors {
            combined.combine(error);
        }
        Err(combined)
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        assert!(
            !cfg!(debug_assertions) || std::thread::panicking() || self.errors.get_mut().is_none(),
            "guardian-derive: a `Ctxt` was dropped without `check()`: its errors would be lost"
        );
    }
}
