//! Derived code compiles whatever the user has shadowed, denied or named like its
//! locals: it names everything by its full path, and no item of the user's scope can
//! capture one of its variables.
//!
//! A pattern's identifier that resolves to a `const` or a unit struct is a constant
//! pattern, not a new variable; below, every local name the expansion uses (and the
//! names it used before) is such an item in this module, next to every shape of
//! derive (struct, tuple, unit, generic enum, blueprint, serde, `#[nested]` values in
//! every container), and the derived code must still compile and behave.
#![no_implicit_prelude]
#![deny(warnings, unused_qualifications, clippy::all, clippy::pedantic)]
#![allow(non_upper_case_globals, non_camel_case_types, dead_code)]

// Shadow the names generated code could otherwise pick up.
type Result = ();
type Option = ();
struct Ok;
struct Err;
struct Some;
struct None;
struct Box;
trait Clone {}
trait Copy {}
trait Drop {}
mod core {}
mod std {}
mod guardian {}
mod __private {}

/// Items named like the expansion's variables: constants and unit structs, which
/// would turn a `let` or a `match` arm into a constant pattern.
macro_rules! shadow_the_expansions_locals {
    () => {
        const __guardian_field0: u8 = 0;
        const __guardian_field1: u8 = 1;
        const __guardian_field2: u8 = 2;
        const __guardian_field3: u8 = 3;
        const __guardian_open0: u8 = 0;
        const __guardian_open1: u8 = 1;
        const __guardian_open2: u8 = 2;
        const __guardian_open3: u8 = 3;
        struct __guardian_closing;
        struct __guardian_resource;
        struct __guardian_error;
        struct __guardian_factory;
        struct __guardian_blueprint;
        struct __guardian_serializer;
        struct __guardian_deserializer;
        struct __guardian_value;
        const __guardian_result0: u8 = 0;
        const __guardian_result1: u8 = 1;
        const __guardian_result2: u8 = 2;
        const __guardian_result3: u8 = 3;
        struct __guardian_failures;
        static __guardian_not_clone: u8 = 0;
        // The concurrent join of async types.
        const __guardian_future0: u8 = 0;
        const __guardian_future1: u8 = 1;
        const __guardian_future2: u8 = 2;
        const __guardian_future3: u8 = 3;
        const __guardian_slot0: u8 = 0;
        const __guardian_slot1: u8 = 1;
        const __guardian_slot2: u8 = 2;
        const __guardian_slot3: u8 = 3;
        const __guardian_factory0: u8 = 0;
        const __guardian_factory1: u8 = 1;
        const __guardian_factory2: u8 = 2;
        const __guardian_factory3: u8 = 3;
        struct __guardian_cx;
    };
}

shadow_the_expansions_locals!();

// The names of earlier versions of the expansion (some of which serde_derive's own
// expansion binds too: see `saved` below).
const __field0: u8 = 0;
const __field1: u8 = 1;
const __open1: u8 = 1;
struct __factory;
struct __resource;
struct __error;
struct __closing;
struct __blueprint;

use ::guardian_core::{FromBlueprint, Rebuild};

/// A factory that opens the bytes of its recipe: enough to exercise the expansion.
struct Bytes;

impl ::guardian_core::Factory for Bytes {
    type Config = str;
    type Resource = ::std::vec::Vec<u8>;
    type Error = ::std::io::Error;

    fn open(&self, name: &str) -> ::std::io::Result<::std::vec::Vec<u8>> {
        ::std::result::Result::Ok(::std::borrow::ToOwned::to_owned(name.as_bytes()))
    }
}

/// A factory that needs no recipe.
struct Empty;

impl ::guardian_core::Factory for Empty {
    type Config = ();
    type Resource = ::std::vec::Vec<u8>;
    type Error = ::std::io::Error;

    fn open(&self, (): &()) -> ::std::io::Result<::std::vec::Vec<u8>> {
        ::std::result::Result::Ok(::std::vec::Vec::new())
    }
}

