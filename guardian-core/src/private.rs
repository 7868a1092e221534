//! What `#[derive(Rebuild)]` expands to calls, and nothing else. Not public API: the
//! names here may change in any release.
//!
//! Generated code names these by their full path (`::guardian_core::__private::...`),
//! so it works whatever the user has imported or shadowed. The generic helpers are
//! tiny and `#[inline]`; everything else (building errors, recording failures) lives
//! in one non-generic, `#[cold]` function each, so a derive costs one call per field,
//! not a copy of the bookkeeping per field.
//!
//! # Checks that read well
//!
//! Every requirement the generated code places on the user's types is the `Self` bound
//! of a *trait method* called with a qualified path (`<_ as ResourceIs<File, _>>::
//! field_typed(factory)`), never a bound in a function's where-clause: a failed where-clause
//! adds "required by a bound in `guardian_core::__private::...`" with this file's
//! source, while a failed trait-method call is reported at the call (spanned on the
//! user's field or attribute) with the trait's `#[diagnostic::on_unimplemented]`
//! message and nothing else. The traits are re-exported, hidden, at the crate root so
//! that the compiler's "the trait `X` is not implemented for `Y`" line names them
//! without this module's path.

use std::borrow::Borrow;
use std::marker::PhantomData;

use crate::error::{BoxError, CloseError, PathSegment};
use crate::{AsyncFactory, Factory, RebuildError};

/// Imported, under each local name a generated body uses, at the top of that body's
/// scope. A pattern's identifier that resolves to a `const` or a unit struct is a
/// constant pattern, not a new variable; importing this *function* under the same name
/// makes the identifier resolve to it instead, and a pattern that names a function
/// binds a fresh variable. So a `const __guardian_field0` in the user's module cannot
/// turn the expansion's variables into patterns (the compiler's own derives are immune
/// through `def_site` hygiene, which stable proc macros do not have).
#[inline]
pub fn binding() {}

/// The value of `factory = ...`, checked to be a [`Factory`] where the user wrote it.
///
/// Not a subtrait of `Factory` (a failed supertrait would be reported a second time,
/// with `Factory`'s own message), and its associated types are `Factory`'s: for a
/// value that is not a factory they cannot be resolved, so the compiler reports
/// nothing more about the code that uses them. One mistake, one error.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a guardian `Factory`",
    label = "`factory = ...` must give a value whose type implements `guardian_core::Factory`",
    note = "use a built-in factory (`guardian_core::fs`, `net`, `sync`), or implement `guardian_core::Factory` for `{Self}` (only `open` is required); if `{Self}` is an `AsyncFactory`, derive the async rebuild with `#[rebuild(async)]`"
)]
pub trait IsFactory {
    /// `Factory::Config`.
    type Config: ?Sized;
    /// `Factory::Resource`.
    type Resource;
    /// `Factory::Error`.
    type Error;

    /// The factory's methods.
    fn checked(&self) -> Checked<'_, Self, Self::Config, Self::Resource, Self::Error>;
}

#[diagnostic::do_not_recommend]
impl<F: Factory + ?Sized> IsFactory for F {
    type Config = F::Config;
    type Resource = F::Resource;
    type Error = F::Error;

    #[inline]
    fn checked(&self) -> Checked<'_, F, F::Config, F::Resource, F::Error> {
        Checked {
            factory: self,
            open: F::open,
            reopen: F::reopen,
            close: F::close,
        }
    }
}

/// A factory's methods, through function pointers that are constants after inlining,
/// so optimised code calls the factory directly (callgrind: the derived code runs the
/// same instructions as hand-written code). `R` is the resource the field holds once
/// [`ResourceIs`] has checked it; no method carries a bound that could fail again.
pub struct Checked<'f, F: ?Sized, C: ?Sized, R, E> {
    factory: &'f F,
    open: fn(&F, &C) -> Result<R, E>,
    reopen: fn(&F, &C, &R) -> Result<R, E>,
    close: fn(&F, R) -> Result<(), E>,
}

