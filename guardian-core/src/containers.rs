//! [`Rebuild`] and [`FromBlueprint`] for the standard containers, so that a
//! `#[nested]` field can hold a `Vec` of shards, an optional cache or a map of
//! regions: `Box<T>`, `Option<T>`, `Vec<T>`, `[T; N]`, `VecDeque<T>`,
//! `BTreeMap<K, V>` and `HashMap<K, V, S>`, of any `T, V: Rebuild`.
//!
//! # All or nothing, through every level
//!
//! A container rebuilds its elements in order (a map: in its iteration order). If the
//! element at position `i` fails, the copies already made (`0..i`) are closed, in
//! reverse order, and the element's error is returned with the element's place in
//! front of its path: `[2].conn`, `["eu"].conn`, and, once the derive has put the
//! field in front, `shards[2].conn`. Failures of that rollback are kept in the error's
//! [`cleanup`](RebuildError::cleanup), each with its whole path. Nothing is left open,
//! however deep the failure.
//!
//! `close` closes every element, in reverse order, goes on after a failure and records
//! each failure with its place in front of its path ([`CloseError::push_nested`]).
//!
//! # Paths and names
//!
//! - A sequence (`Vec`, `VecDeque`, array) names an element by its index,
//!   [`PathSegment::Index`]: `shards[2]`.
//! - A map names an entry by its key as `Debug` shows it, [`PathSegment::Key`]:
//!   `regions["eu"]`. That is why the map impls ask for `K: Debug` beyond what the
//!   map itself needs: the path to a failure is the point of the error, and a key
//!   can only be shown through a trait the key implements.
//! - `Box<T>` and `Option<T>` add no segment: they hold one value or none, so a
//!   segment would say nothing (`cache.conn`, not `cache[0].conn`), and their
//!   errors are `T`'s own, unchanged.
//! - An error raised by a container itself names the container's type as
//!   [`std::any::type_name`] spells it (`alloc::vec::Vec<app::Shard>`). When the
//!   container is a `#[nested]` field, the derived code attributes the error to the
//!   outer type (`Service`), whose field starts the path.
//!
//! # Order in a hash map
//!
//! A `HashMap` has no order of its own. Its rebuild goes through the original in its
//! iteration order, and a rollback closes the copies made in exactly the reverse of
//! that order. Its `close` goes through the map in its iteration order: a reverse of
//! an unspecified order would promise nothing more, and would cost an allocation.
//! Every other container closes in reverse.
//!
//! # Blueprints
//!
//! Where the elements are [`FromBlueprint`], so is the container, and its blueprint
//! has the container's shape with the elements' blueprints inside: a `Vec<Shard>`'s
//! is a `Vec<ShardBlueprint>`, a `BTreeMap<String, Region>`'s a
//! `BTreeMap<String, RegionBlueprint>`, a `Box<Node>`'s a `Box<NodeBlueprint>` (so a
//! recursive type's blueprint has a size). Building from one is all or nothing, as a
//! rebuild is, with the same paths.
//!
//! ```
//! use guardian_core::{Factory, FromBlueprint, Rebuild};
//! use std::collections::BTreeMap;
//!
//! /// Opens a "connection" that remembers its address; refuses one address.
//! struct Connect;
//! impl Factory for Connect {
//!     type Config = str;
//!     type Resource = String;
//!     type Error = std::io::Error;
//!     fn open(&self, address: &str) -> std::io::Result<String> {
//!         if address == "down:5432" {
//!             return Err(std::io::Error::other("connection refused"));
//!         }
//!         Ok(format!("connected to {address}"))
//!     }
//! }
//!
//! #[derive(Rebuild)]
//! #[rebuild(blueprint)]
//! struct Shard {
//!     #[config]
//!     address: String,
//!     #[resource(factory = Connect, from = address)]
//!     conn: String,
//! }
//!
//! #[derive(Rebuild)]
//! #[rebuild(blueprint)]
//! struct Service {
//!     #[nested]
//!     shards: Vec<Shard>,
//!     #[nested]
//!     regions: BTreeMap<String, Shard>,
//! }
//!
//! let shard = |address: &str| ShardBlueprint { address: address.into() };
//! let mut recipe = ServiceBlueprint {
//!     shards: vec![shard("a:5432"), shard("b:5432"), shard("c:5432")],
//!     regions: BTreeMap::from([("eu".to_owned(), shard("eu:5432"))]),
//! };
//! let service = Service::from_blueprint(recipe.clone())?;
//! let copy = service.rebuild()?;
//! assert_eq!(copy.regions["eu"].conn, "connected to eu:5432");
//!
//! // The third shard's address is down: the first two are closed, and the error says where.
//! recipe.shards[2] = shard("down:5432");
//! let err = Service::from_blueprint(recipe).err().expect("the shard is down");
//! assert_eq!(err.path().to_string(), "shards[2].conn");
//! assert_eq!(err.field(), "shards");
//! assert_eq!(err.to_string(), "cannot rebuild `Service`: resource field `shards[2].conn` failed to open");
//! # copy.close()?;
//! # service.close()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::any::type_name;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Debug;
use std::hash::{BuildHasher, Hash};

