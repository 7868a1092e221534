//! The code for one body (a struct, or one enum variant): how it reaches its fields,
//! how it opens its resources (all or nothing), and how it closes them. Shared by
//! `rebuild` and `close` (in `mod.rs`) and `from_blueprint` (in `blueprint.rs`).

use proc_macro2::{Delimiter, Group, Punct, Spacing, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::{Ident, Member};

use super::hygiene::Locals;
use crate::ast::{Field, Variant, same_member};
use crate::attr::ResourceAttr;
use crate::span;

/// How the generated code reaches a body's fields.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// `self.field`: a struct, in a method that takes `&self` or `self`.
    OfSelf,
    /// A variable per field, each a reference: an arm of `match self` on `&self`.
    BoundRef,
    /// A variable per field, each owning its value: an arm of `match self` in
    /// `close(self)`, or a blueprint taken apart in `from_blueprint`.
    BoundOwned,
}

/// Which of the factory's methods opens a resource.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    /// `Factory::open(config)`: `from_blueprint`, where there is no live resource.
    Open,
    /// `Factory::reopen(config, live)`: `rebuild`.
    Reopen,
}

/// One body, as the generated code sees it.
pub struct Body<'v, 'a> {
    pub variant: &'v Variant<'a>,
    pub reach: Reach,
    /// The type's name, for errors (`RebuildError::type_name`).
    pub type_name: &'v str,
}