impl<F: ?Sized, C: ?Sized, R, E> Clone for Checked<'_, F, C, R, E> {
    #[inline]
    fn clone(&self) -> Self {
        *self
    }
}

impl<F: ?Sized, C: ?Sized, R, E> Copy for Checked<'_, F, C, R, E> {}

impl<F: ?Sized, C: ?Sized, R, E> Checked<'_, F, C, R, E>
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

/// The factory `F` opens a `Self` (its `Resource`), which must be the field's type
/// `T`. `Self` is the factory's resource, so the message can say what it opens.
#[diagnostic::on_unimplemented(
    message = "the factory `{F}` opens a resource of type `{Self}`, not `{T}`",
    label = "this `#[resource]` field's type must be the factory's `Resource`, `{Self}`",
    note = "change the field's type to `{Self}`, or use a factory whose `Resource` is `{T}`"
)]
pub trait ResourceIs<T, F: ?Sized> {
    /// The factory's methods, typed for the field.
    fn field_typed<C: ?Sized, E>(checked: Checked<'_, F, C, Self, E>) -> Checked<'_, F, C, T, E>
    where
        Self: Sized;
}

impl<T, F: ?Sized> ResourceIs<T, F> for T {
    #[inline]
    fn field_typed<C: ?Sized, E>(checked: Checked<'_, F, C, T, E>) -> Checked<'_, F, C, T, E> {
        checked
    }
}

/// What [`RecipeFor`] and [`OpensWithoutRecipe`] learn from a checked factory
/// ([`Checked`] or [`AsyncChecked`]): the factory's type and its `Config`. Being
/// associated types, both are known from the checked value alone, before the
/// field's type is looked at.
pub trait CheckedFactory {
    /// The factory's type.
    type Factory: ?Sized;
    /// `Factory::Config` (or `AsyncFactory::Config`).
    type Config: ?Sized;
}

impl<F: ?Sized, C: ?Sized, R, E> CheckedFactory for Checked<'_, F, C, R, E> {
    type Factory = F;
    type Config = C;
}

/// The value of a `from = field`, lent to the factory `F` as its `Config` (`C`);
/// for blocking and async factories alike.
///
/// A field feeds a factory whose `Config` is `C` when it [`Borrow`]s as a `C`: the
/// same type, `PathBuf` for `Path`, `String` for `str`, `Box<T>` or `Arc<T>` for `T`,
/// `&T` for `T`, `AbsolutePath` for `Path`. `F` and `C` come from the factory (from
/// `Borrow` alone, `C` would be inferred as the field's own type).
#[diagnostic::on_unimplemented(
    message = "the factory `{F}` opens from a recipe of type `{C}`, but this `from` field is of type `{Self}`",
    label = "expected `{C}`, found `{Self}`",
    note = "give the `#[config]` field the type `{C}` (recipe types have a constructor, such as `AbsolutePath::new` or `TcpConfig::new`), or a type that borrows as one (`PathBuf` for `Path`, `String` for `str`)"
)]
pub trait RecipeFor<F: ?Sized, C: ?Sized> {
    /// The field, as the factory's `Config`. The factory comes first, so that `F` and
    /// `C` are known before the field's type is looked at.
    fn recipe<'c, K>(factory: &K, field: &'c Self) -> &'c C
    where
        K: CheckedFactory<Factory = F, Config = C>;
}

#[diagnostic::do_not_recommend]
impl<T, F, C> RecipeFor<F, C> for T
where
    T: Borrow<C> + ?Sized,
    F: ?Sized,
    C: ?Sized,
{
    #[inline]
    fn recipe<'c, K>(factory: &K, field: &'c T) -> &'c C
    where
        K: CheckedFactory<Factory = F, Config = C>,
    {
        let _ = factory;
        field.borrow()
    }
}