use crate::{CloseError, FromBlueprint, PathSegment, Rebuild, RebuildError};

// --- Box and Option: transparent ------------------------------------------------

/// `T`'s rebuild and close, boxed: no path segment of its own.
impl<T: Rebuild> Rebuild for Box<T> {
    #[inline]
    fn rebuild(&self) -> Result<Self, RebuildError> {
        T::rebuild(self).map(Box::new)
    }

    #[inline]
    fn close(self) -> Result<(), CloseError> {
        T::close(*self)
    }
}

/// The blueprint stays boxed, so that a recursive type's blueprint has a size.
impl<T: FromBlueprint> FromBlueprint for Box<T> {
    type Blueprint = Box<T::Blueprint>;

    #[inline]
    fn blueprint(&self) -> Self::Blueprint {
        Box::new(T::blueprint(self))
    }

    #[inline]
    fn from_blueprint(blueprint: Self::Blueprint) -> Result<Self, RebuildError> {
        T::from_blueprint(*blueprint).map(Box::new)
    }
}

/// `None` rebuilds to `None` and closes to nothing; `Some` is `T`'s, with no path
/// segment of its own.
impl<T: Rebuild> Rebuild for Option<T> {
    #[inline]
    fn rebuild(&self) -> Result<Self, RebuildError> {
        match self {
            Some(value) => value.rebuild().map(Some),
            None => Ok(None),
        }
    }

    #[inline]
    fn close(self) -> Result<(), CloseError> {
        match self {
            Some(value) => value.close(),
            None => Ok(()),
        }
    }
}

impl<T: FromBlueprint> FromBlueprint for Option<T> {
    type Blueprint = Option<T::Blueprint>;

    #[inline]
    fn blueprint(&self) -> Self::Blueprint {
        self.as_ref().map(T::blueprint)
    }

    #[inline]
    fn from_blueprint(blueprint: Self::Blueprint) -> Result<Self, RebuildError> {
        match blueprint {
            Some(blueprint) => T::from_blueprint(blueprint).map(Some),
            None => Ok(None),
        }
    }
}

// --- Sequences: Vec, VecDeque, arrays -------------------------------------------

/// Each element in order, paths `[i]`; closed in reverse.
impl<T: Rebuild> Rebuild for Vec<T> {
    #[inline]
    fn rebuild(&self) -> Result<Self, RebuildError> {
        build_elements(self.iter(), T::rebuild, type_name::<Self>())
    }

    #[inline]
    fn close(self) -> Result<(), CloseError> {
        let mut errors = CloseError::new(type_name::<Self>());
        close_elements(&mut errors, self);
        errors.into_result()
    }
}

impl<T: FromBlueprint> FromBlueprint for Vec<T> {
    type Blueprint = Vec<T::Blueprint>;

    #[inline]
    fn blueprint(&self) -> Self::Blueprint {
        self.iter().map(T::blueprint).collect()
    }

    #[inline]
    fn from_blueprint(blueprint: Self::Blueprint) -> Result<Self, RebuildError> {
        build_elements(blueprint, T::from_blueprint, type_name::<Self>())
    }
}

