//! Code generation for `#[rebuild(blueprint)]` and `#[rebuild(serde)]`: the blueprint
//! type (the config fields, in the type's own shape), `FromBlueprint`, and serde impls
//! that go through the blueprint.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::{Attribute, Ident, Index, Member};

use crate::ast::{Data, Field, Input, Style, Variant};
use crate::attr::BlueprintAttr;
use crate::bound;
use crate::expand::{self, Opening, binding, opened, user_span};

/// The blueprint type's name: `blueprint(name = ...)` or `{Type}Blueprint`.
pub fn name(input: &Input, attr: &BlueprintAttr) -> Ident {
    attr.name.clone().unwrap_or_else(|| {
        let ident = syn::ext::IdentExt::unraw(input.ident);
        format_ident!("{}Blueprint", ident, span = input.ident.span())
    })
}

pub fn expand(input: &Input, attr: &BlueprintAttr) -> TokenStream {
    let name = name(input, attr);
    let definition = definition(input, attr, &name);
    let from_blueprint = impl_from_blueprint(input, &name);
    let serde = if attr.serde.is_some() {
        impl_serde(input, &name)
    } else {
        TokenStream::new()
    };
    quote! {
        #definition
        #from_blueprint
        #serde
    }
}

/// The attributes a blueprint item keeps from the original: docs and `#[serde]`.
fn forwarded(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc") || attr.path().is_ident("serde"))
}

/// Config fields with their member in the blueprint: the same name, or their index
/// among the config fields of a tuple body.
fn config_members<'v, 'a>(variant: &'v Variant<'a>) -> Vec<(usize, &'v Field<'a>, Member)> {
    let mut position = 0;
    let mut out = Vec::new();
    for (index, field) in variant.fields.iter().enumerate() {
        if !field.is_config() {
            continue;
        }
        let member = match &field.member {
            Member::Named(ident) => Member::Named(ident.clone()),
            Member::Unnamed(original) => Member::Unnamed(Index {
                index: position,
                span: original.span,
            }),
        };
        position += 1;
        out.push((index, field, member));
    }
    out
}

