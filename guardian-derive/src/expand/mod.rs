//! Code generation for a validated input: the `Rebuild` impl, the refusals that go
//! with a type that has resources, and the blueprint (`blueprint.rs`, with its serde
//! impls in `serde.rs`). Nothing is checked here: `lib.rs` calls [`expand`] only when
//! `valid` found no mistake, and the code for one body (reaching fields, opening and
//! closing resources) lives in `body.rs`.
//!
//! # What a derive expands to
//!
//! - `impl Rebuild`: `rebuild` opens the resources in declaration order (closing the
//!   ones already opened if one fails), then builds the copy from clones of the
//!   `#[config]` fields and the fresh resources; `close` closes the resources in
//!   reverse order, collecting every failure. A type without resources keeps the
//!   trait's provided `close` (drop), which saves compile time.
//! - For a type with resources, the refusals, each a trait-method call whose failure
//!   carries a message of ours (see `guardian_core::__private`): a type that is `Clone`
//!   or `Copy` (an unused check function), a type that implements `Drop` (inside
//!   `close`), and a hidden inherent `clone` method that can never be called, so that
//!   `value.clone()` says to use `rebuild()`.
//! - With `#[rebuild(blueprint)]` or `#[rebuild(serde)]`, the blueprint type and its
//!   impls.
//!
//! Everything is named by its full path (`::guardian_core::__private::...`,
//! `::core::...`), every impl is `#[automatically_derived]` and carries the lint
//! attributes of the type (its `allow`s and `expect`s, and `allow(deprecated)` for a
//! deprecated type or variant), and user tokens copied into the expansion resolve in
//! the derive's context (see `span`). Local variables are shielded from the user's
//! items (see `hygiene`).

mod blueprint;
mod body;
mod hygiene;
mod item;
mod serde;

use proc_macro2::{Delimiter, Group, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};

use self::body::{Body, Opening, Reach, generated_member};
use self::hygiene::Locals;
use self::item::{Flavor, flavor, lint_attrs, path, type_ident};
use crate::ast::{Data, Input};
use crate::{bound, span};

/// The derive's output for `input`.
pub fn expand(input: &Input) -> TokenStream {
    let mut locals = Locals::default();
    let mut impls = impl_rebuild(input, &mut locals);
    let mut types = TokenStream::new();
    if input.has_resources() {
        // The inherent `clone` binds nothing: outside the shield, messages name it
        // `Logger::clone` rather than `_::<impl Logger>::clone`.
        let (clone, check) = refusals(input);
        types.extend(clone);
        impls.extend(check);
    }
    if let Some(attr) = &input.attrs.blueprint {
        let blueprint = blueprint::expand(input, attr, &mut locals);
        types.extend(blueprint.types);
        impls.extend(blueprint.impls);
    }
    types.extend(locals.shield(impls));
    types
}