/// Each element from the front, paths `[i]` (the index `VecDeque` gives it);
/// closed from the back.
impl<T: Rebuild> Rebuild for VecDeque<T> {
    #[inline]
    fn rebuild(&self) -> Result<Self, RebuildError> {
        // `VecDeque::from(Vec)` takes the buffer over without copying.
        build_elements(self.iter(), T::rebuild, type_name::<Self>()).map(VecDeque::from)
    }

    #[inline]
    fn close(self) -> Result<(), CloseError> {
        let mut errors = CloseError::new(type_name::<Self>());
        close_elements(&mut errors, self);
        errors.into_result()
    }
}

impl<T: FromBlueprint> FromBlueprint for VecDeque<T> {
    type Blueprint = VecDeque<T::Blueprint>;

    #[inline]
    fn blueprint(&self) -> Self::Blueprint {
        self.iter().map(T::blueprint).collect()
    }

    #[inline]
    fn from_blueprint(blueprint: Self::Blueprint) -> Result<Self, RebuildError> {
        build_elements(blueprint, T::from_blueprint, type_name::<Self>()).map(VecDeque::from)
    }
}

/// Each element in order, paths `[i]`; closed in reverse.
impl<T: Rebuild, const N: usize> Rebuild for [T; N] {
    #[inline]
    fn rebuild(&self) -> Result<Self, RebuildError> {
        let built = build_elements(self.iter(), T::rebuild, type_name::<Self>())?;
        into_array(built)
    }

    #[inline]
    fn close(self) -> Result<(), CloseError> {
        let mut errors = CloseError::new(type_name::<Self>());
        close_elements(&mut errors, self);
        errors.into_result()
    }
}

impl<T: FromBlueprint, const N: usize> FromBlueprint for [T; N] {
    type Blueprint = [T::Blueprint; N];

    #[inline]
    fn blueprint(&self) -> Self::Blueprint {
        self.each_ref().map(T::blueprint)
    }

    #[inline]
    fn from_blueprint(blueprint: Self::Blueprint) -> Result<Self, RebuildError> {
        let built = build_elements(blueprint, T::from_blueprint, type_name::<Self>())?;
        into_array(built)
    }
}

/// The `N` copies of an array's elements, as an array.
///
/// Built through a `Vec` (one allocation beside the `N` resources opened): an array
/// cannot be filled fallibly on stable Rust without `unsafe` (`array::try_from_fn` is
/// unstable), and this crate has none.
#[inline]
fn into_array<T: Rebuild, const N: usize>(built: Vec<T>) -> Result<[T; N], RebuildError> {
    match <[T; N]>::try_from(built) {
        Ok(array) => Ok(array),
        // `build_elements` made one copy per element of an `[_; N]`, so this is never
        // reached; if it were, close what was made and say so rather than panic.
        Err(built) => Err(wrong_length::<T, N>(built)),
    }
}

#[cold]
#[inline(never)]
fn wrong_length<T: Rebuild, const N: usize>(built: Vec<T>) -> RebuildError {
    let type_name = type_name::<[T; N]>();
    let mut cleanup = CloseError::new(type_name);
    close_elements(&mut cleanup, built);
    RebuildError::new(
        type_name,
        "",
        "an array's rebuild made another number of copies than it has elements (a bug in guardian)",
    )
    .with_cleanup(cleanup)
}

/// `make` applied to each of `elements` in order, collected; on a failure at index
/// `i`, the copies `0..i` are closed in reverse and the error gets `[i]` in front.
#[inline]
fn build_elements<S, T, I>(
    elements: I,
    mut make: impl FnMut(S) -> Result<T, RebuildError>,
    type_name: &'static str,
) -> Result<Vec<T>, RebuildError>
where
    T: Rebuild,
    I: IntoIterator<Item = S>,
    I::IntoIter: ExactSizeIterator,
{
    let elements = elements.into_iter();
    let mut built = Vec::with_capacity(elements.len());
    for (index, element) in elements.enumerate() {
        match make(element) {
            Ok(copy) => built.push(copy),
            Err(error) => return Err(element_failed(built, index, error, type_name)),
        }
    }
    Ok(built)
}

/// The rollback of a sequence whose element `index` failed with `error`.
#[cold]
#[inline(never)]
fn element_failed<T: Rebuild>(
    built: Vec<T>,
    index: usize,
    error: RebuildError,
    type_name: &'static str,
) -> RebuildError {
    let mut cleanup = CloseError::new(type_name);
    close_elements(&mut cleanup, built);
    failed_within(error, PathSegment::Index(index), cleanup)
}

