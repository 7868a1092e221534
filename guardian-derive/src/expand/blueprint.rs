//! Code generation for `#[rebuild(blueprint)]` and `#[rebuild(serde)]`: the blueprint
//! type (the config fields, in the type's own shape), its `FromBlueprint` impl, and
//! (in `serde.rs`) serde impls that go through it.

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::{Attribute, Ident, Index, Member};

use super::body::{Body, Opening, Reach, generated_member};
use super::hygiene::Locals;
use super::item::{Flavor, flavor, lint_attrs, path, type_ident};
use super::serde;
use crate::ast::{Data, Field, Input, Style, Variant};
use crate::attr::BlueprintAttr;
use crate::{bound, span};

/// What the blueprint adds: a type (a named item, outside any shield) and impls.
pub struct Blueprint {
    pub types: TokenStream,
    pub impls: TokenStream,
}

/// The blueprint type's name: `blueprint(name = ...)` or `{Type}Blueprint`.
fn name(input: &Input, attr: &BlueprintAttr) -> Ident {
    attr.name.clone().unwrap_or_else(|| {
        let ident = syn::ext::IdentExt::unraw(input.ident);
        format_ident!("{}Blueprint", ident, span = input.ident.span())
    })
}

pub fn expand(input: &Input, attr: &BlueprintAttr, locals: &mut Locals) -> Blueprint {
    let name = name(input, attr);
    let types = definition(input, attr, &name);
    let mut impls = impl_from_blueprint(input, &name, locals);
    impls.extend(impl_clone(input, &name, locals));
    if attr.serde.is_some() {
        impls.extend(serde::expand(input, &name, locals));
    }
    Blueprint { types, impls }
}

/// The attributes a blueprint item keeps from the original: docs and `#[serde]`.
fn forwarded(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc") || attr.path().is_ident("serde"))
}

/// Whether a field is in the blueprint: a config field, as it is, or a nested value,
/// as its own blueprint.
fn in_blueprint(field: &Field) -> bool {
    field.is_config() || field.is_nested()
}

/// The blueprint's fields with their member there: the same name, or their index
/// among the blueprint's fields of a tuple body.
fn members<'v, 'a>(variant: &'v Variant<'a>) -> Vec<(usize, &'v Field<'a>, Member)> {
    let mut position = 0;
    let mut out = Vec::new();
    for (index, field) in variant.fields.iter().enumerate() {
        if !in_blueprint(field) {
            continue;
        }
        let member = match &field.member {
            Member::Named(_) => generated_member(&field.member),
            Member::Unnamed(original) => Member::Unnamed(Index {
                index: position,
                span: span::user(original.span),
            }),
        };
        position += 1;
        out.push((index, field, member));
    }
    out
}

