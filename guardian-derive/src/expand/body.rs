//! The code for one body (a struct, or one enum variant): how it reaches its fields,
//! how it opens its resources (all or nothing), and how it closes them. Shared by
//! `rebuild` and `close` (in `mod.rs`) and `from_blueprint` (in `blueprint.rs`).

use proc_macro2::{Delimiter, Group, Punct, Spacing, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::{Ident, Member};

use super::hygiene::Locals;
use super::item::Flavor;
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
    pub flavor: Flavor,
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
    /// opened through its factory, or a nested value, rebuilt), leaving each bound to
    /// its value. All or nothing: if one fails, what was opened is closed, in reverse
    /// order, and the error returned.
    ///
    /// Blocking and sequential async code open in declaration order and stop at the
    /// first failure. Concurrent async code starts every open at once, waits for all
    /// of them, and reports every failure.
    pub fn open_live(&self, locals: &mut Locals, opening: Opening) -> TokenStream {
        if !self.variant.fields.iter().any(Field::is_live) {
            // No variable at all: a body without live fields needs no shield.
            return TokenStream::new();
        }
        match self.flavor {
            Flavor::Concurrent => self.open_concurrently(locals, opening),
            Flavor::Sync | Flavor::Sequential => self.open_in_order(locals, opening),
        }
    }

    fn open_in_order(&self, locals: &mut Locals, opening: Opening) -> TokenStream {
        let mut out = TokenStream::new();
        let mut opened: Vec<(usize, &Field)> = Vec::new();
        let closing = locals.named("closing");
        let value = locals.named("value");
        let error = locals.named("error");
        let variant = variant_name(self.variant);
        let type_name = self.type_name;
        let wait = self.flavor.wait();
        for (index, field) in self.variant.fields.iter().enumerate() {
            if !field.is_live() {
                continue;
            }
            let call = self.live_call(locals, index, field, opening, None);
            let failed = if field.is_nested() {
                quote!(nested_failed)
            } else {
                quote!(open_failed)
            };
            let open = locals.numbered("open", index);
            let name = field.name();
            let closing_ref = quote!(&mut #closing);
            let rollback: Vec<TokenStream> = opened
                .iter()
                .rev()
                .map(|&(index, field)| {
                    let value = locals.numbered("open", index).into_token_stream();
                    close_call(&closing_ref, field, &value, self.flavor)
                })
                .collect();
            let mutable = (!rollback.is_empty()).then(|| quote!(mut));
            out.extend(quote! {
                let #open = match (#call) #wait {
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

    /// Every live field's future at once, joined; then, if any failed, every failure
    /// recorded (in declaration order) and what opened closed (in reverse order).
    fn open_concurrently(&self, locals: &mut Locals, opening: Opening) -> TokenStream {
        let live: Vec<(usize, &Field)> = self
            .variant
            .fields
            .iter()
            .enumerate()
            .filter(|(_, field)| field.is_live())
            .collect();
        // Each factory expression evaluated into a borrow that lives for the whole
        // block (`let f = &(expr);` extends its temporary), since a pinned future
        // outlives the statement that creates it.
        let factories: Vec<Option<(Ident, &syn::Expr)>> = live
            .iter()
            .map(|&(index, field)| {
                let expr = field.resource()?.factory.as_ref()?;
                Some((locals.numbered("factory", index), expr))
            })
            .collect();
        let bind_factories = factories
            .iter()
            .flatten()
            .map(|(name, expr)| quote!(let #name = &(#expr);));
        let futures: Vec<TokenStream> = live
            .iter()
            .zip(&factories)
            .map(|(&(index, field), factory)| {
                let bound = factory.as_ref().map(|(name, _)| name);
                self.live_call(locals, index, field, opening, bound)
            })
            .collect();
        let results: Vec<Ident> = live
            .iter()
            .map(|&(index, _)| locals.numbered("result", index))
            .collect();
        let opens: Vec<Ident> = live
            .iter()
            .map(|&(index, _)| locals.numbered("open", index))
            .collect();
        // Each future pinned where it is created, in the rebuild's own state, and
        // polled into its own slot (see `guardian_core::join`).
        let pinned: Vec<Ident> = live
            .iter()
            .map(|&(index, _)| locals.numbered("future", index))
            .collect();
        let slots: Vec<Ident> = live
            .iter()
            .map(|&(index, _)| locals.numbered("slot", index))
            .collect();
        let cx = locals.named("cx");
        let failures = locals.named("failures");
        let value = locals.named("value");
        let variant = variant_name(self.variant);
        let type_name = self.type_name;
        let record = live.iter().zip(&results).map(|(&(_, field), result)| {
            let name = field.name();
            let kind = if field.is_nested() {
                quote!(nested)
            } else {
                quote!(resource)
            };
            quote!(let #result = #failures.#kind(#name, #result);)
        });
        let cleanup = quote!(#failures.cleanup());
        let rollback = live
            .iter()
            .zip(&results)
            .rev()
            .map(|(&(_, field), result)| {
                let close = close_call(&cleanup, field, &value.to_token_stream(), self.flavor);
                quote!(if let ::core::option::Option::Some(#value) = #result { #close })
            });
        let oks = results
            .iter()
            .map(|result| quote!(::core::result::Result::Ok(#result)));
        quote! {
            // The futures live in this block only: they borrow the configuration,
            // which is moved into the value afterwards.
            let (#(#results,)*) = {
                #(#bind_factories)*
                #(let mut #pinned = ::core::pin::pin!(#futures);)*
                #(let mut #slots = ::core::option::Option::None;)*
                ::core::future::poll_fn(|#cx| {
                    #(::guardian_core::__private::poll_into(&mut #slots, #pinned.as_mut(), #cx);)*
                    if #(#slots.is_none())||* {
                        return ::core::task::Poll::Pending;
                    }
                    match (#(#slots.take(),)*) {
                        (#(::core::option::Option::Some(#results),)*) => {
                            ::core::task::Poll::Ready((#(#results,)*))
                        }
                        // Never reached (every slot is full); put back, not lost.
                        (#(#results,)*) => {
                            #(#slots = #results;)*
                            ::core::task::Poll::Pending
                        }
                    }
                })
                .await
            };
            let (#(#opens,)*) = match (#(#results,)*) {
                (#(#oks,)*) => (#(#results,)*),
                (#(#results,)*) => {
                    let mut #failures = ::guardian_core::__private::Failures::new(#type_name, #variant);
                    #(#record)*
                    #(#rollback)*
                    return ::core::result::Result::Err(#failures.into_error());
                }
            };
        }
    }

    /// The opening of live field `index`: a resource's factory call or a nested
    /// value's rebuild, as a `Result` (blocking) or a future of one (async).
    fn live_call(
        &self,
        locals: &mut Locals,
        index: usize,
        field: &Field,
        opening: Opening,
        bound: Option<&Ident>,
    ) -> TokenStream {
        match field.resource() {
            Some(attr) => self.open_call(locals, index, field, attr, opening, bound),
            None => self.nested_call(locals, index, field, opening),
        }
    }

    /// `<FieldTy as Rebuild>::rebuild(&field)` (or, from a blueprint,
    /// `<FieldTy as FromBlueprint>::from_blueprint(field)`; their async versions in
    /// async code), spanned on the field's type so that a type that is not `Rebuild`
    /// is reported there.
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
                let rebuild = self.flavor.rebuild_trait();
                quote_spanned!(at=> <#ty as #rebuild>::rebuild(#live))
            }
            Opening::Open => {
                let blueprint = self.value(locals, index);
                let from = self.flavor.nested_blueprint_trait();
                quote_spanned!(at=> <#ty as #from>::from_blueprint(#blueprint))
            }
        }
    }

    /// The factory's `open(config)` or `reopen(config, live)` for one resource, each
    /// requirement spanned where the user can fix it: "not a factory" on the factory
    /// expression, "opens a `T`, not a `U`" on the field's type, "the recipe is a `C`"
    /// on `from = ...`, "needs a recipe" on the factory expression.
    fn open_call(
        &self,
        locals: &mut Locals,
        index: usize,
        field: &Field,
        attr: &ResourceAttr,
        opening: Opening,
        bound: Option<&Ident>,
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
        let typed = field_typed(field, &factory.to_token_stream(), self.flavor);
        let expr = factory_expr(attr, self.flavor, bound);
        // The factory is needed twice (to open, and to check the recipe against):
        // evaluate it once, and keep its temporaries alive for the whole call.
        quote! {
            match #expr {
                #factory => #typed.#method(#recipe #live),
            }
        }
    }
}

/// Closes one live field's `value` into `closing` (an expression giving a
/// `&mut CloseError`): `checked(factory).close(closing, "name", value);` for a
/// resource, `close_nested(closing, "name", <FieldTy as Rebuild>::close(value));` for
/// a nested value; awaited in async code.
pub fn close_call(
    closing: &TokenStream,
    field: &Field,
    value: &TokenStream,
    flavor: Flavor,
) -> TokenStream {
    let name = field.name();
    let wait = flavor.wait();
    let Some(attr) = field.resource() else {
        if !field.is_nested() {
            return TokenStream::new();
        }
        let at = span::user(span::of_type(field.ty));
        let ty = span::generated(field.ty.to_token_stream(), None);
        let rebuild = flavor.rebuild_trait();
        return quote_spanned! {at=>
            ::guardian_core::__private::close_nested(
                #closing,
                #name,
                <#ty as #rebuild>::close(#value) #wait,
            );
        };
    };
    let typed = field_typed(field, &factory_expr(attr, flavor, None), flavor);
    quote!(#typed.close(#closing, #name, #value) #wait;)
}

/// The factory typed for the field (`<_ as ResourceIs<FieldTy, _>>::field_typed(f)`,
/// or its async version), spanned on the field's type.
fn field_typed(field: &Field, factory: &TokenStream, flavor: Flavor) -> TokenStream {
    let at = span::user(span::of_type(field.ty));
    let ty = span::generated(field.ty.to_token_stream(), None);
    if flavor.is_async() {
        quote_spanned!(at=> <_ as ::guardian_core::__private::AsyncResourceIs<'_, #ty, _, _, _>>::field_typed(#factory))
    } else {
        quote_spanned!(at=> <_ as ::guardian_core::__private::ResourceIs<#ty, _>>::field_typed(#factory))
    }
}

/// `<_ as IsFactory>::checked(&(EXPR))` (or `IsAsyncFactory`), spanned on the
/// expression; `checked(bound)` when the borrow was bound beforehand.
fn factory_expr(attr: &ResourceAttr, flavor: Flavor, bound: Option<&Ident>) -> TokenStream {
    let at = factory_span(attr);
    let check = flavor.check("IsFactory", "IsAsyncFactory");
    match (&attr.factory, bound) {
        (Some(_), Some(bound)) => {
            quote_spanned!(at=> <_ as ::guardian_core::__private::#check>::checked(#bound))
        }
        (Some(expr), None) => {
            quote_spanned!(at=> <_ as ::guardian_core::__private::#check>::checked(&(#expr)))
        }
        // `attr` refuses a resource without a factory, so this is never expanded.
        (None, _) => quote!(::core::unreachable!()),
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
