//! The errors of [`Rebuild`](crate::Rebuild): [`RebuildError`] for resources that
//! failed to open, [`CloseError`] for every resource that failed to close. Both follow
//! the crate's [rule for errors](crate#errors), and both name each failure by its
//! [`FieldPath`]: the field of the outermost type, then, through `#[nested]` fields
//! and containers, down to the resource itself (`shards[2].conn`).

use std::error::Error;
use std::fmt::{self, Write as _};

/// A boxed error, as the factories' errors are kept.
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// One step of a [`FieldPath`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PathSegment {
    /// A field, by name (`log`), or by index for a tuple field (`0`).
    Field(&'static str),
    /// An element of a sequence (`Vec`, `VecDeque`, array): `[2]`.
    Index(usize),
    /// The value of a map entry, its key as `Debug` shows it: `["eu"]`.
    Key(String),
}

impl PathSegment {
    /// The segment of a map entry whose key is `key` (shown with its `Debug`).
    #[must_use]
    pub fn key(key: &impl fmt::Debug) -> Self {
        PathSegment::Key(format!("{key:?}"))
    }
}

/// Where a failure happened, from the outermost field down to the resource:
/// `shards[2].conn`, `cache["eu"].conn`, `log`.
///
/// ```
/// use guardian_core::{FieldPath, PathSegment};
///
/// let path = FieldPath::from_iter([
///     PathSegment::Field("shards"),
///     PathSegment::Index(2),
///     PathSegment::Field("conn"),
/// ]);
/// assert_eq!(path.to_string(), "shards[2].conn");
/// assert_eq!(path.field(), Some("shards"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FieldPath(Vec<PathSegment>);

impl FieldPath {
    /// The outermost field the path names (`shards` in `shards[2].conn`).
    #[must_use]
    pub fn field(&self) -> Option<&'static str> {
        self.0.iter().find_map(|segment| match segment {
            PathSegment::Field(name) => Some(*name),
            _ => None,
        })
    }

    /// The segments, outermost first.
    #[must_use]
    pub fn segments(&self) -> &[PathSegment] {
        &self.0
    }

    fn of_field(field: &'static str) -> Self {
        FieldPath(vec![PathSegment::Field(field)])
    }

    fn prefix(&mut self, segment: PathSegment) {
        self.0.insert(0, segment);
    }
}

impl FromIterator<PathSegment> for FieldPath {
    fn from_iter<I: IntoIterator<Item = PathSegment>>(segments: I) -> Self {
        FieldPath(segments.into_iter().collect())
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                PathSegment::Field(name) => {
                    if i > 0 {
                        f.write_char('.')?;
                    }
                    f.write_str(name)?;
                }
                PathSegment::Index(index) => write!(f, "[{index}]")?,
                PathSegment::Key(key) => write!(f, "[{key}]")?,
            }
        }
        Ok(())
    }
}

/// One resource that failed to open: where, and the factory's error.
#[derive(Debug)]
pub struct OpenFailure {
    path: FieldPath,
    error: BoxError,
}

impl OpenFailure {
    /// The whole path to the resource (`shards[2].conn`).
    #[must_use]
    pub fn path(&self) -> &FieldPath {
        &self.path
    }

    /// The outermost field of the path (`shards`).
    #[must_use]
    pub fn field(&self) -> &'static str {
        self.path.field().unwrap_or_default()
    }

    /// The factory's error.
    #[must_use]
    pub fn error(&self) -> &(dyn Error + Send + Sync + 'static) {
        &*self.error
    }

    /// Takes the factory's error out.
    #[must_use]
    pub fn into_error(self) -> BoxError {
        self.error
    }
}

