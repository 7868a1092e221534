//! Derived code compiles whatever the user has shadowed or denied: it names
//! everything by its full path and its locals cannot collide with the user's names.
#![no_implicit_prelude]
#![deny(warnings, unused_qualifications, clippy::all, clippy::pedantic)]

// Shadow the names generated code could otherwise pick up.
#[allow(dead_code)]
type Result = ();
#[allow(dead_code)]
type Option = ();
#[allow(dead_code, non_camel_case_types)]
struct Ok;
#[allow(dead_code, non_camel_case_types)]
struct Err;
#[allow(dead_code, non_camel_case_types)]
struct Some;
#[allow(dead_code, non_camel_case_types)]
struct None;
#[allow(dead_code)]
struct Box;
#[allow(dead_code)]
trait Clone {}
#[allow(dead_code)]
trait Copy {}
#[allow(dead_code)]
mod core {}
#[allow(dead_code)]
mod std {}
#[allow(dead_code)]
mod guardian {}
#[allow(dead_code)]
mod __private {}

use ::guardian_core::Rebuild;

/// A factory that counts nothing and opens a unit: enough to exercise the expansion.
struct Unit;

impl ::guardian_core::Factory for Unit {
    type Config = str;
    type Resource = ::std::vec::Vec<u8>;
    type Error = ::std::io::Error;

    fn open(&self, name: &str) -> ::std::io::Result<::std::vec::Vec<u8>> {
        ::std::result::Result::Ok(name.as_bytes().to_vec())
    }
}

/// Named fields, one of each role, with locals that look like the generated ones.
#[derive(Rebuild)]
pub struct Named {
    #[config]
    name: ::std::string::String,
    #[config]
    __field0: u8,
    #[resource(factory = Unit, from = name)]
    __open2: ::std::vec::Vec<u8>,
    #[resource(factory = Unit, from = name)]
    __closing: ::std::vec::Vec<u8>,
}

/// Tuple fields.
#[derive(Rebuild)]
pub struct Tuple(
    #[config] ::std::string::String,
    #[resource(factory = Unit, from = 0)] ::std::vec::Vec<u8>,
);

/// A unit struct.
#[derive(Rebuild)]
pub struct Nothing;

/// Generics of every kind, with a where clause.
#[derive(Rebuild)]
pub enum Generic<'a, T, const N: usize>
where
    T: ::std::fmt::Debug,
{
    /// A variant with both roles.
    Both {
        /// The recipe.
        #[config]
        name: &'a str,
        /// Generic config.
        #[config]
        items: [T; N],
        /// The resource.
        #[resource(factory = Unit, from = name)]
        bytes: ::std::vec::Vec<u8>,
    },
    /// A unit variant.
    Empty,
}

#[test]
fn derived_code_runs_under_shadowing()
-> ::std::result::Result<(), ::std::boxed::Box<dyn ::std::error::Error>> {
    use ::std::assert_eq;
    let named = Named {
        name: ::std::borrow::ToOwned::to_owned("n"),
        __field0: 7,
        __open2: ::std::vec![],
        __closing: ::std::vec![],
    };
    let copy = named.rebuild()?;
    assert_eq!(copy.__open2, b"n");
    assert_eq!(copy.__closing, b"n");
    assert_eq!(copy.__field0, 7);
    copy.close()?;
    named.close()?;

    let tuple = Tuple(::std::borrow::ToOwned::to_owned("t"), ::std::vec![]);
    assert_eq!(tuple.rebuild()?.1, b"t");
    tuple.close()?;

    Nothing.rebuild()?.close()?;

    let generic: Generic<'_, u8, 2> = Generic::Both {
        name: "g",
        items: [1, 2],
        bytes: ::std::vec![],
    };
    match generic.rebuild()? {
        Generic::Both { name, items, bytes } => {
            assert_eq!((name, items, bytes.as_slice()), ("g", [1, 2], &b"g"[..]));
        }
        Generic::Empty => ::std::panic!("rebuild changed the variant"),
    }
    generic.close()?;
    ::std::result::Result::Ok(())
}
