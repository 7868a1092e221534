//! Where-clause inference: `FieldTy: Clone` for every `#[config]` field whose type
//! mentions a type parameter, and nothing else.
//!
//! Bounding the field's type, not the parameter (as thiserror does), keeps the impl
//! as general as the fields allow: a `PhantomData<T>` or `Arc<T>` config field needs
//! no `T: Clone`. Resource fields add no bound: their factory decides what it opens,
//! and a user whose factory is generic writes the bounds it needs on the type.

use std::collections::BTreeSet;

use proc_macro2::{TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::Ident;

use crate::ast::Input;

/// The type's where-clause plus the inferred bounds, as tokens (`where ...` or nothing).
pub fn where_clause(input: &Input) -> TokenStream {
    where_clause_with(input, Vec::new())
}

/// [`where_clause`] plus `extra` predicates.
pub fn where_clause_with(input: &Input, extra: Vec<TokenStream>) -> TokenStream {
    let params: BTreeSet<&Ident> = input
        .generics
        .type_params()
        .map(|param| &param.ident)
        .collect();
    let mut predicates: Vec<TokenStream> = input
        .generics
        .where_clause
        .iter()
        .flat_map(|clause| clause.predicates.iter())
        .map(ToTokens::to_token_stream)
        .collect();
    if !params.is_empty() {
        let mut seen = BTreeSet::new();
        for variant in input.variants() {
            for field in &variant.fields {
                if !field.is_config() {
                    continue;
                }
                let tokens = field.ty.to_token_stream();
                if !mentions(tokens.clone(), &params) || !seen.insert(tokens.to_string()) {
                    continue;
                }
                let ty = field.ty;
                let span = crate::expand::user_span(crate::handles::type_span(ty));
                predicates.push(quote_spanned!(span=> #ty: ::core::clone::Clone));
            }
        }
    }
    predicates.extend(extra);
    if predicates.is_empty() {
        TokenStream::new()
    } else {
        quote!(where #(#predicates,)*)
    }
}

/// Whether `tokens` name any of `params` (a type parameter, a lifetime's name, a
/// const parameter), looking inside groups.
pub fn mentions(tokens: TokenStream, params: &BTreeSet<&Ident>) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Ident(ident) => params.contains(&ident),
        TokenTree::Group(group) => mentions(group.stream(), params),
        TokenTree::Punct(_) | TokenTree::Literal(_) => false,
    })
}
