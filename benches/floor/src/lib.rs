//! The floor of a syn-based derive, for `benches/compile_time.sh`: what any derive
//! that parses its input with syn costs to build, measured in the same run as
//! guardian's.
//!
//! - [`SynFloorClone`](derive@SynFloorClone) parses the input with syn (the features
//!   guardian-derive uses) and emits the hand-written `#[inline] impl Clone`, each
//!   field cloned with `::core::clone::Clone::clone(&self.field)` and `T: Clone` on
//!   each type parameter. A derive cannot know which fields are `Copy` (the hand-written
//!   impl copies `self.id`), nor call `.clone()` without risking an inherent method of
//!   the same name, so this is what `#[derive(Clone)]` itself emits.
//! - [`Nothing`](derive@Nothing) takes its input and emits nothing: the cost of calling
//!   a proc macro at all, placed beside hand-written impls.

use proc_macro::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields, parse_macro_input};

/// Derives `Clone` as the floor does (see the crate docs). `#[config]` on a field is
/// accepted and ignored, so the floor can be measured on guardian's own input too.
#[proc_macro_derive(SynFloorClone, attributes(config))]
pub fn syn_floor_clone(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let ident = &input.ident;
    let mut generics = input.generics.clone();
    for param in generics.type_params_mut() {
        param.bounds.push(syn::parse_quote!(::core::clone::Clone));
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let Data::Struct(data) = &input.data else {
        return quote!(::core::compile_error!("the floor derives structs only");).into();
    };
    let body = match &data.fields {
        Fields::Named(fields) => {
            let names = fields.named.iter().map(|field| &field.ident);
            quote!(Self { #(#names: ::core::clone::Clone::clone(&self.#names),)* })
        }
        Fields::Unnamed(fields) => {
            let indexes = (0..fields.unnamed.len()).map(syn::Index::from);
            quote!(Self( #(::core::clone::Clone::clone(&self.#indexes),)* ))
        }
        Fields::Unit => quote!(Self),
    };
    quote! {
        impl #impl_generics ::core::clone::Clone for #ident #ty_generics #where_clause {
            #[inline]
            fn clone(&self) -> Self {
                #body
            }
        }
    }
    .into()
}

/// Emits nothing (see the crate docs).
#[proc_macro_derive(Nothing)]
pub fn nothing(input: TokenStream) -> TokenStream {
    drop(input);
    TokenStream::new()
}