/// A factory without `from` is opened from `&()`: its `Config` (`Self`) must be `()`;
/// for blocking and async factories alike.
#[diagnostic::on_unimplemented(
    message = "the factory `{F}` needs a recipe: add `from = <config field>` to `#[resource(...)]`",
    label = "this factory opens from a recipe of type `{Self}`, not from `()`",
    note = "name the `#[config]` field that holds the factory's recipe (a path, an address); without `from`, a factory is opened from `&()`"
)]
pub trait OpensWithoutRecipe<F: ?Sized> {
    /// `&()`, as the factory's `Config`.
    fn no_recipe<K>(factory: &K) -> &'static Self
    where
        K: CheckedFactory<Factory = F, Config = Self>;
}

#[diagnostic::do_not_recommend]
impl<F: ?Sized> OpensWithoutRecipe<F> for () {
    #[inline]
    fn no_recipe<K>(factory: &K) -> &'static ()
    where
        K: CheckedFactory<Factory = F, Config = ()>,
    {
        let _ = factory;
        &()
    }
}

/// The collector of close failures for one value (or one rollback).
#[inline]
#[must_use]
pub fn closing(type_name: &'static str, variant: Option<&'static str>) -> CloseError {
    let errors = CloseError::new(type_name);
    match variant {
        Some(variant) => errors.with_variant(variant),
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
    RebuildError::from_box(cleanup.type_name(), cleanup.variant(), field, error)
        .with_cleanup(cleanup)
}

/// The error of a rebuild whose `#[nested]` field `field` failed to rebuild (with
/// `error`, from inside it), after the rollback recorded in `cleanup`: the same
/// failures, seen from the outer type (their paths start at `field`), never a chain of
/// one error per level.
#[cold]
#[inline(never)]
#[must_use]
pub fn nested_failed(
    cleanup: CloseError,
    field: &'static str,
    error: RebuildError,
) -> RebuildError {
    error
        .within(PathSegment::Field(field))
        .of_type(cleanup.type_name(), cleanup.variant())
        .with_cleanup(cleanup)
}

/// Records the failures of closing the `#[nested]` field `field`, under its name.
#[inline]
pub fn close_nested(errors: &mut CloseError, field: &'static str, closed: Result<(), CloseError>) {
    if let Err(inner) = closed {
        nested_close_failed(errors, field, inner);
    }
}

#[cold]
#[inline(never)]
fn nested_close_failed(errors: &mut CloseError, field: &'static str, inner: CloseError) {
    errors.push_nested(PathSegment::Field(field), inner);
}

/// A config field of a `#[repr(packed)]` struct, copied out by value: its fields
/// cannot be borrowed, so they must be `Copy` (as `#[derive(Clone)]` requires). The
/// bound is on the impl, not a supertrait, so that it is reported once, in our words.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not `Copy`, and the fields of a `#[repr(packed)]` struct are copied by value",
    label = "a field of a packed struct cannot be borrowed to be cloned",
    note = "`#[derive(Clone)]` has the same rule: make this field's type `Copy`, or remove `#[repr(packed)]`"
)]
pub trait PackedCopy {
    /// The value (a copy).
    #[must_use]
    fn packed(self) -> Self;
}

#[diagnostic::do_not_recommend]
impl<T: Copy> PackedCopy for T {
    #[inline]
    fn packed(self) -> Self {
        self
    }
}

// --- Refusals on types with resources -------------------------------------------
//
// `Clone` and `Drop` are detected by autoref specialisation: `(&Probe::<T>::new())
// .probe()` finds the method of the impl for `Probe<T>` when its bound holds (`T:
// Clone`, `T: Drop`), and otherwise, one autoref further, the fallback impl for
// `&Probe<T>`. The result's type says which; a trait-method call then refuses the bad
// one with a message of ours.

/// Probes a type for an impl of `Clone` or `Drop` (see the comment above).
pub struct Probe<T: ?Sized>(PhantomData<T>);

impl<T: ?Sized> Probe<T> {
    /// A probe of `T`.
    #[inline]
    #[must_use]
    pub const fn new() -> Self {
        Probe(PhantomData)
    }
}