/// Resources failed to open during [`Rebuild::rebuild`](crate::Rebuild::rebuild) (or
/// [`FromBlueprint::from_blueprint`](crate::FromBlueprint::from_blueprint)).
///
/// It names the type, the variant (for enums) and, for each resource that failed,
/// its [`FieldPath`]. A blocking rebuild stops at the first failure, so it holds one;
/// an async rebuild opens everything at once and holds every failure, in declaration
/// order. [`field`](RebuildError::field), [`path`](RebuildError::path) and
/// [`factory_error`](RebuildError::factory_error) describe the first.
///
/// Following the crate's [rule for errors](crate#errors): with one failure, the
/// factory's error is the [`source`](Error::source) and `Display` does not repeat it
/// (error reporters that walk the chain, `anyhow`'s `{:#}`, print it once); with
/// several, the error is an aggregate: `Display` lists each path with its error's
/// whole chain and `source` is `None` ([`failures`](RebuildError::failures) has them
/// all, for downcasting). A failure deep inside nested values is one error with a
/// long path, never a chain of one `RebuildError` per level.
///
/// If closing the resources that had already been opened failed as well, those
/// failures are kept in [`cleanup`](RebuildError::cleanup): nothing is lost. They are
/// not the cause, so they are not the source; `Display` adds them, in parentheses,
/// each with its whole chain, because no chain would reach them.
///
/// ```
/// use guardian_core::{PathSegment, RebuildError};
/// use std::error::Error as _;
///
/// let err = RebuildError::new("Shard", "conn", std::io::Error::other("connection refused"));
/// assert_eq!(err.to_string(), "cannot rebuild `Shard`: resource field `conn` failed to open");
/// assert_eq!(err.source().unwrap().to_string(), "connection refused");
///
/// // The same failure seen from a `Service` whose field `shards` holds that shard third:
/// let err = err.within(PathSegment::Index(2)).within(PathSegment::Field("shards")).of_type("Service", None);
/// assert_eq!(err.field(), "shards");
/// assert_eq!(err.path().to_string(), "shards[2].conn");
/// assert_eq!(err.to_string(), "cannot rebuild `Service`: resource field `shards[2].conn` failed to open");
/// ```
pub struct RebuildError(Box<RebuildInner>);

struct RebuildInner {
    type_name: &'static str,
    variant: Option<&'static str>,
    /// Never empty.
    failures: Vec<OpenFailure>,
    cleanup: Option<CloseError>,
}

impl RebuildError {
    /// A failure to open field `field` of type `type_name`. Tuple fields are named by
    /// their index (`"0"`).
    pub fn new(type_name: &'static str, field: &'static str, source: impl Into<BoxError>) -> Self {
        Self::from_box(type_name, None, field, source.into())
    }

    /// Records the enum variant whose field failed.
    #[must_use]
    pub fn with_variant(mut self, variant: &'static str) -> Self {
        self.0.variant = Some(variant);
        self
    }

    /// Records the failures of closing the resources that were opened before the
    /// failure, added to those already recorded.
    #[must_use]
    pub fn with_cleanup(mut self, cleanup: CloseError) -> Self {
        self.absorb_cleanup(cleanup);
        self
    }

    /// Adds another failure (an async rebuild reports every resource that failed).
    #[must_use]
    pub fn and(mut self, other: RebuildError) -> Self {
        let other = *other.0;
        self.0.failures.extend(other.failures);
        if let Some(cleanup) = other.cleanup {
            self.absorb_cleanup(cleanup);
        }
        self
    }

    /// The same error, seen from a value that holds the failed one at `segment`: every
    /// path (of the failures and of the cleanup) gets `segment` in front. Set the outer
    /// type with [`of_type`](RebuildError::of_type) once the path is complete.
    #[must_use]
    pub fn within(mut self, segment: PathSegment) -> Self {
        let inner = &mut *self.0;
        let cleanup = inner.cleanup.iter_mut().flat_map(|c| c.failures.iter_mut());
        prefix_all(
            inner
                .failures
                .iter_mut()
                .map(|f| &mut f.path)
                .chain(cleanup.map(|f| &mut f.path)),
            segment,
        );
        self
    }

    /// The same error, attributed to `type_name` (and its `variant`): the type whose
    /// rebuild the caller asked for.
    #[must_use]
    pub fn of_type(mut self, type_name: &'static str, variant: Option<&'static str>) -> Self {
        self.0.type_name = type_name;
        self.0.variant = variant;
        if let Some(cleanup) = &mut self.0.cleanup {
            cleanup.type_name = type_name;
            cleanup.variant = variant;
        }
        self
    }

    #[cold]
    pub(crate) fn from_box(
        type_name: &'static str,
        variant: Option<&'static str>,
        field: &'static str,
        source: BoxError,
    ) -> Self {
        RebuildError(Box::new(RebuildInner {
            type_name,
            variant,
            failures: vec![OpenFailure {
                path: FieldPath::of_field(field),
                error: source,
            }],
            cleanup: None,
        }))
    }

    fn absorb_cleanup(&mut self, cleanup: CloseError) {
        match &mut self.0.cleanup {
            Some(existing) => existing.failures.extend(cleanup.failures),
            None if cleanup.failures.is_empty() => {}
            None => self.0.cleanup = Some(cleanup),
        }
    }

    fn first(&self) -> &OpenFailure {
        // Every constructor puts one failure in, and nothing removes one.
        &self.0.failures[0]
    }