/// Closes every element, last first, recording each failure under `[i]`.
#[inline]
fn close_elements<T, I>(errors: &mut CloseError, elements: I)
where
    T: Rebuild,
    I: IntoIterator<Item = T>,
    I::IntoIter: DoubleEndedIterator + ExactSizeIterator,
{
    for (index, element) in elements.into_iter().enumerate().rev() {
        if let Err(inner) = element.close() {
            close_failed(errors, PathSegment::Index(index), inner);
        }
    }
}

// --- Maps: BTreeMap, HashMap ----------------------------------------------------

/// Each value in key order, paths `[key]` (the key's `Debug`); closed in reverse key
/// order. Keys are cloned into the copy.
impl<K, V> Rebuild for BTreeMap<K, V>
where
    K: Clone + Ord + Debug,
    V: Rebuild,
{
    #[inline]
    fn rebuild(&self) -> Result<Self, RebuildError> {
        build_sorted(
            self.iter().map(|(key, value)| (key.clone(), value)),
            V::rebuild,
        )
    }

    #[inline]
    fn close(self) -> Result<(), CloseError> {
        let mut errors = CloseError::new(type_name::<Self>());
        close_entries(&mut errors, self.into_iter().rev());
        errors.into_result()
    }
}

impl<K, V> FromBlueprint for BTreeMap<K, V>
where
    K: Clone + Ord + Debug,
    V: FromBlueprint,
{
    type Blueprint = BTreeMap<K, V::Blueprint>;

    #[inline]
    fn blueprint(&self) -> Self::Blueprint {
        self.iter()
            .map(|(key, value)| (key.clone(), value.blueprint()))
            .collect()
    }

    #[inline]
    fn from_blueprint(blueprint: Self::Blueprint) -> Result<Self, RebuildError> {
        build_sorted(blueprint, V::from_blueprint)
    }
}

/// `make` applied to the value of each of `entries`, given in key order; on a
/// failure, the copies already made are closed in reverse key order (the reverse of
/// building them) and the error gets `[key]` in front.
#[inline]
fn build_sorted<K, S, V>(
    entries: impl IntoIterator<Item = (K, S)>,
    mut make: impl FnMut(S) -> Result<V, RebuildError>,
) -> Result<BTreeMap<K, V>, RebuildError>
where
    K: Ord + Debug,
    V: Rebuild,
{
    let mut built = BTreeMap::new();
    for (key, source) in entries {
        match make(source) {
            Ok(copy) => {
                built.insert(key, copy);
            }
            Err(error) => {
                let type_name = type_name::<BTreeMap<K, V>>();
                return Err(entry_failed(
                    built.into_iter().rev(),
                    &key,
                    error,
                    type_name,
                ));
            }
        }
    }
    Ok(built)
}

/// Each value in the map's iteration order, paths `[key]` (the key's `Debug`); a
/// rollback closes in exactly the reverse of that order, `close` in iteration order
/// (see [Composing types](crate#composing-types)). Keys and the hasher are cloned into the copy.
impl<K, V, S> Rebuild for HashMap<K, V, S>
where
    K: Clone + Eq + Hash + Debug,
    V: Rebuild,
    S: BuildHasher + Clone,
{
    #[inline]
    fn rebuild(&self) -> Result<Self, RebuildError> {
        let mut built = HashMap::with_capacity_and_hasher(self.len(), self.hasher().clone());
        for (opened, (key, value)) in self.iter().enumerate() {
            match value.rebuild() {
                Ok(copy) => {
                    built.insert(key.clone(), copy);
                }
                Err(error) => return Err(hashed_entry_failed(self, opened, built, key, error)),
            }
        }
        Ok(built)
    }

    #[inline]
    fn close(self) -> Result<(), CloseError> {
        let mut errors = CloseError::new(type_name::<Self>());
        close_entries(&mut errors, self);
        errors.into_result()
    }
}