impl<T: ?Sized> Default for Probe<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// `T` is `Clone` (or `Copy`).
pub struct CloneImplemented;
/// `T` is neither `Clone` nor `Copy`.
pub struct NotClone;
/// `T` implements `Drop`.
pub struct DropImplemented;
/// `T` has no `Drop` impl of its own.
pub struct NoDrop;

/// Answers [`CloneImplemented`] for a `Clone` type.
pub trait ProbeClone {
    /// The answer.
    #[inline]
    fn probe_clone(&self) -> CloneImplemented {
        CloneImplemented
    }
}
impl<T: Clone> ProbeClone for Probe<T> {}

/// Answers [`NotClone`] for any other type.
pub trait ProbeNotClone {
    /// The answer.
    #[inline]
    fn probe_clone(&self) -> NotClone {
        NotClone
    }
}
impl<T: ?Sized> ProbeNotClone for &Probe<T> {}

/// Answers [`DropImplemented`] for a type with a `Drop` impl.
pub trait ProbeDrop {
    /// The answer.
    #[inline]
    fn probe_drop(&self) -> DropImplemented {
        DropImplemented
    }
}
#[expect(
    drop_bounds,
    reason = "exactly the question: whether the type has a `Drop` impl of its own"
)]
impl<T: ?Sized + Drop> ProbeDrop for Probe<T> {}

/// Answers [`NoDrop`] for any other type.
pub trait ProbeNoDrop {
    /// The answer.
    #[inline]
    fn probe_drop(&self) -> NoDrop {
        NoDrop
    }
}
impl<T: ?Sized> ProbeNoDrop for &Probe<T> {}

/// The answer of the `Clone` probe of a type with resources: only [`NotClone`] passes.
#[diagnostic::on_unimplemented(
    message = "`{T}` has `#[resource]` fields, so it must not be `Clone` or `Copy`",
    label = "a clone would share or duplicate the live handles of `{T}`",
    note = "remove `Clone` (and `Copy`) from its derives and impls, and copy it with `rebuild()`, which opens a resource of its own for the copy"
)]
pub trait ResourcesNotCloned<T: ?Sized> {
    /// Accepts the answer.
    #[inline]
    fn confirm(self)
    where
        Self: Sized,
    {
    }
}
impl<T: ?Sized> ResourcesNotCloned<T> for NotClone {}

/// The answer of the `Drop` probe of a type with resources: only [`NoDrop`] passes.
#[diagnostic::on_unimplemented(
    message = "`{T}` implements `Drop`, so `close()` cannot take its resources out",
    label = "`close()` moves each resource out of `{T}` to hand it to its factory",
    note = "remove the `Drop` impl: `close()` is where resources are flushed and closed; to close a value when it goes out of scope, keep it in a `guardian_core::Guard`"
)]
pub trait CloseWithoutDrop<T: ?Sized> {
    /// Accepts the answer.
    #[inline]
    fn confirm(self)
    where
        Self: Sized,
    {
    }
}
impl<T: ?Sized> CloseWithoutDrop<T> for NoDrop {}

/// The bound of the hidden inherent `clone` method that `#[derive(Rebuild)]` gives a
/// type with resources. It never holds (`for<'a>` keeps it from being a trivially
/// false bound, which is an error), so the method can never be called, and a call
/// reports this message, on `value.clone()` and on `(&value).clone()` alike: an
/// inherent method is found before `Clone::clone` of the reference, whose "expected
/// `Logger`, found `&Logger`" would suggest deriving `Clone`.
#[diagnostic::on_unimplemented(
    message = "`{T}` holds live resources and cannot be cloned: copy it with `rebuild()`",
    label = "`{T}` has `#[resource]` fields: call `.rebuild()`, which opens a resource of its own for the copy",
    note = "a clone would share or duplicate the live handles (a double booking); `rebuild()` copies the `#[config]` fields and reopens every resource from them"
)]
pub trait HoldsResources<T: ?Sized> {}

