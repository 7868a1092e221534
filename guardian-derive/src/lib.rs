//! The `#[derive(Rebuild)]` macro of `guardian-core`.
//!
//! Use it through `guardian_core::Rebuild`, which re-exports it; the attributes and the
//! errors it reports are documented there. The crate is organised as
//! parse (`ast`, `attr`) → validate (`valid`, collecting every error in `ctxt`) →
//! expand (`expand`, `bound`), with `fallback` emitting a stub impl beside the errors
//! so that one mistake gives one error, not a cascade.

mod ast;
mod attr;
mod blueprint;
mod bound;
mod ctxt;
mod expand;
mod fallback;
mod handles;
mod valid;

#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

/// Derives `guardian_core::Rebuild`: `#[config]` fields are cloned, `#[resource]`
/// fields reopened through their factory. See `guardian_core`'s docs.
#[proc_macro_derive(Rebuild, attributes(config, resource, rebuild, serde))]
pub fn derive_rebuild(input: TokenStream) -> TokenStream {
    expand::derive(input.into()).into()
}