/// Named fields, every role, fields named like the generated locals too.
#[derive(Rebuild)]
#[rebuild(blueprint)]
pub struct Named {
    #[config]
    name: ::std::string::String,
    #[config]
    __field0: u8,
    #[resource(factory = Bytes, from = name)]
    __guardian_open2: ::std::vec::Vec<u8>,
    #[resource(factory = Empty)]
    __closing: ::std::vec::Vec<u8>,
}

/// Tuple fields.
#[derive(Rebuild)]
#[rebuild(blueprint)]
pub struct Tuple(
    #[config] ::std::string::String,
    #[resource(factory = Bytes, from = 0)] ::std::vec::Vec<u8>,
);

/// A unit struct.
#[derive(Rebuild)]
pub struct Nothing;

/// Config only: no variable at all in the expansion.
#[derive(Rebuild)]
pub struct ConfigOnly {
    #[config]
    retries: u8,
}

/// Generics of every kind, with a where clause.
#[derive(Rebuild)]
#[rebuild(blueprint)]
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
        #[resource(factory = Bytes, from = name)]
        bytes: ::std::vec::Vec<u8>,
    },
    /// A tuple variant.
    Pair(
        #[config] u8,
        #[resource(factory = Empty)] ::std::vec::Vec<u8>,
    ),
    /// A unit variant.
    Empty,
}

/// Nested values in every kind of container, with a blueprint.
#[derive(Rebuild)]
#[rebuild(blueprint)]
pub struct Composed {
    #[config]
    name: ::std::string::String,
    #[nested]
    one: Named,
    #[nested]
    many: ::std::vec::Vec<Tuple>,
    #[nested]
    maybe: ::std::option::Option<::std::boxed::Box<Named>>,
    #[nested]
    by_key: ::std::collections::BTreeMap<u8, Named>,
    #[nested]
    hashed: ::std::collections::HashMap<u8, Tuple>,
    #[nested]
    queue: ::std::collections::VecDeque<Tuple>,
    #[nested]
    tuple: NestedTuple,
}

