//! Where-clause inference: `FieldTy: Clone` for every `#[config]` field whose type
//! mentions a type parameter (or `Self`), `FieldTy: Rebuild` (or the trait the impl is
//! for) for every such `#[nested]` field, and nothing else.
//!
//! Bounding the field's type, not the parameter (as derive-where and educe do, where
//! thiserror bounds parameters), keeps the impl as general as the fields allow: a
//! `PhantomData<T>` or `Arc<T>` config field needs no `T: Clone`. Resource fields add
//! no bound: their factory decides what it opens, and a user whose factory is generic
//! writes the bounds it needs on the type.
//!
//! A field that mentions `Self` (`Vec<Self>`) is bounded with the type written out
//! (`Vec<Tree<T>>: Clone`), so a recursive type needs what `#[derive(Clone)]` needs.
//! A `#[nested]` field that mentions `Self` gets no bound: `Vec<Tree<T>>: Rebuild`
//! holds through the impl being defined, and bounding it would make every use of the
//! impl prove itself first (an overflow).
//! Duplicate predicates are left in: the compiler accepts them, and comparing types
//! would cost more than it saves.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};

use crate::ast::Input;
use crate::generics::{self, Params};
use crate::span;

/// The impl a where-clause is for: it decides what a `#[nested]` field must be.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    /// `Rebuild`.
    Rebuild,
    /// `FromBlueprint`, and the serde impls that go through the blueprint.
    FromBlueprint,
    /// `AsyncRebuild`.
    AsyncRebuild,
    /// `AsyncFromBlueprint`, and its serde impls.
    AsyncFromBlueprint,
}

/// The type's where-clause, the inferred bounds and `extra` predicates, as tokens
/// (`where ...` or nothing).
pub fn where_clause(input: &Input, of: Impl, extra: &[TokenStream]) -> TokenStream {
    let mut predicates: Vec<TokenStream> = input
        .generics
        .where_clause
        .iter()
        .flat_map(|clause| clause.predicates.iter())
        .map(ToTokens::to_token_stream)
        .collect();
    let params = Params::types(input.generics);
    if !params.is_empty() {
        let self_ty = self_type(input);
        // A packed struct's fields are copied out by value: they need `Copy`.
        let copy = if input.attrs.packed.is_some() {
            quote!(::core::marker::Copy)
        } else {
            quote!(::core::clone::Clone)
        };
        let nested = match of {
            Impl::Rebuild => quote!(::guardian_core::Rebuild),
            Impl::FromBlueprint => quote!(::guardian_core::FromBlueprint),
            Impl::AsyncRebuild => quote!(::guardian_core::AsyncRebuild),
            Impl::AsyncFromBlueprint => quote!(::guardian_core::AsyncFromBlueprint),
        };
        for field in input.fields() {
            let bound = if field.is_config() {
                &copy
            } else if field.is_nested() && !generics::mentions_self(field.ty) {
                &nested
            } else {
                continue;
            };
            if generics::mentions(field.ty, &params) {
                let ty = span::generated(field.ty.to_token_stream(), Some(&self_ty));
                let at = span::user(span::of_type(field.ty));
                predicates.push(quote_spanned!(at=> #ty: #bound));
            }
        }
    }
    predicates.extend(extra.iter().cloned());
    if predicates.is_empty() {
        TokenStream::new()
    } else {
        quote!(where #(#predicates,)*)
    }
}

/// `Name<T, 'a, N>`: the type, for where `Self` cannot be written.
pub fn self_type(input: &Input) -> TokenStream {
    let (_, ty_generics, _) = input.generics.split_for_impl();
    let ident = input.ident;
    quote!(#ident #ty_generics)
}