/// See [`HoldsResources`].
pub struct CloneOf<'a, T: ?Sized>(PhantomData<&'a T>);

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

// --- Async ---------------------------------------------------------------------
//
// The same checks for `#[rebuild(async)]`, on `AsyncFactory`. A future cannot be held
// as a function pointer, so `AsyncChecked` keeps the factory and calls it through
// methods bounded by `AsyncFactory`; those bounds always hold where the code gets
// that far, because the resource check returns an *associated type* that cannot be
// resolved when it fails (and the compiler reports nothing about code that uses a
// type it could not resolve).

pub use crate::join::poll_into;

/// The value of `factory = ...` of an async type, checked to be an [`AsyncFactory`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a guardian `AsyncFactory`",
    label = "an async type's `factory = ...` must give a value whose type implements `guardian_core::AsyncFactory`",
    note = "a blocking `Factory` serves an async type through `guardian_core::tokio::Blocking::new(...)` (feature `tokio`); or implement `guardian_core::AsyncFactory` for `{Self}` (only `open` is required)"
)]
pub trait IsAsyncFactory {
    /// `AsyncFactory::Config`.
    type Config: ?Sized;
    /// `AsyncFactory::Resource`.
    type Resource;
    /// `AsyncFactory::Error`.
    type Error;

    /// The factory, to be typed for the field.
    fn checked(&self) -> AsyncChecked<'_, Self, Self::Config, Self::Resource, Self::Error>;
}

#[diagnostic::do_not_recommend]
impl<F: AsyncFactory + ?Sized> IsAsyncFactory for F {
    type Config = F::Config;
    type Resource = F::Resource;
    type Error = F::Error;

    #[inline]
    fn checked(&self) -> AsyncChecked<'_, F, F::Config, F::Resource, F::Error> {
        AsyncChecked {
            factory: self,
            types: PhantomData,
        }
    }
}

/// The types an [`AsyncChecked`] is for, without owning any (`fn(&C)` so that an
/// unsized `C` fits, and the checked value stays `Send` and `Sync`).
type AsyncTypes<C, R, E> = PhantomData<(fn(&C), R, E)>;

/// An async factory, its resource checked to be the field's type `R`.
pub struct AsyncChecked<'f, F: ?Sized, C: ?Sized, R, E> {
    factory: &'f F,
    types: AsyncTypes<C, R, E>,
}

impl<F: ?Sized, C: ?Sized, R, E> Clone for AsyncChecked<'_, F, C, R, E> {
    #[inline]
    fn clone(&self) -> Self {
        *self
    }
}

impl<F: ?Sized, C: ?Sized, R, E> Copy for AsyncChecked<'_, F, C, R, E> {}

impl<'f, F, C, R, E> AsyncChecked<'f, F, C, R, E>
where
    F: AsyncFactory<Config = C, Resource = R, Error = E> + ?Sized,
    C: ?Sized,
    E: std::error::Error + Send + Sync + 'static,
{
    /// `AsyncFactory::open`.
    #[inline]
    pub fn open<'a>(self, config: &'a C) -> impl Future<Output = Result<R, E>> + Send + 'a
    where
        'f: 'a,
    {
        self.factory.open(config)
    }

    /// `AsyncFactory::reopen`.
    #[inline]
    pub fn reopen<'a>(
        self,
        config: &'a C,
        live: &'a R,
    ) -> impl Future<Output = Result<R, E>> + Send + 'a
    where
        'f: 'a,
    {
        self.factory.reopen(config, live)
    }

    /// `AsyncFactory::close`, recording a failure under the field's name.
    ///
    /// Not an `async fn`: that would keep `resource` in its state beside the
    /// factory's close future it is moved into. The close future is made first and
    /// only it is kept.
    #[inline]
    pub fn close<'a>(
        self,
        errors: &'a mut CloseError,
        field: &'static str,
        resource: R,
    ) -> impl Future<Output = ()> + Send + 'a
    where
        'f: 'a,
    {
        let closing = self.factory.close(resource);
        async move {
            if let Err(error) = closing.await {
                errors.push_box(field, Box::new(error));
            }
        }
    }
}