    /// The outermost field of the (first) failure: `"shards"` for `shards[2].conn`
    /// (`"0"`, `"1"`, ... for tuple fields).
    #[must_use]
    pub fn field(&self) -> &'static str {
        self.first().field()
    }

    /// The whole path of the (first) failure, from the outermost field to the
    /// resource: `shards[2].conn`.
    #[must_use]
    pub fn path(&self) -> &FieldPath {
        &self.first().path
    }

    /// Every failure, in declaration order (one for a blocking rebuild).
    #[must_use]
    pub fn failures(&self) -> &[OpenFailure] {
        &self.0.failures
    }

    /// Takes the failures out.
    #[must_use]
    pub fn into_failures(self) -> Vec<OpenFailure> {
        self.0.failures
    }

    /// The name of the rebuilt type.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        self.0.type_name
    }

    /// The enum variant that held the field, if the type is an enum.
    #[must_use]
    pub fn variant(&self) -> Option<&'static str> {
        self.0.variant
    }

    /// The factory's error of the (first) failure.
    #[must_use]
    pub fn factory_error(&self) -> &(dyn Error + Send + Sync + 'static) {
        self.first().error()
    }

    /// Takes the factory's error of the (first) failure out.
    #[must_use]
    pub fn into_factory_error(self) -> BoxError {
        let mut failures = self.0.failures;
        failures.swap_remove(0).error
    }

    /// The resources opened before the failure that then failed to close, if any.
    #[must_use]
    pub fn cleanup(&self) -> Option<&CloseError> {
        self.0.cleanup.as_ref()
    }
}

impl fmt::Display for RebuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.0;
        write!(f, "cannot rebuild `{}", inner.type_name)?;
        if let Some(variant) = inner.variant {
            write!(f, "::{variant}")?;
        }
        match inner.failures.as_slice() {
            [one] => write!(f, "`: resource field `{}` failed to open", one.path)?,
            many => {
                write!(f, "`: {} resource fields failed to open", many.len())?;
                for (i, failure) in many.iter().enumerate() {
                    let sep = if i == 0 { ": " } else { "; " };
                    write!(f, "{sep}`{}`: {}", failure.path, Chain(&*failure.error))?;
                }
            }
        }
        if let Some(cleanup) = &inner.cleanup {
            write!(
                f,
                " (and closing what was already opened failed: {cleanup})"
            )?;
        }
        Ok(())
    }
}

// Written by hand, not derived: the box that keeps the error one pointer wide is an
// implementation detail, and a derived `Debug` would show it (`RebuildError(RebuildInner
// { .. })`).
impl fmt::Debug for RebuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.0;
        f.debug_struct("RebuildError")
            .field("type_name", &inner.type_name)
            .field("variant", &inner.variant)
            .field("failures", &inner.failures)
            .field("cleanup", &inner.cleanup)
            .finish()
    }
}

impl Error for RebuildError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self.0.failures.as_slice() {
            [one] => Some(&*one.error),
            // An aggregate has no single cause.
            _ => None,
        }
    }
}

/// One resource that failed to close: where, and the factory's error.
#[derive(Debug)]
pub struct CloseFailure {
    path: FieldPath,
    error: BoxError,
}

impl CloseFailure {
    /// The outermost field of the path (`"0"`, `"1"`, ... for tuple fields).
    #[must_use]
    pub fn field(&self) -> &'static str {
        self.path.field().unwrap_or_default()
    }

    /// The whole path to the resource (`shards[1].conn`).
    #[must_use]
    pub fn path(&self) -> &FieldPath {
        &self.path
    }

    /// The factory's error.
    #[must_use]
    pub fn error(&self) -> &(dyn Error + Send + Sync + 'static) {
        &*self.error
    }

    /// Takes the factory's error out.
    #[must_use]
    pub fn into_error(self) -> BoxError {
        self.error
    }
}

