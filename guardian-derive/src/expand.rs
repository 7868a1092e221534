//! Code generation, and only that: the input has been validated when we get here.
//!
//! For each struct body or variant, `rebuild` binds the fields by reference, reopens
//! the resources in declaration order (closing the ones already opened if one fails),
//! then builds the copy from cloned config fields and the fresh resources. `close`
//! binds the resources by value and closes them in reverse order, collecting every
//! failure. Everything named is fully qualified (`::guardian_core::__private::...`,
//! `::core::...`), and local variables have mixed-site hygiene, so user code can
//! neither shadow nor see them.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::{DeriveInput, Ident};

use crate::ast::{Data, Field, Input, Variant};
use crate::attr::ResourceAttr;
use crate::ctxt::Ctxt;
use crate::{blueprint, bound, fallback, handles, valid};

/// The whole derive: parse, validate, expand, or report every error with a stub impl.
pub fn derive(input: TokenStream) -> TokenStream {
    let node: DeriveInput = match syn::parse2(input) {
        Ok(node) => node,
        Err(err) => return err.to_compile_error(),
    };
    let cx = Ctxt::new();
    let model = Input::from_syn(&cx, &node);
    valid::check(&cx, &model);
    match cx.check() {
        Ok(()) => impl_rebuild(&model),
        Err(err) => fallback::expand(&node, &err),
    }
}

/// A span at the user's tokens (so errors point there) that resolves names like the
/// rest of the expansion (so lints see it as macro-generated).
pub fn user_span(span: Span) -> Span {
    span.resolved_at(Span::call_site())
}

pub fn binding(index: usize) -> Ident {
    format_ident!("__field{}", index, span = Span::mixed_site())
}

pub fn opened(index: usize) -> Ident {
    format_ident!("__open{}", index, span = Span::mixed_site())
}