fn impl_rebuild(input: &Input, locals: &mut Locals) -> TokenStream {
    let ident = type_ident(input);
    // The name appears only in errors, which only resources can raise: a config-only
    // type skips the conversion.
    let type_name = if input.has_live() {
        input.name()
    } else {
        String::new()
    };
    let (impl_generics, ty_generics, _) = input.generics.split_for_impl();
    let flavor = flavor(input);
    let asynchronous = flavor != Flavor::Sync;
    let of = if asynchronous {
        bound::Impl::AsyncRebuild
    } else {
        bound::Impl::Rebuild
    };
    let where_clause = bound::where_clause(input, of, &[]);
    let packed = input.attrs.packed.is_some();

    let (rebuild, close) = match &input.data {
        Data::Struct(variant) => {
            let body = Body {
                variant,
                reach: Reach::OfSelf,
                type_name: &type_name,
                flavor,
            };
            (
                rebuild_body(&body, packed, locals),
                close_body(&body, locals),
            )
        }
        Data::Enum(variants) if variants.is_empty() => {
            (quote!(match *self {}), quote!(match self {}))
        }
        Data::Enum(variants) => {
            let mut rebuilds = TokenStream::new();
            let mut closes = TokenStream::new();
            for variant in variants {
                let path = path(variant);
                let body = Body {
                    variant,
                    reach: Reach::BoundRef,
                    type_name: &type_name,
                    flavor,
                };
                let pattern = body.pattern(locals, |_| true);
                let rebuild = rebuild_body(&body, false, locals);
                rebuilds.extend(quote!(#path #pattern => { #rebuild }));
                let body = Body {
                    reach: Reach::BoundOwned,
                    ..body
                };
                let pattern = body.pattern(locals, crate::ast::Field::is_live);
                let close = close_body(&body, locals);
                closes.extend(quote!(#path #pattern => { #close }));
            }
            (
                quote!(match self { #rebuilds }),
                quote!(match self { #closes }),
            )
        }
        // Refused in `valid`: never expanded.
        Data::Union(_) => return TokenStream::new(),
    };

    let lints = lint_attrs(input);
    let trait_ = flavor.rebuild_trait();
    // `async fn` in the impl: the trait's `-> impl Future + Send` is checked against
    // the body's future (which must be `Send`), and the body reads as blocking code.
    let asyncness = asynchronous.then(|| quote!(async));
    let close = close_method(input, flavor, &close);
    quote! {
        #[automatically_derived]
        #lints
        impl #impl_generics #trait_ for #ident #ty_generics #where_clause {
            #[inline]
            #asyncness fn rebuild(&self) -> ::core::result::Result<Self, ::guardian_core::RebuildError> {
                #rebuild
            }

            #close
        }
    }
}

/// `close`, when the type needs one: a type with live fields closes them (after the
/// `Drop` probe); `Rebuild` provides a `close` that drops the value, right for a type
/// without live fields (and not emitting one saves compile time on config-only
/// types), while `AsyncRebuild` provides none.
fn close_method(input: &Input, flavor: Flavor, body: &TokenStream) -> TokenStream {
    let asynchronous = flavor != Flavor::Sync;
    if input.has_live() {
        let at = span::user(input.ident.span());
        let probe = quote_spanned! {at=>
            <_ as ::guardian_core::__private::CloseWithoutDrop<Self>>::confirm(
                (&::guardian_core::__private::Probe::<Self>::new()).probe_drop(),
            );
        };
        let result = quote!(::core::result::Result<(), ::guardian_core::CloseError>);
        // Async: an `async move` block, not an `async fn`, which would keep `self` in
        // its state twice (the argument, and the local it is moved into).
        let (output, body) = if asynchronous {
            (
                quote!(impl ::core::future::Future<Output = #result> + ::core::marker::Send),
                quote!(async move { #body }),
            )
        } else {
            (result, body.clone())
        };
        quote! {
            #[inline]
            fn close(self) -> #output {
                use ::guardian_core::__private::{ProbeDrop as _, ProbeNoDrop as _};
                #probe
                #body
            }
        }
    } else if asynchronous {
        quote! {
            #[inline]
            async fn close(self) -> ::core::result::Result<(), ::guardian_core::CloseError> {
                ::core::mem::drop(self);
                ::core::result::Result::Ok(())
            }
        }
    } else {
        TokenStream::new()
    }
}

/// Open the resources, then `Ok(Path { config: clone, resource: opened })`.
///
/// This is the code every derive runs, once per field, so it writes tokens straight
/// into one stream: building a stream per field and concatenating them costs a
/// round trip to the compiler each, which was a third of the macro's own time.
fn rebuild_body(body: &Body, packed: bool, locals: &mut Locals) -> TokenStream {
    let opens = body.open_live(locals, Opening::Reopen);
    let path = path(body.variant);
    let mut values = TokenStream::new();
    for (index, field) in body.variant.fields.iter().enumerate() {
        if field.is_live() {
            let member = generated_member(&field.member);
            let open = locals.numbered("open", index);
            values.extend(quote!(#member: #open,));
        } else if packed {
            // A packed field cannot be borrowed: copy it out by value.
            let member = generated_member(&field.member);
            let at = span::user(span::of_type(field.ty));
            let ty = span::generated(field.ty.to_token_stream(), None);
            let value = body.value(locals, index);
            values.extend(quote_spanned!(at=> #member: <#ty as ::guardian_core::__private::PackedCopy>::packed({ #value }),));
        } else {
            body.push_clone(&mut values, locals, index);
        }
    }
    let fields = Group::new(Delimiter::Brace, values);
    quote! {
        #opens
        ::core::result::Result::Ok(#path #fields)
    }
}

/// Close every resource in reverse declaration order, collecting every failure.
fn close_body(body: &Body, locals: &mut Locals) -> TokenStream {
    let resources: Vec<(usize, &crate::ast::Field)> = body
        .variant
        .fields
        .iter()
        .enumerate()
        .filter(|(_, field)| field.is_live())
        .collect();
    if resources.is_empty() {
        return quote!(::core::result::Result::Ok(()));
    }
    let closing = locals.named("closing");
    let type_name = body.type_name;
    let variant = body::variant_name(body.variant);
    let closing_ref = quote!(&mut #closing);
    let closes: Vec<TokenStream> = resources
        .iter()
        .rev()
        .map(|&(index, field)| {
            body::close_call(&closing_ref, field, &body.value(locals, index), body.flavor)
        })
        .collect();
    quote! {
        let mut #closing = ::guardian_core::__private::closing(#type_name, #variant);
        #(#closes)*
        ::guardian_core::CloseError::into_result(#closing)
    }
}

/// For a type with resources: the hidden inherent `clone` whose call explains itself,
/// and the check that the type is neither `Clone` nor `Copy`, whatever derive or impl
/// would make it so. The check is a function that is never called: generic over the
/// type's parameters with `T: Clone` for each type parameter, so that a `Clone` the
/// standard derive makes (`impl<T: Clone> Clone for S<T>`) is found.
fn refusals(input: &Input) -> (TokenStream, TokenStream) {
    let ident = type_ident(input);
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let lints = lint_attrs(input);
    let at = span::user(input.ident.span());
    let self_ty = bound::self_type(input);
    let lifetime = syn::Lifetime::new("'__guardian", Span::mixed_site());
    // An item, not a variable: it needs no shield (and would clash with one).
    let check = syn::Ident::new("__guardian_not_clone", Span::mixed_site());
    let mut predicates: Vec<TokenStream> = where_clause
        .iter()
        .flat_map(|clause| clause.predicates.iter())
        .map(ToTokens::to_token_stream)
        .collect();
    predicates.extend(input.generics.type_params().map(|param| {
        let param = &param.ident;
        quote!(#param: ::core::clone::Clone)
    }));
    let probe = quote_spanned! {at=>
        <_ as ::guardian_core::__private::ResourcesNotCloned<#self_ty>>::confirm(
            (&::guardian_core::__private::Probe::<#self_ty>::new()).probe_clone(),
        );
    };
    let clone_where = quote_spanned! {at=>
        where
            for<#lifetime> ::guardian_core::__private::CloneOf<#lifetime, Self>:
                ::guardian_core::__private::HoldsResources<Self>
    };
    let clone = quote! {
        #[automatically_derived]
        #lints
        impl #impl_generics #ident #ty_generics #where_clause {
            #[doc(hidden)]
            #[inline]
            #[allow(dead_code, clippy::should_implement_trait)]
            pub fn clone(&self) -> Self #clone_where {
                ::core::unreachable!()
            }
        }
    };
    let check = quote! {
        #lints
        #[allow(dead_code, clippy::extra_unused_type_parameters)]
        fn #check #impl_generics () where #(#predicates,)* {
            use ::guardian_core::__private::{ProbeClone as _, ProbeNotClone as _};
            #probe
        }
    };
    (clone, check)
}