/// [`ResourceIs`] for an async factory: the factory `F` opens a `Self`, which must be
/// the field's type `T`. On a mismatch [`Typed`](AsyncResourceIs::Typed) cannot be
/// resolved, so the code that uses it adds no error of its own.
#[diagnostic::on_unimplemented(
    message = "the factory `{F}` opens a resource of type `{Self}`, not `{T}`",
    label = "this `#[resource]` field's type must be the factory's `Resource`, `{Self}`",
    note = "change the field's type to `{Self}`, or use a factory whose `Resource` is `{T}`"
)]
pub trait AsyncResourceIs<'f, T, F: ?Sized + 'f, C: ?Sized, E> {
    /// The factory, typed for the field.
    type Typed;

    /// The factory, typed for the field.
    fn field_typed(checked: AsyncChecked<'f, F, C, Self, E>) -> Self::Typed
    where
        Self: Sized;
}

impl<'f, T, F: ?Sized + 'f, C: ?Sized, E> AsyncResourceIs<'f, T, F, C, E> for T {
    type Typed = AsyncChecked<'f, F, C, T, E>;

    #[inline]
    fn field_typed(checked: AsyncChecked<'f, F, C, T, E>) -> Self::Typed {
        checked
    }
}

impl<F: ?Sized, C: ?Sized, R, E> CheckedFactory for AsyncChecked<'_, F, C, R, E> {
    type Factory = F;
    type Config = C;
}

/// Every failure of a concurrent open, collected after the join (in declaration
/// order), then the failures of closing what did open.
pub struct Failures {
    errors: Option<RebuildError>,
    cleanup: CloseError,
}

impl Failures {
    /// An empty collector for `type_name` (and its `variant`).
    #[cold]
    #[must_use]
    pub fn new(type_name: &'static str, variant: Option<&'static str>) -> Self {
        Failures {
            errors: None,
            cleanup: closing(type_name, variant),
        }
    }

    /// The resource of field `field`, or `None` with its error recorded.
    #[inline]
    pub fn resource<R, E>(&mut self, field: &'static str, opened: Result<R, E>) -> Option<R>
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        match opened {
            Ok(resource) => Some(resource),
            Err(error) => {
                let error = RebuildError::from_box(
                    self.cleanup.type_name(),
                    self.cleanup.variant(),
                    field,
                    Box::new(error),
                );
                self.add(error);
                None
            }
        }
    }

    /// The value of `#[nested]` field `field`, or `None` with its failures recorded.
    #[inline]
    pub fn nested<T>(
        &mut self,
        field: &'static str,
        rebuilt: Result<T, RebuildError>,
    ) -> Option<T> {
        match rebuilt {
            Ok(value) => Some(value),
            Err(error) => {
                let error = error
                    .within(PathSegment::Field(field))
                    .of_type(self.cleanup.type_name(), self.cleanup.variant());
                self.add(error);
                None
            }
        }
    }

    fn add(&mut self, error: RebuildError) {
        self.errors = Some(match self.errors.take() {
            Some(errors) => errors.and(error),
            None => error,
        });
    }

    /// Where the failures of closing what did open are recorded.
    pub fn cleanup(&mut self) -> &mut CloseError {
        &mut self.cleanup
    }

    /// The error of the rebuild: every failure, and the failures of the cleanup.
    #[cold]
    #[must_use]
    pub fn into_error(self) -> RebuildError {
        let Failures { errors, cleanup } = self;
        match errors {
            Some(errors) => errors.with_cleanup(cleanup),
            // The derived code asks for the error only after a failure, so this is
            // never reached; if it were, say so rather than panic.
            None => RebuildError::from_box(
                cleanup.type_name(),
                cleanup.variant(),
                "",
                "an async rebuild failed without recording why (a bug in guardian)".into(),
            ),
        }
    }
}

