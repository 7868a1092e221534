//! What every generated item carries, shared by the generators (`mod.rs`,
//! `blueprint.rs`, `serde.rs`): the type's name as the expansion writes it, its lint
//! allowances, and the path of a body. A leaf of `expand`: it imports none of its
//! siblings.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::{Input, Variant};
use crate::span;

/// The attributes every generated item carries: the type's lint allowances.
pub fn lint_attrs(input: &Input) -> TokenStream {
    let allows = &input.attrs.lint_allows;
    let deprecated = input.attrs.deprecated.then(|| quote!(#[allow(deprecated)]));
    quote!(#(#[#allows])* #deprecated)
}

/// The type's name, resolved as generated code (so that naming a deprecated type
/// does not warn, as thiserror's `call_site_ident` does).
pub fn type_ident(input: &Input) -> syn::Ident {
    let mut ident = input.ident.clone();
    ident.set_span(span::user(ident.span()));
    ident
}

/// `Self` or `Self::Variant`.
pub fn path(variant: &Variant) -> TokenStream {
    match variant.ident {
        Some(ident) => {
            let mut ident = ident.clone();
            ident.set_span(span::user(ident.span()));
            quote!(Self::#ident)
        }
        None => quote!(Self),
    }
}
