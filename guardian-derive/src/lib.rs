//! The `#[derive(Rebuild)]` macro of `guardian-core`.
//!
//! Use it through `guardian_core::Rebuild`, which re-exports it; the attributes and the
//! errors it reports are documented there.
//!
//! # How it is organised
//!
//! Data flows one way, and each file has one job:
//!
//! 1. **Parse** into a borrowed model: `ast` (the type, its bodies and fields), built
//!    with `attr` (each attribute read into plain data).
//! 2. **Validate**: `valid` checks the rules that span several attributes or fields,
//!    with `handles` (the catalogue of live OS handles that must not be `#[config]`).
//!    Parsing and validation record every mistake in `ctxt` and go on, so a build
//!    reports all of them at once.
//! 3. **Expand**, when nothing was wrong: `expand` (the `Rebuild` impl and its checks;
//!    `expand/body.rs` for one body's fields, `expand/blueprint.rs` and
//!    `expand/serde.rs` for `#[rebuild(...)]`), with `bound` inferring where-clauses.
//!    Otherwise `fallback` emits the errors and a stub impl, so that one mistake is one
//!    error, not a cascade in the code that calls `rebuild()`.
//!
//! Two leaf modules serve every stage and import nothing of ours: `generics` (which
//! generic parameters a type mentions) and `span` (where errors point, and how copied
//! tokens are marked as generated).

mod ast;
mod attr;
mod bound;
mod ctxt;
mod expand;
mod fallback;
mod generics;
mod handles;
mod span;
mod valid;

#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

/// Derives `guardian_core::Rebuild`: `#[config]` fields are cloned, `#[resource]`
/// fields reopened through their factory, `#[nested]` fields rebuilt. See
/// `guardian_core`'s docs.
#[proc_macro_derive(Rebuild, attributes(config, resource, nested, rebuild, serde))]
pub fn derive_rebuild(input: TokenStream) -> TokenStream {
    derive(input.into()).into()
}

/// The whole derive over `proc_macro2` tokens (so that the tests can drive it):
/// parse, validate, then expand or report every error.
fn derive(input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let node: syn::DeriveInput = match syn::parse2(input) {
        Ok(node) => node,
        Err(error) => return error.to_compile_error(),
    };
    let cx = ctxt::Ctxt::new();
    let model = ast::Input::from_syn(&cx, &node);
    valid::check(&cx, &model);
    match cx.check() {
        Ok(()) => expand::expand(&model),
        Err(errors) => fallback::expand(&node, &errors),
    }
}
