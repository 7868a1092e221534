//! What `#[derive(Rebuild)]` expands to calls, and nothing else. Not public API: the
//! names here may change in any release.
//!
//! Generated code names these by their full path (`::guardian_core::__private::...`),
//! so it works whatever the user has imported or shadowed. The generic helpers are
//! tiny and `#[inline]`; everything else (building errors, recording failures) lives
//! in one non-generic, `#[cold]` function each, so a derive costs one call per field,
//! not a copy of the bookkeeping per field.

use crate::error::{BoxError, CloseError};
use crate::{Factory, RebuildError};

/// The resource a factory opens must be the field's type; this trait only exists to
/// say so, once, on the field, in words that point at the fix.
#[diagnostic::on_unimplemented(
    message = "the factory `{Self}` does not open a `{R}`",
    label = "this `#[resource]` field's type must be the factory's `Resource`",
    note = "change the field's type to the factory's `Factory::Resource`, or use a factory that opens a `{R}`"
)]
pub trait Opens<R>: Factory<Resource = R> {}

#[diagnostic::do_not_recommend]
impl<F: Factory<Resource = R> + ?Sized, R> Opens<R> for F {}

/// A factory checked to open the field's type `R`.
///
/// Generated code reaches a factory only through [`field`], the one place that states
/// `F: Opens<R>`, so a factory that does not fit is one error (rustc merges the
/// identical reports of `rebuild` and `close`), not a cascade: the methods below carry
/// no bound that could fail again. They call through function pointers that are
/// constants after inlining, so optimised code calls the factory directly.
pub struct Field<'f, F: ?Sized, C: ?Sized, R, E> {
    factory: &'f F,
    open: fn(&F, &C) -> Result<R, E>,
    reopen: fn(&F, &C, &R) -> Result<R, E>,
    close: fn(&F, R) -> Result<(), E>,
}

/// Checks that `factory` opens the field's type `R`.
#[inline]
pub fn field<F, R>(factory: &F) -> Field<'_, F, F::Config, R, F::Error>
where
    F: Opens<R> + ?Sized,
{
    Field {
        factory,
        open: F::open,
        reopen: F::reopen,
        close: F::close,
    }
}

impl<F: ?Sized, C: ?Sized, R, E> Field<'_, F, C, R, E>
where
    E: std::error::Error + Send + Sync + 'static,
{
    /// `Factory::open`.
    #[inline]
    pub fn open(self, config: &C) -> Result<R, E> {
        (self.open)(self.factory, config)
    }

    /// `Factory::reopen`.
    #[inline]
    pub fn reopen(self, config: &C, live: &R) -> Result<R, E> {
        (self.reopen)(self.factory, config, live)
    }

    /// `Factory::close`, recording a failure under the field's name.
    #[inline]
    pub fn close(self, errors: &mut CloseError, field: &'static str, resource: R) {
        if let Err(error) = (self.close)(self.factory, resource) {
            errors.push_box(field, Box::new(error));
        }
    }
}

/// The collector of close failures for one value (or one rollback).
#[inline]
#[must_use]
pub fn closing(type_name: &'static str, variant: Option<&'static str>) -> CloseError {
    let errors = CloseError::new(type_name);
    match variant {
        Some(variant) => errors.in_variant(variant),
        None => errors,
    }
}

/// The error of a rebuild whose field `field` failed to open, after the rollback
/// recorded in `cleanup` (the collector from [`closing`]).
#[cold]
#[inline(never)]
pub fn open_failed<E>(cleanup: CloseError, field: &'static str, error: E) -> RebuildError
where
    E: std::error::Error + Send + Sync + 'static,
{
    rebuild_error(cleanup, field, Box::new(error))
}

#[cold]
#[inline(never)]
fn rebuild_error(cleanup: CloseError, field: &'static str, error: BoxError) -> RebuildError {
    let err = RebuildError::from_box(cleanup.type_name(), cleanup.variant(), field, error);
    if cleanup.failures().is_empty() {
        err
    } else {
        err.with_cleanup(cleanup)
    }
}

/// The factory value of a `#[resource(factory = ...)]`, checked to be a [`Factory`]
/// where the user wrote it.
#[inline]
pub fn factory<F: IsFactory + ?Sized>(factory: &F) -> &F {
    factory
}

/// [`Factory`], under a name whose only impl is hidden from diagnostics, so that a
/// value that is not a factory gets one message (not a list of every factory that
/// happens to exist, which would change with the enabled features).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a guardian `Factory`",
    label = "`factory = ...` must give a value whose type implements `guardian_core::Factory`",
    note = "use a built-in factory (`guardian_core::fs`, `net`, `sync`), or implement `guardian_core::Factory` for `{Self}` (only `open` is required)"
)]
pub trait IsFactory: Factory {}

#[diagnostic::do_not_recommend]
impl<F: Factory + ?Sized> IsFactory for F {}

/// Implemented here for every `Copy` type, and by `#[derive(Rebuild)]` for the
/// derived type: the two impls conflict (E0119) exactly when the derived type is
/// `Copy`, which a `Rebuild` type must never be (a copy would share every handle and
/// bypass `rebuild()` and `close()`: remove `Copy` and copy with `rebuild()`).
pub trait RebuildTypeMustNotBeCopy {}

impl<T: Copy> RebuildTypeMustNotBeCopy for T {}

/// Implemented here for every `Clone` type, and by `#[derive(Rebuild)]` for a derived
/// type with `#[resource]` fields: the two impls conflict (E0119) exactly when such a
/// type is `Clone` (cloning would share or duplicate its handles: remove `Clone` and
/// copy with `rebuild()`).
pub trait TypeWithResourcesMustNotBeClone {}

impl<T: Clone> TypeWithResourcesMustNotBeClone for T {}

/// The config of a `#[resource]` without `from`: `()`, for a factory that needs no
/// recipe. A factory that does need one is one error, on the factory.
#[inline]
#[must_use]
pub fn no_config<F>(factory: &F) -> &'static F::Config
where
    F: OpensFromNothing + ?Sized,
{
    let _ = factory;
    &()
}

/// A factory whose `Config` is `()`; this trait only exists to say, on the factory,
/// that `from = ...` is missing.
#[diagnostic::on_unimplemented(
    message = "the factory `{Self}` needs a recipe: add `from = <config field>` to `#[resource(...)]`",
    label = "this factory's `Config` is not `()`",
    note = "without `from`, a factory is opened from `&()`; name the `#[config]` field that holds its `Factory::Config` (a path, an address)"
)]
pub trait OpensFromNothing: Factory<Config = ()> {}

#[diagnostic::do_not_recommend]
impl<F: Factory<Config = ()> + ?Sized> OpensFromNothing for F {}

/// serde, for the code `#[rebuild(serde)]` generates.
#[cfg(feature = "serde")]
pub use serde;

/// The serde error of a load whose resource failed to open: the field, the type and
/// the factory's error chain, in one message (serde errors carry text only; build
/// with [`FromBlueprint::from_blueprint`](crate::FromBlueprint::from_blueprint) to
/// keep the typed [`RebuildError`]).
#[cfg(feature = "serde")]
#[cold]
#[must_use]
pub fn load_error<E: serde::de::Error>(error: &RebuildError) -> E {
    E::custom(format_args!("cannot load: {}", crate::error::Chain(error)))
}