impl<'a> Body<'_, 'a> {
    /// The variable holding field `index`, when the body is reached through variables.
    pub fn binding(locals: &mut Locals, index: usize) -> Ident {
        locals.numbered("field", index)
    }

    /// An expression of type `&FieldTy` for field `index`, spanned at `at`.
    pub fn reference(&self, locals: &mut Locals, index: usize, at: Span) -> TokenStream {
        let field = &self.variant.fields[index];
        match self.reach {
            Reach::OfSelf => {
                let member = member_at(&field.member, at);
                quote_spanned!(at=> &self.#member)
            }
            Reach::BoundRef => Self::binding(locals, index).into_token_stream(),
            Reach::BoundOwned => {
                let binding = Self::binding(locals, index);
                quote_spanned!(at=> &#binding)
            }
        }
    }

    /// `member: ::core::clone::Clone::clone(REF),` for config field `index`, pushed
    /// into `out` token by token and spanned on the field's type, so that "`T: Clone`
    /// is not satisfied" is reported there.
    pub fn push_clone(&self, out: &mut TokenStream, locals: &mut Locals, index: usize) {
        let field = &self.variant.fields[index];
        let at = span::user(span::of_type(field.ty));
        let member = member_at(&field.member, at);
        let mut reference = TokenStream::new();
        match self.reach {
            Reach::OfSelf => {
                reference.extend([
                    punct('&', Spacing::Alone, at),
                    TokenTree::Ident(Ident::new("self", at)),
                    punct('.', Spacing::Alone, at),
                ]);
                member.to_tokens(&mut reference);
            }
            Reach::BoundRef => reference.extend([TokenTree::Ident(Self::binding(locals, index))]),
            Reach::BoundOwned => reference.extend([
                punct('&', Spacing::Alone, at),
                TokenTree::Ident(Self::binding(locals, index)),
            ]),
        }
        member.to_tokens(out);
        out.extend([punct(':', Spacing::Alone, at)]);
        for segment in ["core", "clone", "Clone", "clone"] {
            out.extend([
                punct(':', Spacing::Joint, at),
                punct(':', Spacing::Alone, at),
                TokenTree::Ident(Ident::new(segment, at)),
            ]);
        }
        let mut call = Group::new(Delimiter::Parenthesis, reference);
        call.set_span(at);
        out.extend([TokenTree::Group(call), punct(',', Spacing::Alone, at)]);
    }

    /// Field `index`'s value, moved out (`self.field` in `close(self)`, or the
    /// variable that owns it).
    pub fn value(&self, locals: &mut Locals, index: usize) -> TokenStream {
        let field = &self.variant.fields[index];
        match self.reach {
            Reach::OfSelf => {
                let member = generated_member(&field.member);
                quote!(self.#member)
            }
            Reach::BoundRef | Reach::BoundOwned => Self::binding(locals, index).into_token_stream(),
        }
    }

    /// `{ m0: __guardian_field0, m2: __guardian_field2, .. }` binding the fields that
    /// `wanted` selects (`..` when some are left out).
    pub fn pattern(&self, locals: &mut Locals, wanted: impl Fn(&Field<'a>) -> bool) -> TokenStream {
        let mut fields = Vec::new();
        let mut rest = false;
        for (index, field) in self.variant.fields.iter().enumerate() {
            if wanted(field) {
                let member = generated_member(&field.member);
                let binding = Self::binding(locals, index);
                fields.push(quote!(#member: #binding));
            } else {
                rest = true;
            }
        }
        let rest = rest.then(|| quote!(..));
        quote!({ #(#fields,)* #rest })
    }

    /// `let __guardian_openN = ...;` for every live field of the body (a resource,
    /// opened through its factory, or a nested value, rebuilt), in declaration order.
    /// If one fails, the ones opened before it are closed, in reverse order, and its
    /// error is returned.
    pub fn open_live(&self, locals: &mut Locals, opening: Opening) -> TokenStream {
        let mut out = TokenStream::new();
        if !self.variant.fields.iter().any(Field::is_live) {
            // No variable at all: a body without live fields needs no shield.
            return out;
        }
        let mut opened: Vec<(usize, &Field)> = Vec::new();
        let closing = locals.named("closing");
        let value = locals.named("value");
        let error = locals.named("error");
        let variant = variant_name(self.variant);
        let type_name = self.type_name;
        for (index, field) in self.variant.fields.iter().enumerate() {
            let (call, failed) = match field.resource() {
                Some(attr) => (
                    self.open_call(locals, index, field, attr, opening),
                    quote!(open_failed),
                ),
                None if field.is_nested() => (
                    self.nested_call(locals, index, field, opening),
                    quote!(nested_failed),
                ),
                None => continue,
            };
            let open = locals.numbered("open", index);
            let name = field.name();
            let rollback: Vec<TokenStream> = opened
                .iter()
                .rev()
                .map(|&(index, field)| {
                    let value = locals.numbered("open", index);
                    close_call(&closing, field, &value.into_token_stream())
                })
                .collect();
            let mutable = (!rollback.is_empty()).then(|| quote!(mut));
            out.extend(quote! {
                let #open = match #call {
                    ::core::result::Result::Ok(#value) => #value,
                    ::core::result::Result::Err(#error) => {
                        let #mutable #closing = ::guardian_core::__private::closing(#type_name, #variant);
                        #(#rollback)*
                        return ::core::result::Result::Err(
                            ::guardian_core::__private::#failed(#closing, #name, #error),
                        );
                    }
                };
            });
            opened.push((index, field));
        }
        out
    }

    /// `<FieldTy as Rebuild>::rebuild(&field)` (or, from a blueprint,
    /// `<FieldTy as FromBlueprint>::from_blueprint(field)`), spanned on the field's
    /// type so that a type that is not `Rebuild` is reported there.
    fn nested_call(
        &self,
        locals: &mut Locals,
        index: usize,
        field: &Field,
        opening: Opening,
    ) -> TokenStream {
        let at = span::user(span::of_type(field.ty));
        let ty = span::generated(field.ty.to_token_stream(), None);
        match opening {
            Opening::Reopen => {
                let live = self.reference(locals, index, at);
                quote_spanned!(at=> <#ty as ::guardian_core::Rebuild>::rebuild(#live))
            }
            Opening::Open => {
                let blueprint = self.value(locals, index);
                quote_spanned!(at=> <#ty as ::guardian_core::FromBlueprint>::from_blueprint(#blueprint))
            }
        }
    }

    /// The factory's `open(config)` or `reopen(config, live)` for one resource, each
    /// requirement spanned where the user can fix it: "not a factory" on the factory
    /// expression, "does not open a `T`" on the field's type, "the recipe is a `C`" on
    /// `from = ...`, "needs a recipe" on the factory expression.
    fn open_call(
        &self,
        locals: &mut Locals,
        index: usize,
        field: &Field,
        attr: &ResourceAttr,
        opening: Opening,
    ) -> TokenStream {
        let factory_span = factory_span(attr);
        let live = match opening {
            Opening::Open => TokenStream::new(),
            Opening::Reopen => {
                let live = self.reference(locals, index, factory_span);
                quote!(, #live)
            }
        };
        let method = match opening {
            Opening::Open => quote!(open),
            Opening::Reopen => quote!(reopen),
        };
        let factory = locals.named("factory");
        let recipe = match &attr.from {
            Some(from) => {
                let target = self
                    .variant
                    .fields
                    .iter()
                    .position(|field| same_member(&field.member, from))
                    .unwrap_or(index);
                let at = span::user(member_span(from));
                let config = self.reference(locals, target, at);
                quote_spanned!(at=> <_ as ::guardian_core::__private::RecipeFor<_, _>>::recipe(&#factory, #config))
            }
            None => {
                quote_spanned!(factory_span=> <_ as ::guardian_core::__private::OpensWithoutRecipe<_>>::no_recipe(&#factory))
            }
        };
        let typed = field_typed(field, &factory.to_token_stream());
        let expr = factory_expr(attr);
        // The factory is needed twice (to open, and to check the recipe against):
        // evaluate it once, and keep its temporaries alive for the whole call.
        quote! {
            match #expr {
                #factory => #typed.#method(#recipe #live),
            }
        }
    }
}

/// `checked(factory).close(&mut closing, "name", value);` for one resource, or
/// `close_nested(&mut closing, "name", <FieldTy as Rebuild>::close(value));` for a
/// nested value.
pub fn close_call(closing: &Ident, field: &Field, value: &TokenStream) -> TokenStream {
    let name = field.name();
    let Some(attr) = field.resource() else {
        if !field.is_nested() {
            return TokenStream::new();
        }
        let at = span::user(span::of_type(field.ty));
        let ty = span::generated(field.ty.to_token_stream(), None);
        return quote_spanned! {at=>
            ::guardian_core::__private::close_nested(
                &mut #closing,
                #name,
                <#ty as ::guardian_core::Rebuild>::close(#value),
            );
        };
    };
    let typed = field_typed(field, &factory_expr(attr));
    quote!(#typed.close(&mut #closing, #name, #value);)
}

/// `<_ as ResourceIs<FieldTy, _>>::field_typed(factory)`, spanned on the field's type.
fn field_typed(field: &Field, factory: &TokenStream) -> TokenStream {
    let at = span::user(span::of_type(field.ty));
    let ty = span::generated(field.ty.to_token_stream(), None);
    quote_spanned!(at=> <_ as ::guardian_core::__private::ResourceIs<#ty, _>>::field_typed(#factory))
}

/// `<_ as IsFactory>::checked(&(EXPR))`, spanned on the expression.
fn factory_expr(attr: &ResourceAttr) -> TokenStream {
    let at = factory_span(attr);
    match &attr.factory {
        Some(expr) => {
            quote_spanned!(at=> <_ as ::guardian_core::__private::IsFactory>::checked(&(#expr)))
        }
        // `attr` refuses a resource without a factory, so this is never expanded.
        None => quote!(::core::unreachable!()),
    }
}

fn factory_span(attr: &ResourceAttr) -> Span {
    attr.factory.as_ref().map_or_else(Span::call_site, |expr| {
        span::user(syn::spanned::Spanned::span(expr))
    })
}

/// `Some("Variant")` or `None`, for errors.
pub fn variant_name(variant: &Variant) -> TokenStream {
    match variant.ident {
        Some(ident) => {
            let name = syn::ext::IdentExt::unraw(ident).to_string();
            quote!(::core::option::Option::Some(#name))
        }
        None => quote!(::core::option::Option::None),
    }
}

/// `member`, resolved as generated code (see `span::generated`).
pub fn generated_member(member: &Member) -> Member {
    let at = match member {
        Member::Named(ident) => ident.span(),
        Member::Unnamed(index) => index.span,
    };
    member_at(member, span::user(at))
}

/// `member`, spanned at `at` (for `self.member` in an expression reported there).
fn member_at(member: &Member, at: Span) -> Member {
    match member {
        Member::Named(ident) => {
            let mut ident = ident.clone();
            ident.set_span(at);
            Member::Named(ident)
        }
        Member::Unnamed(index) => Member::Unnamed(syn::Index {
            index: index.index,
            span: at,
        }),
    }
}

fn punct(ch: char, spacing: Spacing, at: Span) -> TokenTree {
    let mut punct = Punct::new(ch, spacing);
    punct.set_span(at);
    TokenTree::Punct(punct)
}

fn member_span(member: &Member) -> Span {
    match member {
        Member::Named(ident) => ident.span(),
        Member::Unnamed(index) => index.span,
    }
}
