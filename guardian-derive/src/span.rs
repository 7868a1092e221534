//! Spans: where an error about a piece of the input points, and how tokens copied from
//! the input are marked as generated. A leaf: it imports nothing of this crate.
//!
//! Tokens of the expansion either come from the input (a field's type, a factory
//! expression) or are made here. Both kinds get spans that *point* at the user's
//! tokens, so that a type error lands on the field or attribute that caused it, and
//! that *resolve* in the derive's own syntax context (`resolved_at(call_site)`), which
//! is what makes rustc treat them as generated: the `deprecated` lint, for example,
//! stays quiet inside derive expansions, as it does for `#[derive(Clone)]`.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use syn::Type;
use syn::spanned::Spanned;

/// A span at the user's tokens (so errors point there) that resolves names like the
/// rest of the expansion (so lints see it as generated).
pub fn user(span: Span) -> Span {
    span.resolved_at(Span::call_site())
}

/// Where a type is written, for errors about it: its first token. (A span over the
/// whole type needs `Span::join`, which stable compilers do not provide to proc
/// macros, and `syn`'s `Spanned` prints the type into tokens to find out, which was a
/// third of the macro's own run time.)
pub fn of_type(ty: &Type) -> Span {
    match ty {
        Type::Path(ty) => match (&ty.qself, &ty.path.leading_colon, ty.path.segments.first()) {
            (Some(qself), _, _) => qself.lt_token.span,
            (None, Some(colon), _) => colon.spans[0],
            (None, None, Some(segment)) => segment.ident.span(),
            (None, None, None) => ty.span(),
        },
        Type::Reference(ty) => ty.and_token.span,
        Type::Array(ty) => ty.bracket_token.span.open(),
        Type::Slice(ty) => ty.bracket_token.span.open(),
        Type::Tuple(ty) => ty.paren_token.span.open(),
        Type::Paren(ty) => ty.paren_token.span.open(),
        Type::Ptr(ty) => ty.star_token.span,
        _ => ty.span(),
    }
}

/// `tokens` with every span resolved in the derive's context (see the module docs),
/// and every `Self` replaced by `self_ty` when one is given (`Self` cannot be named in
/// every position a copied type is used: a bound of an `impl`'s where-clause names
/// the type itself).
pub fn generated(tokens: TokenStream, self_ty: Option<&TokenStream>) -> TokenStream {
    tokens
        .into_iter()
        .flat_map(|token| -> Vec<TokenTree> {
            match token {
                TokenTree::Ident(ident) if ident == "Self" && self_ty.is_some() => {
                    let span = user(ident.span());
                    self_ty
                        .into_iter()
                        .flat_map(Clone::clone)
                        .map(|mut token| {
                            token.set_span(span);
                            token
                        })
                        .collect()
                }
                TokenTree::Group(group) => {
                    let mut new = Group::new(group.delimiter(), generated(group.stream(), self_ty));
                    new.set_span(user(group.span()));
                    vec![TokenTree::Group(new)]
                }
                mut token => {
                    token.set_span(user(token.span()));
                    vec![token]
                }
            }
        })
        .collect()
}
