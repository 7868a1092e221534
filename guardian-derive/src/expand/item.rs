//! What every generated item carries, shared by the generators (`mod.rs`,
//! `blueprint.rs`, `serde.rs`, `body.rs`): the type's name as the expansion writes it,
//! its lint allowances, the path of a body, and the flavor of its code (blocking or
//! async). A leaf of `expand`: it imports none of its siblings.

use proc_macro2::{Ident, Span, TokenStream};
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
pub fn type_ident(input: &Input) -> Ident {
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

/// Blocking code (`Rebuild`) or async code (`AsyncRebuild`), and how an async body
/// opens its fields.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Sync,
    /// Every live field at once, joined (`#[rebuild(async)]`).
    Concurrent,
    /// One live field after another (`#[rebuild(async, sequential)]`).
    Sequential,
}

impl Flavor {
    pub fn is_async(self) -> bool {
        self != Flavor::Sync
    }

    /// `.await` after a call, in async code.
    pub fn wait(self) -> TokenStream {
        if self.is_async() {
            quote!(.await)
        } else {
            TokenStream::new()
        }
    }

    /// The trait a nested value implements: `Rebuild` or `AsyncRebuild`.
    pub fn rebuild_trait(self) -> TokenStream {
        if self.is_async() {
            quote!(::guardian_core::AsyncRebuild)
        } else {
            quote!(::guardian_core::Rebuild)
        }
    }

    /// The trait every use of a nested value's blueprint goes through
    /// (`__private::NestedBlueprint`): one error, on the field, for a nested type
    /// without a blueprint.
    pub fn nested_blueprint_trait(self) -> TokenStream {
        if self.is_async() {
            quote!(::guardian_core::__private::AsyncNestedBlueprint)
        } else {
            quote!(::guardian_core::__private::NestedBlueprint)
        }
    }

    /// The trait a type's own blueprint impl is of.
    pub fn blueprint_trait(self) -> TokenStream {
        if self.is_async() {
            quote!(::guardian_core::AsyncFromBlueprint)
        } else {
            quote!(::guardian_core::FromBlueprint)
        }
    }

    /// One of `__private`'s checks: its blocking or its async version.
    pub fn check(self, sync: &str, asynchronous: &str) -> Ident {
        let name = if self.is_async() { asynchronous } else { sync };
        Ident::new(name, Span::call_site())
    }
}

/// How the type's bodies open their live fields: blocking, or async (concurrently,
/// or one after another with `sequential`).
pub fn flavor(input: &Input) -> Flavor {
    match (&input.attrs.asynchronous, &input.attrs.sequential) {
        (None, _) => Flavor::Sync,
        (Some(_), None) => Flavor::Concurrent,
        (Some(_), Some(_)) => Flavor::Sequential,
    }
}