/// The rollback of a hash map's rebuild whose entry `key` failed after `opened`
/// values were copied into `built`: the original's first `opened` keys, in its
/// (unchanged) iteration order, are the order the copies were made in.
#[cold]
#[inline(never)]
fn hashed_entry_failed<K, V, S>(
    original: &HashMap<K, V, S>,
    opened: usize,
    mut built: HashMap<K, V, S>,
    key: &K,
    error: RebuildError,
) -> RebuildError
where
    K: Eq + Hash + Debug,
    V: Rebuild,
    S: BuildHasher,
{
    let order: Vec<&K> = original.keys().take(opened).collect();
    let mut in_reverse: Vec<(&K, V)> = Vec::with_capacity(order.len());
    for key in order.into_iter().rev() {
        if let Some(copy) = built.remove(key) {
            in_reverse.push((key, copy));
        }
    }
    let type_name = type_name::<HashMap<K, V, S>>();
    let mut cleanup = CloseError::new(type_name);
    close_entries(&mut cleanup, in_reverse);
    // A copy no key found again (a `Clone` of a key that is not `Eq` to it) is closed
    // too: nothing stays open.
    close_entries(&mut cleanup, built);
    failed_within(error, PathSegment::key(key), cleanup)
}

impl<K, V, S> FromBlueprint for HashMap<K, V, S>
where
    K: Clone + Eq + Hash + Debug,
    V: FromBlueprint,
    S: BuildHasher + Clone,
{
    type Blueprint = HashMap<K, V::Blueprint, S>;

    #[inline]
    fn blueprint(&self) -> Self::Blueprint {
        let mut blueprint = HashMap::with_capacity_and_hasher(self.len(), self.hasher().clone());
        blueprint.extend(
            self.iter()
                .map(|(key, value)| (key.clone(), value.blueprint())),
        );
        blueprint
    }

    /// Built in the blueprint's iteration order, into a `Vec` first: the blueprint is
    /// consumed, so that `Vec` is what remembers the order for a rollback.
    #[inline]
    fn from_blueprint(blueprint: Self::Blueprint) -> Result<Self, RebuildError> {
        let hasher = blueprint.hasher().clone();
        let mut entries = Vec::with_capacity(blueprint.len());
        for (key, source) in blueprint {
            match V::from_blueprint(source) {
                Ok(copy) => entries.push((key, copy)),
                Err(error) => {
                    let type_name = type_name::<Self>();
                    return Err(entry_failed(
                        entries.into_iter().rev(),
                        &key,
                        error,
                        type_name,
                    ));
                }
            }
        }
        let mut built = HashMap::with_capacity_and_hasher(entries.len(), hasher);
        built.extend(entries);
        Ok(built)
    }
}

/// The rollback of a map whose entry `key` failed with `error`: `built`, the copies
/// already made, closed in the order given (the reverse of building them).
#[cold]
#[inline(never)]
fn entry_failed<K: Debug, V: Rebuild>(
    built: impl IntoIterator<Item = (K, V)>,
    key: &K,
    error: RebuildError,
    type_name: &'static str,
) -> RebuildError {
    let mut cleanup = CloseError::new(type_name);
    close_entries(&mut cleanup, built);
    failed_within(error, PathSegment::key(key), cleanup)
}

/// Closes the value of every entry, in the order given, recording each failure
/// under `[key]`.
#[inline]
fn close_entries<K: Debug, V: Rebuild>(
    errors: &mut CloseError,
    entries: impl IntoIterator<Item = (K, V)>,
) {
    for (key, value) in entries {
        if let Err(inner) = value.close() {
            close_failed(errors, PathSegment::key(&key), inner);
        }
    }
}

// --- Shared by every container --------------------------------------------------

/// A container's error: the element's `error`, seen from the container (`segment` in
/// front of every path), attributed to the container's type, after the rollback
/// recorded in `cleanup`.
#[cold]
#[inline(never)]
fn failed_within(error: RebuildError, segment: PathSegment, cleanup: CloseError) -> RebuildError {
    error
        .within(segment)
        .of_type(cleanup.type_name(), None)
        .with_cleanup(cleanup)
}

/// Records the failures of closing the element at `segment`.
#[cold]
#[inline(never)]
fn close_failed(errors: &mut CloseError, segment: PathSegment, inner: CloseError) {
    errors.push_nested(segment, inner);
}