/// The blueprint's fields, written as a struct or variant body: each config field as
/// it is, each nested value as its blueprint (`<Shard as FromBlueprint>::Blueprint`).
/// A field type that names `Self` names the original type (`Vec<Self>` in `Tree` is
/// `Vec<Tree>`, in the blueprint as in the type).
fn body(variant: &Variant, self_ty: &TokenStream, flavor: Flavor) -> TokenStream {
    let fields = variant
        .fields
        .iter()
        .filter(|field| in_blueprint(field))
        .map(|field| {
            let attrs = forwarded(&field.original.attrs);
            let vis = &field.original.vis;
            let mut ty = span::generated(field.ty.to_token_stream(), Some(self_ty));
            if field.is_nested() {
                let from = flavor.nested_blueprint_trait();
                let at = span::user(span::of_type(field.ty));
                ty = quote_spanned!(at=> <#ty as #from>::Of);
            }
            match &field.original.ident {
                Some(ident) => quote!(#(#attrs)* #vis #ident: #ty),
                None => quote!(#(#attrs)* #vis #ty),
            }
        });
    match variant.style {
        Style::Named => quote!({ #(#fields,)* }),
        Style::Tuple => quote!(( #(#fields,)* )),
        Style::Unit => TokenStream::new(),
    }
}

fn definition(input: &Input, attr: &BlueprintAttr, name: &Ident) -> TokenStream {
    let vis = input.vis;
    let params = &input.generics.params;
    let generics = if params.is_empty() {
        TokenStream::new()
    } else {
        quote!(<#params>)
    };
    // The inferred bounds: a nested field's blueprint is a projection that needs its
    // type to be `FromBlueprint` wherever the blueprint type is named.
    let flavor = flavor(input);
    let where_clause = bound::where_clause(input, impl_for(flavor), &[]);
    let type_name = input.name();
    let doc = format!(
        "The blueprint of [`{type_name}`]: its `#[config]` fields, without its resources. \
         Build a `{type_name}` from it with `guardian_core::FromBlueprint::from_blueprint`, \
         which opens every resource afresh."
    );
    let derives = &attr.derives;
    let serde = if attr.serde.is_some() {
        let container =
            forwarded(input.original_attrs).filter(|attr| attr.path().is_ident("serde"));
        quote! {
            #[derive(
                ::guardian_core::__private::serde::Serialize,
                ::guardian_core::__private::serde::Deserialize,
            )]
            #[serde(crate = "::guardian_core::__private::serde")]
            #(#container)*
        }
    } else {
        TokenStream::new()
    };
    let lints = lint_attrs(input);
    // `Clone` is implemented in `impl_clone`, bounded by what each field needs:
    // `#[derive(Clone)]` would ask `T: Clone` of every parameter, which a nested
    // `Rebuild` type seldom is.
    let derive = (!derives.is_empty()).then(|| quote!(#[derive(#(#derives),*)]));
    let header = quote! {
        #[doc = #doc]
        #derive
        #serde
        #lints
    };
    let self_ty = bound::self_type(input);
    match &input.data {
        Data::Struct(variant) => {
            let body = body(variant, &self_ty, flavor);
            match variant.style {
                Style::Named => quote!(#header #vis struct #name #generics #where_clause #body),
                Style::Tuple => quote!(#header #vis struct #name #generics #body #where_clause;),
                Style::Unit => quote!(#header #vis struct #name #generics #where_clause;),
            }
        }
        Data::Enum(variants) => {
            let variants = variants.iter().map(|variant| {
                let attrs = forwarded(variant.attrs);
                let ident = variant.ident;
                let body = body(variant, &self_ty, flavor);
                quote!(#(#attrs)* #ident #body)
            });
            quote!(#header #vis enum #name #generics #where_clause { #(#variants,)* })
        }
        Data::Union(_) => TokenStream::new(),
    }
}

/// `impl Clone` for the blueprint: each field cloned, bounded as the blueprint type is
/// (`FieldTy: Clone` for a generic config field; a nested field's blueprint is `Clone`
/// by `FromBlueprint`'s contract).
fn impl_clone(input: &Input, name: &Ident, locals: &mut Locals) -> TokenStream {
    let (impl_generics, ty_generics, _) = input.generics.split_for_impl();
    let where_clause = bound::where_clause(input, impl_for(flavor(input)), &[]);
    let clone_fields = |variant: &Variant, locals: &mut Locals, bound: bool| {
        let fields = members(variant).into_iter().map(|(index, field, member)| {
            let at = span::user(span::of_type(field.ty));
            let value = if bound {
                Body::binding(locals, index).into_token_stream()
            } else {
                quote_spanned!(at=> &self.#member)
            };
            quote_spanned!(at=> #member: ::core::clone::Clone::clone(#value))
        });
        let path = blueprint_path(name, variant);
        quote!(#path { #(#fields,)* })
    };
    let body = match &input.data {
        Data::Struct(variant) => clone_fields(variant, locals, false),
        Data::Enum(variants) if variants.is_empty() => quote!(match *self {}),
        Data::Enum(variants) => {
            let arms: Vec<TokenStream> = variants
                .iter()
                .map(|variant| {
                    let path = blueprint_path(name, variant);
                    let bindings = members(variant).into_iter().map(|(index, _, member)| {
                        let binding = Body::binding(locals, index);
                        quote!(#member: #binding)
                    });
                    let pattern = quote!(#path { #(#bindings,)* });
                    let clone = clone_fields(variant, locals, true);
                    quote!(#pattern => #clone,)
                })
                .collect();
            quote!(match self { #(#arms)* })
        }
        Data::Union(_) => return TokenStream::new(),
    };
    let lints = lint_attrs(input);
    quote! {
        #[automatically_derived]
        #lints
        impl #impl_generics ::core::clone::Clone for #name #ty_generics #where_clause {
            #[inline]
            fn clone(&self) -> Self {
                #body
            }
        }
    }
}

/// `Name` or `Name::Variant`, for the blueprint.
fn blueprint_path(name: &Ident, variant: &Variant) -> TokenStream {
    match variant.ident {
        Some(ident) => quote!(#name::#ident),
        None => quote!(#name),
    }
}

/// The impl a blueprint's bounds are for.
pub fn impl_for(flavor: Flavor) -> bound::Impl {
    if flavor.is_async() {
        bound::Impl::AsyncFromBlueprint
    } else {
        bound::Impl::FromBlueprint
    }
}

fn impl_from_blueprint(input: &Input, name: &Ident, locals: &mut Locals) -> TokenStream {
    let ident = type_ident(input);
    let type_name = input.name();
    let (impl_generics, ty_generics, _) = input.generics.split_for_impl();
    let flavor = flavor(input);
    let where_clause = bound::where_clause(input, impl_for(flavor), &[]);
    let blueprint = locals.named("blueprint");
    let packed = input.attrs.packed.is_some();

    let (copy, build) = match &input.data {
        Data::Enum(variants) if variants.is_empty() => {
            (quote!(match *self {}), quote!(match #blueprint {}))
        }
        Data::Struct(variant) => {
            let body = Body {
                variant,
                reach: Reach::OfSelf,
                type_name: &type_name,
                flavor,
            };
            let copy = copy_body(&body, name, packed, locals);
            let build = build_arm(&type_name, name, variant, flavor, locals);
            (copy, quote!(match #blueprint { #build }))
        }
        Data::Enum(variants) => {
            let mut copies = TokenStream::new();
            let mut builds = TokenStream::new();
            for variant in variants {
                let body = Body {
                    variant,
                    reach: Reach::BoundRef,
                    type_name: &type_name,
                    flavor,
                };
                let path = path(variant);
                let pattern = body.pattern(locals, in_blueprint);
                let copy = copy_body(&body, name, false, locals);
                copies.extend(quote!(#path #pattern => #copy,));
                builds.extend(build_arm(&type_name, name, variant, flavor, locals));
            }
            (
                quote!(match self { #copies }),
                quote!(match #blueprint { #builds }),
            )
        }
        Data::Union(_) => return TokenStream::new(),
    };
    let lints = lint_attrs(input);
    let trait_ = flavor.blueprint_trait();
    let asyncness = flavor.is_async().then(|| quote!(async));
    quote! {
        #[automatically_derived]
        #lints
        impl #impl_generics #trait_ for #ident #ty_generics #where_clause {
            type Blueprint = #name #ty_generics;

            #[inline]
            fn blueprint(&self) -> Self::Blueprint {
                #copy
            }

            #[inline]
            #asyncness fn from_blueprint(
                #blueprint: Self::Blueprint,
            ) -> ::core::result::Result<Self, ::guardian_core::RebuildError> {
                #build
            }
        }
    }
}

/// `Blueprint::V { config: clone(field), .. }`, from a body reached through `body`.
fn copy_body(body: &Body, name: &Ident, packed: bool, locals: &mut Locals) -> TokenStream {
    let target = blueprint_path(name, body.variant);
    let values: Vec<TokenStream> = members(body.variant)
        .into_iter()
        .map(|(index, field, member)| {
            let at = span::user(span::of_type(field.ty));
            if field.is_nested() {
                let ty = span::generated(field.ty.to_token_stream(), None);
                let value = body.reference(locals, index, at);
                let from = body.flavor.nested_blueprint_trait();
                quote_spanned!(at=> #member: <#ty as #from>::blueprint(#value))
            } else if packed {
                let ty = span::generated(field.ty.to_token_stream(), None);
                let value = body.value(locals, index);
                quote_spanned!(at=> #member: <#ty as ::guardian_core::__private::PackedCopy>::packed({ #value }))
            } else {
                let value = body.reference(locals, index, at);
                quote_spanned!(at=> #member: ::core::clone::Clone::clone(#value))
            }
        })
        .collect();
    quote!(#target { #(#values,)* })
}

/// `Blueprint::V { config: __guardian_fieldN } => { open resources; Ok(Self::V { .. }) }`.
fn build_arm(
    type_name: &str,
    name: &Ident,
    variant: &Variant,
    flavor: Flavor,
    locals: &mut Locals,
) -> TokenStream {
    let source = blueprint_path(name, variant);
    let members: Vec<TokenStream> = members(variant)
        .into_iter()
        .map(|(index, _, member)| {
            let binding = Body::binding(locals, index);
            quote!(#member: #binding)
        })
        .collect();
    let body = Body {
        variant,
        reach: Reach::BoundOwned,
        type_name,
        flavor,
    };
    let opens = body.open_live(locals, Opening::Open);
    let path = path(variant);
    let values: Vec<TokenStream> = variant
        .fields
        .iter()
        .enumerate()
        .map(|(index, field)| {
            let member = generated_member(&field.member);
            let value = if field.is_config() {
                Body::binding(locals, index)
            } else {
                locals.numbered("open", index)
            };
            quote!(#member: #value)
        })
        .collect();
    quote! {
        #source { #(#members,)* } => {
            #opens
            ::core::result::Result::Ok(#path { #(#values,)* })
        }
    }
}