/// One or more resources failed to close in [`Rebuild::close`](crate::Rebuild::close).
///
/// `close` goes on after a failure, at every level of nested values, so this holds
/// every failure, in the order the resources were closed (reverse declaration
/// order), each with its whole [`FieldPath`]. An aggregate has no single cause (the
/// crate's [rule for errors](crate#errors)), so `Display` names every failed path
/// *with* its error's whole chain of sources, and [`source`](Error::source) is
/// `None`; each error is reachable, for downcasting, through
/// [`failures`](CloseError::failures).
///
/// ```
/// use guardian_core::{CloseError, PathSegment};
/// use std::{error::Error, fmt, io};
///
/// /// An error with a cause, as the built-in factories' errors are.
/// #[derive(Debug)]
/// struct SyncFailed(io::Error);
/// impl fmt::Display for SyncFailed {
///     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
///         f.write_str("cannot sync match.log")
///     }
/// }
/// impl Error for SyncFailed {
///     fn source(&self) -> Option<&(dyn Error + 'static)> {
///         Some(&self.0)
///     }
/// }
///
/// let mut err = CloseError::new("MatchLogger");
/// err.push("log", SyncFailed(io::Error::other("no space left on device")));
/// err.push("db", io::Error::other("database is locked"));
/// assert_eq!(
///     err.to_string(),
///     "cannot close `MatchLogger`: field `log`: cannot sync match.log: no space left on \
///      device; field `db`: database is locked"
/// );
/// assert!(err.source().is_none());
/// let fields: Vec<&str> = err.failures().iter().map(|f| f.field()).collect();
/// assert_eq!(fields, ["log", "db"]);
///
/// // Seen from a `Service` whose field `loggers` holds that logger first:
/// let mut loggers = CloseError::new("Vec<MatchLogger>");
/// loggers.push_nested(PathSegment::Index(0), err);
/// let mut service = CloseError::new("Service");
/// service.push_nested(PathSegment::Field("loggers"), loggers);
/// assert_eq!(service.failures()[1].path().to_string(), "loggers[0].db");
/// ```
#[derive(Debug)]
pub struct CloseError {
    type_name: &'static str,
    variant: Option<&'static str>,
    failures: Vec<CloseFailure>,
}

impl CloseError {
    /// An empty error for `type_name`; [`push`](CloseError::push) the failures.
    #[must_use]
    pub fn new(type_name: &'static str) -> Self {
        Self {
            type_name,
            variant: None,
            failures: Vec::new(),
        }
    }

    /// Records the enum variant that was closed.
    #[must_use]
    pub fn with_variant(mut self, variant: &'static str) -> Self {
        self.variant = Some(variant);
        self
    }

    /// Adds the failure of field `field`.
    pub fn push(&mut self, field: &'static str, error: impl Into<BoxError>) {
        self.push_box(field, error.into());
    }

    /// Adds every failure of `inner`, the close of a value held at `segment` (a field,
    /// an element, a map entry), with `segment` in front of its paths.
    pub fn push_nested(&mut self, segment: PathSegment, inner: CloseError) {
        let start = self.failures.len();
        self.failures.extend(inner.failures);
        prefix_all(
            self.failures[start..].iter_mut().map(|f| &mut f.path),
            segment,
        );
    }

    #[cold]
    pub(crate) fn push_box(&mut self, field: &'static str, error: BoxError) {
        self.failures.push(CloseFailure {
            path: FieldPath::of_field(field),
            error,
        });
    }

    /// Every failure, in the order the resources were closed.
    #[must_use]
    pub fn failures(&self) -> &[CloseFailure] {
        &self.failures
    }

    /// Takes the failures out.
    #[must_use]
    pub fn into_failures(self) -> Vec<CloseFailure> {
        self.failures
    }

    /// The name of the closed type.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// The enum variant that was closed, if the type is an enum.
    #[must_use]
    pub fn variant(&self) -> Option<&'static str> {
        self.variant
    }

    /// Whether nothing failed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.failures.is_empty()
    }

    /// `Ok(())` if nothing failed, else `Err(self)`.
    pub fn into_result(self) -> Result<(), CloseError> {
        if self.failures.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for CloseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot close `{}", self.type_name)?;
        if let Some(variant) = self.variant {
            write!(f, "::{variant}")?;
        }
        f.write_str("`")?;
        if self.failures.is_empty() {
            return f.write_str(": no failure recorded");
        }
        for (i, failure) in self.failures.iter().enumerate() {
            let sep = if i == 0 { ": " } else { "; " };
            write!(
                f,
                "{sep}field `{}`: {}",
                failure.path,
                Chain(&*failure.error)
            )?;
        }
        Ok(())
    }
}

impl Error for CloseError {}

/// Puts `segment` in front of every path (cloned for all but the last).
fn prefix_all<'a>(paths: impl Iterator<Item = &'a mut FieldPath>, segment: PathSegment) {
    let mut paths = paths.peekable();
    while let Some(path) = paths.next() {
        if paths.peek().is_none() {
            path.prefix(segment);
            return;
        }
        path.prefix(segment.clone());
    }
}

/// Displays an error followed by its chain of sources, `a: b: c`: the one way this
/// crate prints a whole chain (a [`CloseError`]'s failures, a serde load error).
pub(crate) struct Chain<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(error) = source {
            write!(f, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}
