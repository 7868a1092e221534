//! The expansion's local names, and the shield that keeps the user's items from
//! capturing them.
//!
//! Every variable the expansion binds (`let`, `match` arms, function parameters) has
//! mixed-site hygiene, so the user's *variables* can neither see nor shadow it. Items
//! are another matter: mixed-site hygiene resolves item names at the call site, and
//! an identifier in a pattern that resolves to a `const` or a unit struct is a
//! constant pattern, not a new variable. A `const __guardian_field0` next to the
//! derive would turn `let __guardian_field0 = ...` into a refutable pattern (E0005) or
//! a comparison. So each item that binds variables is wrapped in
//! `const _: () = { use ::guardian_core::__private::{binding as NAME, ...}; ITEM };`:
//! inside, every such name resolves to that function first, and a pattern naming a
//! function binds a fresh variable. An item without variables (the `Rebuild` impl of
//! a struct whose fields are all `#[config]`, read as `self.field`) needs no shield.
//!
//! The names start with `__guardian_`, so the shield hides nothing the user means to
//! reach from inside a factory expression.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

/// The local names an item uses, collected while it is generated.
#[derive(Default)]
pub struct Locals {
    names: Vec<Ident>,
}

impl Locals {
    /// The local `__guardian_{name}`, recorded for the shield.
    pub fn named(&mut self, name: &str) -> Ident {
        self.intern(&format!("__guardian_{name}"))
    }

    /// The local `__guardian_{name}{index}` (`field3`, `open3`).
    pub fn numbered(&mut self, name: &str, index: usize) -> Ident {
        self.intern(&format!("__guardian_{name}{index}"))
    }

    fn intern(&mut self, name: &str) -> Ident {
        if let Some(ident) = self.names.iter().find(|ident| *ident == name) {
            return ident.clone();
        }
        let ident = Ident::new(name, Span::mixed_site());
        self.names.push(ident.clone());
        ident
    }

    /// `item`, inside a shield of every name recorded (see the module docs), or
    /// `item` alone when it binds nothing.
    pub fn shield(&self, item: TokenStream) -> TokenStream {
        if self.names.is_empty() {
            return item;
        }
        let names = &self.names;
        quote! {
            #[doc(hidden)]
            const _: () = {
                #[allow(unused_imports)]
                use ::guardian_core::__private::{#(binding as #names),*};
                #item
            };
        }
    }
}