/// The bound of the `Deserialize` impl of a `#[rebuild(async, serde)]` type: it never
/// holds (`for<'a>` keeps it from being a trivially false bound), so loading one
/// directly with serde reports this message, not serde's suggestion to derive
/// `Deserialize`.
#[cfg(feature = "serde")]
#[diagnostic::on_unimplemented(
    message = "`{T}` opens its resources asynchronously, so serde cannot build it while deserializing",
    label = "`{T}` is `Serialize`, but it is loaded in two steps",
    note = "deserialize its blueprint, a `{B}`, then open everything with `{T}::from_blueprint(blueprint).await` (`guardian_core::AsyncFromBlueprint`)"
)]
pub trait LoadedInTwoSteps<T: ?Sized, B> {}

/// See [`LoadedInTwoSteps`].
#[cfg(feature = "serde")]
pub struct AsyncLoad<'a, T: ?Sized>(PhantomData<&'a T>);

// --- Blueprints of nested fields ---------------------------------------------
//
// Every use of a `#[nested]` field's blueprint (its type in the blueprint, the copy,
// the build) goes through one trait, so that a nested type without a blueprint is one
// error, on the field: where the trait does not hold, its `Of` cannot be resolved, and
// the compiler reports nothing more about the code that uses it.

/// A `#[nested]` field's type, which has a blueprint (blocking).
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no blueprint",
    label = "the blueprint of this type holds the blueprint of this `#[nested]` field",
    note = "add `#[rebuild(blueprint)]` (or `#[rebuild(serde)]`) to the derive of the nested type, or drop `#[rebuild(blueprint)]` here"
)]
pub trait NestedBlueprint: Sized {
    /// `FromBlueprint::Blueprint`.
    type Of: Clone;

    /// `FromBlueprint::blueprint`.
    fn blueprint(&self) -> Self::Of;

    /// `FromBlueprint::from_blueprint`.
    fn from_blueprint(blueprint: Self::Of) -> Result<Self, RebuildError>;
}

#[diagnostic::do_not_recommend]
impl<T: crate::FromBlueprint> NestedBlueprint for T {
    type Of = T::Blueprint;

    #[inline]
    fn blueprint(&self) -> T::Blueprint {
        crate::FromBlueprint::blueprint(self)
    }

    #[inline]
    fn from_blueprint(blueprint: T::Blueprint) -> Result<T, RebuildError> {
        <T as crate::FromBlueprint>::from_blueprint(blueprint)
    }
}

/// A `#[nested]` field's type, which has a blueprint (async).
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no async blueprint",
    label = "the blueprint of this type holds the blueprint of this `#[nested]` field",
    note = "add `blueprint` (or `serde`) to the `#[rebuild(async, ...)]` of the nested type, or drop the blueprint here"
)]
pub trait AsyncNestedBlueprint: Sized {
    /// `AsyncFromBlueprint::Blueprint`.
    type Of: Clone + Send;

    /// `AsyncFromBlueprint::blueprint`.
    fn blueprint(&self) -> Self::Of;

    /// `AsyncFromBlueprint::from_blueprint`.
    fn from_blueprint(
        blueprint: Self::Of,
    ) -> impl Future<Output = Result<Self, RebuildError>> + Send;
}

#[diagnostic::do_not_recommend]
impl<T: crate::AsyncFromBlueprint> AsyncNestedBlueprint for T {
    type Of = T::Blueprint;

    #[inline]
    fn blueprint(&self) -> T::Blueprint {
        crate::AsyncFromBlueprint::blueprint(self)
    }

    #[inline]
    fn from_blueprint(
        blueprint: T::Blueprint,
    ) -> impl Future<Output = Result<T, RebuildError>> + Send {
        <T as crate::AsyncFromBlueprint>::from_blueprint(blueprint)
    }
}
