//! The lint attributes of a type reach the items derived for it, as they do for
//! `#[derive(Clone, Debug)]`: this file builds under `deny(warnings)` with a type that
//! allows a lint its generated items would otherwise trip, a deprecated type, a type
//! with a deprecated variant, and a deprecated field type that the inferred where
//! clause repeats. (A build that warns fails here: the proof is that it compiles.)
#![deny(warnings)]

use guardian_core::{FromBlueprint, Rebuild};

/// A lowercase type name: its blueprint, `recipe_bookBlueprint`, is not camel case
/// either.
#[allow(non_camel_case_types)]
#[derive(Clone, Debug, Rebuild)]
#[rebuild(blueprint)]
struct recipe_book {
    #[config]
    title: String,
}

/// A type that is itself deprecated: neither the derives nor their impls warn.
#[deprecated = "use the new one"]
#[derive(Clone, Debug, Rebuild)]
#[rebuild(blueprint)]
struct OldSettings {
    #[config]
    retries: u8,
}

/// An enum with a deprecated variant.
#[derive(Clone, Debug, Rebuild)]
enum Mode {
    Fast,
    #[deprecated = "use Fast"]
    Slow(#[config] u8),
}

#[deprecated = "a deprecated field type"]
#[derive(Clone, Debug, PartialEq)]
struct Legacy<T>(T);

/// A generic field of a deprecated type: the inferred bound names `Legacy<T>`.
#[allow(deprecated)]
#[derive(Clone, Debug, Rebuild)]
struct Holder<T> {
    #[config]
    legacy: Legacy<T>,
    #[config]
    #[deprecated = "a deprecated field"]
    old: u8,
}

#[test]
#[allow(deprecated)]
fn derived_items_carry_the_types_lint_attributes() -> Result<(), guardian_core::RebuildError> {
    let book = recipe_book {
        title: "Gambits".into(),
    };
    assert_eq!(
        recipe_book::from_blueprint(book.blueprint())?.title,
        "Gambits"
    );
    assert_eq!(OldSettings { retries: 2 }.rebuild()?.retries, 2);
    assert!(matches!(Mode::Slow(3).rebuild()?, Mode::Slow(3)));
    assert!(matches!(Mode::Fast.rebuild()?, Mode::Fast));
    let holder = Holder {
        legacy: Legacy(1_u8),
        old: 4,
    };
    let copy = holder.rebuild()?;
    assert_eq!((copy.legacy, copy.old), (Legacy(1), 4));
    Ok(())
}