/// The blueprint's fields, written as a struct or variant body.
fn body(variant: &Variant) -> TokenStream {
    let fields = variant
        .fields
        .iter()
        .filter(|field| field.is_config())
        .map(|field| {
            let attrs = forwarded(&field.original.attrs);
            let vis = &field.original.vis;
            let ty = field.ty;
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
    let where_clause = &input.generics.where_clause;
    let type_name = syn::ext::IdentExt::unraw(input.ident).to_string();
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
    let header = quote! {
        #[doc = #doc]
        #[derive(::core::clone::Clone #(, #derives)*)]
        #serde
    };
    match &input.data {
        Data::Struct(variant) => {
            let body = body(variant);
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
                let body = body(variant);
                quote!(#(#attrs)* #ident #body)
            });
            quote!(#header #vis enum #name #generics #where_clause { #(#variants,)* })
        }
        Data::Union(_) => TokenStream::new(),
    }
}

/// `Name` or `Name::Variant`, for the blueprint.
fn blueprint_path(name: &Ident, variant: &Variant) -> TokenStream {
    match variant.ident {
        Some(ident) => quote!(#name::#ident),
        None => quote!(#name),
    }
}

fn impl_from_blueprint(input: &Input, name: &Ident) -> TokenStream {
    let ident = input.ident;
    let type_name = syn::ext::IdentExt::unraw(ident).to_string();
    let (impl_generics, ty_generics, _) = input.generics.split_for_impl();
    let where_clause = bound::where_clause(input);
    let blueprint = format_ident!("__blueprint", span = Span::mixed_site());

    let (copy_body, build_body) = match &input.data {
        Data::Enum(variants) if variants.is_empty() => {
            (quote!(match *self {}), quote!(match #blueprint {}))
        }
        data => {
            let variants: &[Variant] = match data {
                Data::Struct(variant) => std::slice::from_ref(variant),
                Data::Enum(variants) => variants,
                Data::Union(_) => &[],
            };
            let copies = variants.iter().map(|variant| copy_arm(name, variant));
            let builds = variants
                .iter()
                .map(|variant| build_arm(&type_name, name, variant));
            (
                quote!(match self { #(#copies)* }),
                quote!(match #blueprint { #(#builds)* }),
            )
        }
    };
    quote! {
        #[automatically_derived]
        impl #impl_generics ::guardian_core::FromBlueprint for #ident #ty_generics #where_clause {
            type Blueprint = #name #ty_generics;

            #[inline]
            fn blueprint(&self) -> Self::Blueprint {
                #copy_body
            }

            #[inline]
            fn from_blueprint(
                #blueprint: Self::Blueprint,
            ) -> ::core::result::Result<Self, ::guardian_core::RebuildError> {
                #build_body
            }
        }
    }
}

/// `Self::V { config: __fieldN, .. } => Blueprint::V { config: copy(__fieldN) }`.
fn copy_arm(name: &Ident, variant: &Variant) -> TokenStream {
    let path = expand::path(variant);
    let target = blueprint_path(name, variant);
    let config = config_members(variant);
    let members = config.iter().map(|(_, field, _)| &field.member);
    let bindings = config.iter().map(|(index, _, _)| binding(*index));
    let values = config.iter().map(|(index, field, member)| {
        let mut bind = binding(*index);
        let ty = field.ty;
        let span = user_span(crate::handles::type_span(ty));
        bind.set_span(crate::handles::type_span(ty).resolved_at(Span::mixed_site()));
        quote_spanned!(span=> #member: ::core::clone::Clone::clone(#bind))
    });
    quote! {
        #path { #(#members: #bindings,)* .. } => #target { #(#values,)* },
    }
}

/// `Blueprint::V { config: __fieldN } => { open resources; Ok(Self::V { .. }) }`.
fn build_arm(type_name: &str, name: &Ident, variant: &Variant) -> TokenStream {
    let path = expand::path(variant);
    let source = blueprint_path(name, variant);
    let config = config_members(variant);
    let members = config.iter().map(|(_, _, member)| member);
    let bindings = config.iter().map(|(index, _, _)| binding(*index));
    let opens = expand::open_resources(type_name, variant, Opening::Fresh);
    let values = variant.fields.iter().enumerate().map(|(index, field)| {
        let member = &field.member;
        let value = if field.is_config() {
            binding(index)
        } else {
            opened(index)
        };
        quote!(#member: #value)
    });
    quote! {
        #source { #(#members: #bindings,)* } => {
            #opens
            ::core::result::Result::Ok(#path { #(#values,)* })
        }
    }
}

fn impl_serde(input: &Input, name: &Ident) -> TokenStream {
    let ident = input.ident;
    let (impl_generics, ty_generics, _) = input.generics.split_for_impl();
    let serialize_where = bound::where_clause_with(
        input,
        vec![quote!(#name #ty_generics: ::guardian_core::__private::serde::Serialize)],
    );
    let de = syn::Lifetime::new("'__de", Span::call_site());
    let mut de_generics = input.generics.clone();
    de_generics.params.insert(
        0,
        syn::GenericParam::Lifetime(syn::LifetimeParam::new(de.clone())),
    );
    let (de_impl_generics, _, _) = de_generics.split_for_impl();
    let deserialize_where = bound::where_clause_with(
        input,
        vec![quote!(#name #ty_generics: ::guardian_core::__private::serde::Deserialize<#de>)],
    );
    let serializer = format_ident!("__serializer", span = Span::mixed_site());
    let deserializer = format_ident!("__deserializer", span = Span::mixed_site());
    let value = format_ident!("__value", span = Span::mixed_site());
    let error = format_ident!("__error", span = Span::mixed_site());
    quote! {
        #[automatically_derived]
        impl #impl_generics ::guardian_core::__private::serde::Serialize for #ident #ty_generics #serialize_where {
            fn serialize<__S>(&self, #serializer: __S) -> ::core::result::Result<__S::Ok, __S::Error>
            where
                __S: ::guardian_core::__private::serde::Serializer,
            {
                ::guardian_core::__private::serde::Serialize::serialize(
                    &<Self as ::guardian_core::FromBlueprint>::blueprint(self),
                    #serializer,
                )
            }
        }

        #[automatically_derived]
        impl #de_impl_generics ::guardian_core::__private::serde::Deserialize<#de> for #ident #ty_generics #deserialize_where {
            fn deserialize<__D>(#deserializer: __D) -> ::core::result::Result<Self, __D::Error>
            where
                __D: ::guardian_core::__private::serde::Deserializer<#de>,
            {
                let #value = <#name #ty_generics as ::guardian_core::__private::serde::Deserialize<#de>>::deserialize(#deserializer)?;
                match <Self as ::guardian_core::FromBlueprint>::from_blueprint(#value) {
                    ::core::result::Result::Ok(#value) => ::core::result::Result::Ok(#value),
                    ::core::result::Result::Err(#error) => ::core::result::Result::Err(
                        ::guardian_core::__private::load_error::<__D::Error>(&#error),
                    ),
                }
            }
        }
    }
}