/// Nested values in the variants of a generic enum (`T: Rebuild` inferred).
#[derive(Rebuild)]
pub enum NestedEnum<T> {
    /// A tuple variant.
    One(#[nested] T),
    /// A struct variant beside a config field.
    Many {
        /// The count.
        #[config]
        n: u8,
        /// The nested values.
        #[nested]
        items: [T; 2],
    },
    /// A unit variant.
    Nothing,
}

/// Nested values in a tuple struct.
#[derive(Rebuild)]
#[rebuild(blueprint)]
pub struct NestedTuple(
    #[nested] Named,
    #[config] u8,
    #[nested] ::std::vec::Vec<Tuple>,
);

fn named(name: &str) -> Named {
    Named {
        name: ::std::borrow::ToOwned::to_owned(name),
        __field0: 0,
        __guardian_open2: ::std::vec::Vec::new(),
        __closing: ::std::vec::Vec::new(),
    }
}

fn tuple(name: &str) -> Tuple {
    Tuple(
        ::std::borrow::ToOwned::to_owned(name),
        ::std::vec::Vec::new(),
    )
}

#[test]
fn nested_code_runs_under_shadowing()
-> ::std::result::Result<(), ::std::boxed::Box<dyn ::std::error::Error>> {
    use ::std::assert_eq;
    let composed = Composed {
        name: ::std::borrow::ToOwned::to_owned("c"),
        one: named("one"),
        many: ::std::vec![tuple("m0"), tuple("m1")],
        maybe: ::std::option::Option::Some(::std::boxed::Box::new(named("maybe"))),
        by_key: ::std::iter::FromIterator::from_iter([(1, named("k1"))]),
        hashed: ::std::iter::FromIterator::from_iter([(2, tuple("h2"))]),
        queue: ::std::iter::FromIterator::from_iter([tuple("q0")]),
        tuple: NestedTuple(named("g"), 3, ::std::vec![tuple("gt")]),
    };
    let copy = composed.rebuild()?;
    assert_eq!(copy.one.__guardian_open2, b"one");
    assert_eq!(copy.many[1].1, b"m1");
    assert_eq!(copy.by_key[&1].__guardian_open2, b"k1");
    assert_eq!(copy.hashed[&2].1, b"h2");
    assert_eq!(copy.queue[0].1, b"q0");
    assert_eq!(copy.tuple.2[0].1, b"gt");
    let built = Composed::from_blueprint(composed.blueprint())?;
    assert_eq!(built.tuple.0.__guardian_open2, b"g");
    built.close()?;
    copy.close()?;
    composed.close()?;

    let many: NestedEnum<Tuple> = NestedEnum::Many {
        n: 2,
        items: [tuple("a"), tuple("b")],
    };
    match many.rebuild()? {
        NestedEnum::Many { n, items } => {
            assert_eq!((n, items[1].1.as_slice()), (2, &b"b"[..]));
            items.close()?;
        }
        NestedEnum::One(_) | NestedEnum::Nothing => ::std::panic!("the variant changed"),
    }
    many.close()?;
    NestedEnum::One(tuple("o")).rebuild()?.close()?;
    NestedEnum::<Tuple>::Nothing.rebuild()?.close()?;
    ::std::result::Result::Ok(())
}

#[test]
fn derived_code_runs_under_shadowing()
-> ::std::result::Result<(), ::std::boxed::Box<dyn ::std::error::Error>> {
    use ::std::assert_eq;
    let named = Named {
        name: ::std::borrow::ToOwned::to_owned("n"),
        __field0: 7,
        __guardian_open2: ::std::vec![],
        __closing: ::std::vec![1],
    };
    let copy = named.rebuild()?;
    assert_eq!(copy.__guardian_open2, b"n");
    assert_eq!(copy.__closing, b"");
    assert_eq!(copy.__field0, 7);
    let built = Named::from_blueprint(named.blueprint())?;
    assert_eq!(built.__guardian_open2, b"n");
    built.close()?;
    copy.close()?;
    named.close()?;

    let tuple = Tuple(::std::borrow::ToOwned::to_owned("t"), ::std::vec![]);
    assert_eq!(tuple.rebuild()?.1, b"t");
    assert_eq!(Tuple::from_blueprint(tuple.blueprint())?.1, b"t");
    tuple.close()?;

    Nothing.rebuild()?.close()?;
    assert_eq!(ConfigOnly { retries: 3 }.rebuild()?.retries, 3);

    let generic: Generic<'_, u8, 2> = Generic::Both {
        name: "g",
        items: [1, 2],
        bytes: ::std::vec![],
    };
    match generic.rebuild()? {
        Generic::Both { name, items, bytes } => {
            assert_eq!((name, items, bytes.as_slice()), ("g", [1, 2], &b"g"[..]));
        }
        Generic::Pair(..) | Generic::Empty => ::std::panic!("rebuild changed the variant"),
    }
    match Generic::<'_, u8, 2>::from_blueprint(generic.blueprint())? {
        Generic::Both { bytes, .. } => assert_eq!(bytes, b"g"),
        Generic::Pair(..) | Generic::Empty => ::std::panic!("from_blueprint changed the variant"),
    }
    generic.close()?;
    let pair: Generic<'_, u8, 2> = Generic::Pair(4, ::std::vec![9]);
    match pair.rebuild()? {
        Generic::Pair(number, bytes) => assert_eq!((number, bytes.len()), (4, 0)),
        Generic::Both { .. } | Generic::Empty => ::std::panic!("rebuild changed the variant"),
    }
    pair.close()?;
    ::std::result::Result::Ok(())
}

/// A factory that opens the bytes of its recipe, asynchronously.
struct AsyncBytes;

impl ::guardian_core::AsyncFactory for AsyncBytes {
    type Config = str;
    type Resource = ::std::vec::Vec<u8>;
    type Error = ::std::io::Error;

    async fn open(&self, name: &str) -> ::std::io::Result<::std::vec::Vec<u8>> {
        ::std::result::Result::Ok(::std::borrow::ToOwned::to_owned(name.as_bytes()))
    }
}

