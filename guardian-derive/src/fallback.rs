//! On error: the errors, plus a stub impl of `Rebuild` so that the rest of the user's
//! crate (which calls `rebuild()` and `close()`) type-checks and the build shows only
//! the real mistakes, not a cascade of "no method named `rebuild`".

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

pub fn expand(input: &DeriveInput, error: &syn::Error) -> TokenStream {
    let errors = error.to_compile_error();
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        #errors

        #[automatically_derived]
        impl #impl_generics ::guardian_core::Rebuild for #ident #ty_generics #where_clause {
            fn rebuild(&self) -> ::core::result::Result<Self, ::guardian_core::RebuildError> {
                ::core::unreachable!("`#[derive(Rebuild)]` reported errors")
            }

            fn close(self) -> ::core::result::Result<(), ::guardian_core::CloseError> {
                ::core::unreachable!("`#[derive(Rebuild)]` reported errors")
            }
        }
    }
}
