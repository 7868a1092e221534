//! Code generation for `#[rebuild(serde)]`: `Serialize` writes the blueprint (the
//! config only), `Deserialize` reads a blueprint and builds the value from it, opening
//! every resource (`FromBlueprint::from_blueprint`).
//!
//! An async type is `Serialize` the same way, but `Deserialize` cannot await its
//! opens: it gets an impl whose bound never holds and whose failure says to load in
//! two steps (deserialize the blueprint, then `from_blueprint(..).await`), rather
//! than serde's suggestion to derive `Deserialize`.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::Ident;

use super::blueprint::impl_for;
use super::hygiene::Locals;
use super::item::{flavor, lint_attrs, type_ident};
use crate::ast::Input;
use crate::bound;

pub fn expand(input: &Input, name: &Ident, locals: &mut Locals) -> TokenStream {
    let ident = type_ident(input);
    let (impl_generics, ty_generics, _) = input.generics.split_for_impl();
    let flavor = flavor(input);
    let from = flavor.blueprint_trait();
    let serialize_where = bound::where_clause(
        input,
        impl_for(flavor),
        &[quote!(#name #ty_generics: ::guardian_core::__private::serde::Serialize)],
    );
    let de = syn::Lifetime::new("'__guardian_de", Span::call_site());
    let mut de_generics = input.generics.clone();
    de_generics.params.insert(
        0,
        syn::GenericParam::Lifetime(syn::LifetimeParam::new(de.clone())),
    );
    let (de_impl_generics, _, _) = de_generics.split_for_impl();
    let deserialize_where = if flavor.is_async() {
        let lifetime = syn::Lifetime::new("'__guardian", Span::mixed_site());
        let bound = quote! {
            for<#lifetime> ::guardian_core::__private::AsyncLoad<#lifetime, Self>:
                ::guardian_core::__private::LoadedInTwoSteps<Self, #name #ty_generics>
        };
        bound::where_clause(input, impl_for(flavor), &[bound])
    } else {
        bound::where_clause(
            input,
            impl_for(flavor),
            &[quote!(#name #ty_generics: ::guardian_core::__private::serde::Deserialize<#de>)],
        )
    };
    let serializer = locals.named("serializer");
    let deserializer = locals.named("deserializer");
    let value = locals.named("value");
    let error = locals.named("error");
    let lints = lint_attrs(input);
    let load = if flavor.is_async() {
        // Never runs: the impl's bound never holds (see the module's docs). Should it
        // run anyway, it refuses with serde's error rather than panicking.
        quote! {
            let _ = #deserializer;
            ::core::result::Result::Err(
                <__GuardianDeserializer::Error as ::guardian_core::__private::serde::de::Error>::custom(
                    "an async value is loaded in two steps: deserialize its blueprint, then `from_blueprint(..).await`",
                ),
            )
        }
    } else {
        quote! {
            let #value = <#name #ty_generics as ::guardian_core::__private::serde::Deserialize<#de>>::deserialize(#deserializer)?;
            match <Self as ::guardian_core::FromBlueprint>::from_blueprint(#value) {
                ::core::result::Result::Ok(#value) => ::core::result::Result::Ok(#value),
                ::core::result::Result::Err(#error) => ::core::result::Result::Err(
                    ::guardian_core::__private::load_error::<__GuardianDeserializer::Error>(&#error),
                ),
            }
        }
    };
    let deserialize = quote! {
        #[automatically_derived]
        #lints
        impl #de_impl_generics ::guardian_core::__private::serde::Deserialize<#de> for #ident #ty_generics #deserialize_where {
            fn deserialize<__GuardianDeserializer>(
                #deserializer: __GuardianDeserializer,
            ) -> ::core::result::Result<Self, __GuardianDeserializer::Error>
            where
                __GuardianDeserializer: ::guardian_core::__private::serde::Deserializer<#de>,
            {
                #load
            }
        }
    };
    quote! {
        #[automatically_derived]
        #lints
        impl #impl_generics ::guardian_core::__private::serde::Serialize for #ident #ty_generics #serialize_where {
            fn serialize<__GuardianSerializer>(
                &self,
                #serializer: __GuardianSerializer,
            ) -> ::core::result::Result<__GuardianSerializer::Ok, __GuardianSerializer::Error>
            where
                __GuardianSerializer: ::guardian_core::__private::serde::Serializer,
            {
                ::guardian_core::__private::serde::Serialize::serialize(
                    &<Self as #from>::blueprint(self),
                    #serializer,
                )
            }
        }

        #deserialize
    }
}