fn impl_rebuild(input: &Input) -> TokenStream {
    let ident = input.ident;
    let type_name = syn::ext::IdentExt::unraw(ident).to_string();
    let (impl_generics, ty_generics, _) = input.generics.split_for_impl();
    let where_clause = bound::where_clause(input);

    let (rebuild_body, close_body) = match &input.data {
        Data::Struct(variant) => {
            let rebuild = rebuild_arm(&type_name, variant);
            let close = close_arm(&type_name, variant);
            (
                quote!(match self { #rebuild }),
                quote!(match self { #close }),
            )
        }
        Data::Enum(variants) if variants.is_empty() => {
            (quote!(match *self {}), quote!(match self {}))
        }
        Data::Enum(variants) => {
            let rebuild = variants
                .iter()
                .map(|variant| rebuild_arm(&type_name, variant));
            let close = variants
                .iter()
                .map(|variant| close_arm(&type_name, variant));
            (
                quote!(match self { #(#rebuild)* }),
                quote!(match self { #(#close)* }),
            )
        }
        // Refused in `valid`; never reaches here.
        Data::Union(_) => return TokenStream::new(),
    };

    // Without resources, the trait's provided `close` (drop the value) is exactly
    // right, and not emitting one saves compile time on config-only types.
    let close = if input.has_resources() {
        quote! {
            #[inline]
            fn close(self) -> ::core::result::Result<(), ::guardian_core::CloseError> {
                #close_body
            }
        }
    } else {
        TokenStream::new()
    };
    let checks = not_copy_checks(input);
    let blueprint = match &input.attrs.blueprint {
        Some(attr) => blueprint::expand(input, attr),
        None => TokenStream::new(),
    };
    quote! {
        #blueprint
        #[automatically_derived]
        impl #impl_generics ::guardian_core::Rebuild for #ident #ty_generics #where_clause {
            #[inline]
            fn rebuild(&self) -> ::core::result::Result<Self, ::guardian_core::RebuildError> {
                #rebuild_body
            }

            #close
        }
        #checks
    }
}

/// `Self` or `Self::Variant`.
pub fn path(variant: &Variant) -> TokenStream {
    match variant.ident {
        Some(ident) => quote!(Self::#ident),
        None => quote!(Self),
    }
}

fn variant_name(variant: &Variant) -> TokenStream {
    match variant.ident {
        Some(ident) => {
            let name = syn::ext::IdentExt::unraw(ident).to_string();
            quote!(::core::option::Option::Some(#name))
        }
        None => quote!(::core::option::Option::None),
    }
}

fn rebuild_arm(type_name: &str, variant: &Variant) -> TokenStream {
    let path = path(variant);
    let members = variant.fields.iter().map(|field| &field.member);
    let bindings = (0..variant.fields.len()).map(binding);
    let pattern = quote!(#path { #(#members: #bindings,)* });
    let opens = open_resources(type_name, variant, Opening::Reopen);
    let values = variant.fields.iter().enumerate().map(|(index, field)| {
        let member = &field.member;
        if field.is_resource() {
            let open = opened(index);
            quote!(#member: #open)
        } else {
            let mut bind = binding(index);
            let ty = field.ty;
            let span = user_span(handles::type_span(ty));
            // The argument carries the field type's location, so that `Ty: Clone`
            // not holding is reported on the field.
            bind.set_span(handles::type_span(ty).resolved_at(Span::mixed_site()));
            quote_spanned!(span=> #member: ::core::clone::Clone::clone(#bind))
        }
    });
    quote! {
        #pattern => {
            #opens
            ::core::result::Result::Ok(#path { #(#values,)* })
        }
    }
}

/// How the resources of a body are opened.
#[derive(Clone, Copy)]
pub enum Opening {
    /// `rebuild`: `Factory::reopen(config, live)`; the bindings are references.
    Reopen,
    /// `from_blueprint`: `Factory::open(config)`; the config bindings are owned.
    Fresh,
}

/// `let __openN = ...;` for every resource of the body, in declaration order. If one
/// fails, the ones before it are closed (in reverse order) and its error returned.
/// Field `i` is bound to `binding(i)`, resource `i` opened into `opened(i)`.
pub fn open_resources(type_name: &str, variant: &Variant, opening: Opening) -> TokenStream {
    let mut opens = TokenStream::new();
    let mut opened_so_far: Vec<(usize, &Field)> = Vec::new();
    let closing = format_ident!("__closing", span = Span::mixed_site());
    let error = format_ident!("__error", span = Span::mixed_site());
    let ok = format_ident!("__resource", span = Span::mixed_site());
    let variant_name = variant_name(variant);
    for (index, field) in variant.fields.iter().enumerate() {
        let Some(resource) = field.resource() else {
            continue;
        };
        let open = opened(index);
        let call = open_call(variant, index, field, resource, opening);
        let name = field.name();
        let rollback = opened_so_far
            .iter()
            .rev()
            .map(|&(index, field)| close_call(&closing, field, &opened(index)));
        let mutability = if opened_so_far.is_empty() {
            quote!()
        } else {
            quote!(mut)
        };
        opens.extend(quote! {
            let #open = match #call {
                ::core::result::Result::Ok(#ok) => #ok,
                ::core::result::Result::Err(#error) => {
                    let #mutability #closing = ::guardian_core::__private::closing(#type_name, #variant_name);
                    #(#rollback)*
                    return ::core::result::Result::Err(
                        ::guardian_core::__private::open_failed(#closing, #name, #error),
                    );
                }
            };
        });
        opened_so_far.push((index, field));
    }
    opens
}

/// `field::<_, FieldTy>(&factory).reopen(config, live)` (or `.open(config)`), spanned
/// so that a factory that does not fit is reported on the attribute (wrong `Config`)
/// or the field's type (wrong `Resource`).
fn open_call(
    variant: &Variant,
    index: usize,
    field: &Field,
    resource: &ResourceAttr,
    opening: Opening,
) -> TokenStream {
    let factory_ref = format_ident!("__factory", span = Span::mixed_site());
    let config = match &resource.from {
        Some(from) => {
            let target = variant
                .fields
                .iter()
                .position(|field| field.member == *from)
                .unwrap_or(index);
            let span = match from {
                syn::Member::Named(ident) => ident.span(),
                syn::Member::Unnamed(index) => index.span,
            };
            let mut config = binding(target);
            config.set_span(span.resolved_at(Span::mixed_site()));
            match opening {
                Opening::Reopen => quote!(#config),
                Opening::Fresh => quote_spanned!(span.resolved_at(Span::mixed_site())=> &#config),
            }
        }
        None => {
            let span = resource
                .factory
                .as_ref()
                .map_or_else(Span::call_site, |expr| {
                    user_span(syn::spanned::Spanned::span(expr))
                });
            let mut factory_ref = factory_ref.clone();
            factory_ref.set_span(span.resolved_at(Span::mixed_site()));
            quote_spanned!(span=> ::guardian_core::__private::no_config(#factory_ref))
        }
    };
    let factory = factory_expr(resource);
    let ty = field.ty;
    let span = user_span(handles::type_span(ty));
    let call = match opening {
        Opening::Reopen => {
            let live = binding(index);
            quote_spanned!(span=> ::guardian_core::__private::field::<_, #ty>(#factory_ref).reopen(#config, #live))
        }
        Opening::Fresh => {
            quote_spanned!(span=> ::guardian_core::__private::field::<_, #ty>(#factory_ref).open(#config))
        }
    };
    // The factory expression is evaluated once per use; the `match` keeps its
    // temporaries alive for the whole call.
    quote! {
        match #factory {
            #factory_ref => #call,
        }
    }
}

/// `::guardian_core::__private::factory(&(EXPR))`, spanned on the expression so that
/// a value that is not a `Factory` is reported there.
fn factory_expr(resource: &ResourceAttr) -> TokenStream {
    match &resource.factory {
        Some(expr) => {
            let span = user_span(syn::spanned::Spanned::span(expr));
            quote_spanned!(span=> ::guardian_core::__private::factory(&(#expr)))
        }
        // `valid` refuses a resource without a factory; keep the expansion well-formed.
        None => quote!(::core::unreachable!()),
    }
}

pub fn close_call(closing: &Ident, field: &Field, resource_value: &Ident) -> TokenStream {
    let Some(resource) = field.resource() else {
        return TokenStream::new();
    };
    let name = field.name();
    let factory = factory_expr(resource);
    let ty = field.ty;
    let span = user_span(handles::type_span(ty));
    quote_spanned! {span=>
        ::guardian_core::__private::field::<_, #ty>(#factory).close(&mut #closing, #name, #resource_value);
    }
}

fn close_arm(type_name: &str, variant: &Variant) -> TokenStream {
    let path = path(variant);
    let resources: Vec<(usize, &Field)> = variant
        .fields
        .iter()
        .enumerate()
        .filter(|(_, field)| field.is_resource())
        .collect();
    if resources.is_empty() {
        return quote!(#path { .. } => ::core::result::Result::Ok(()),);
    }
    let members = resources.iter().map(|(_, field)| &field.member);
    let bindings = resources.iter().map(|&(index, _)| binding(index));
    let closing = format_ident!("__closing", span = Span::mixed_site());
    let closes = resources
        .iter()
        .rev()
        .map(|&(index, field)| close_call(&closing, field, &binding(index)));
    let variant_name = variant_name(variant);
    quote! {
        #path { #(#members: #bindings,)* .. } => {
            let mut #closing = ::guardian_core::__private::closing(#type_name, #variant_name);
            #(#closes)*
            ::guardian_core::CloseError::into_result(#closing)
        }
    }
}

/// The type must not be `Copy` (and, when it has resources, not `Clone`), whatever
/// derive or impl made it so. A proc macro cannot see derives listed before it, so
/// the compiler decides, by coherence: `guardian_core` implements the marker traits
/// below for every `Copy` (`Clone`) type, so implementing them here for a type that
/// is `Copy` (`Clone`) conflicts (E0119, naming the trait). For any other type the
/// impl is accepted, and it costs one empty impl: no function to type-check.
fn not_copy_checks(input: &Input) -> TokenStream {
    let ident = input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let span = ident.span();
    let not_copy = quote_spanned! {span=>
        #[automatically_derived]
        impl #impl_generics ::guardian_core::__private::RebuildTypeMustNotBeCopy
            for #ident #ty_generics #where_clause {}
    };
    let not_clone = if input.has_resources() {
        quote_spanned! {span=>
            #[automatically_derived]
            impl #impl_generics ::guardian_core::__private::TypeWithResourcesMustNotBeClone
                for #ident #ty_generics #where_clause {}
        }
    } else {
        TokenStream::new()
    };
    quote!(#not_copy #not_clone)
}