/// Async, every open at once, with a nested async value and a blueprint.
#[derive(Rebuild)]
#[rebuild(async, blueprint)]
pub struct Concurrent {
    #[config]
    name: ::std::string::String,
    #[resource(factory = AsyncBytes, from = name)]
    first: ::std::vec::Vec<u8>,
    #[resource(factory = AsyncBytes, from = name)]
    second: ::std::vec::Vec<u8>,
    #[nested]
    inner: InOrder,
}

/// Async, one open after another, an enum.
#[derive(Rebuild)]
#[rebuild(async, sequential, blueprint)]
pub enum InOrder {
    /// Both roles.
    Both(
        #[config] ::std::string::String,
        #[resource(factory = AsyncBytes, from = 0)] ::std::vec::Vec<u8>,
    ),
    /// Nothing to open.
    Empty,
}

/// Polls a future that never waits to completion.
fn ready<F: ::std::future::Future>(future: F) -> F::Output {
    let mut future = ::std::pin::pin!(future);
    let mut cx = ::std::task::Context::from_waker(::std::task::Waker::noop());
    loop {
        if let ::std::task::Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

#[test]
fn async_code_runs_under_shadowing()
-> ::std::result::Result<(), ::std::boxed::Box<dyn ::std::error::Error>> {
    use ::guardian_core::{AsyncFromBlueprint, AsyncRebuild};
    let value = Concurrent {
        name: ::std::borrow::ToOwned::to_owned("c"),
        first: ::std::vec![],
        second: ::std::vec![],
        inner: InOrder::Both(::std::borrow::ToOwned::to_owned("i"), ::std::vec![]),
    };
    let copy = ready(value.rebuild())?;
    ::std::assert_eq!((&*copy.first, &*copy.second), (&b"c"[..], &b"c"[..]));
    match &copy.inner {
        InOrder::Both(_, bytes) => ::std::assert_eq!(bytes, b"i"),
        InOrder::Empty => ::std::panic!("rebuild changed the variant"),
    }
    let built = ready(Concurrent::from_blueprint(value.blueprint()))?;
    ready(built.close())?;
    ready(copy.close())?;
    ready(value.close())?;
    ready(InOrder::Empty.close())?;
    ::std::result::Result::Ok(())
}

/// `#[rebuild(serde)]` in a module of its own: the blueprint's serde impls are
/// `serde_derive`'s, whose expansion binds `__field0`, `__value`... and names its
/// generics `__S` and `__D` (serde's own reserved names, which no `#[derive(Serialize)]`
/// type may use). Our names are shadowed here as above.
#[cfg(feature = "serde")]
mod saved {
    shadow_the_expansions_locals!();

    #[derive(::guardian_core::Rebuild)]
    #[rebuild(serde)]
    pub struct Saved<S, D> {
        #[config]
        pub name: ::std::string::String,
        #[config]
        pub s: ::std::marker::PhantomData<S>,
        #[config]
        pub d: ::std::marker::PhantomData<D>,
        #[resource(factory = super::Bytes, from = name)]
        pub bytes: ::std::vec::Vec<u8>,
    }
}

#[cfg(feature = "serde")]
#[test]
fn serde_code_runs_under_shadowing()
-> ::std::result::Result<(), ::std::boxed::Box<dyn ::std::error::Error>> {
    use saved::Saved;
    let saved: Saved<u8, u16> = Saved {
        name: ::std::borrow::ToOwned::to_owned("s"),
        s: ::std::marker::PhantomData,
        d: ::std::marker::PhantomData,
        bytes: ::std::vec![],
    };
    let json = ::serde_json::to_string(&saved)?;
    ::std::assert_eq!(json, r#"{"name":"s","s":null,"d":null}"#);
    let loaded: Saved<u8, u16> = ::serde_json::from_str(&json)?;
    ::std::assert_eq!(loaded.bytes, b"s");
    loaded.close()?;
    saved.close()?;
    ::std::result::Result::Ok(())
}
