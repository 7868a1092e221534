//! The errors of [`Rebuild`](crate::Rebuild): [`RebuildError`] for a resource that
//! failed to open, [`CloseError`] for every resource that failed to close. Both follow
//! the crate's [rule for errors](crate#errors).

use std::error::Error;
use std::fmt;

/// A boxed error, as the factories' errors are kept.
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// A `#[resource]` field failed to open during [`Rebuild::rebuild`](crate::Rebuild::rebuild).
///
/// It names the type, the variant (for enums) and the field; the factory's own error
/// is its [`source`](Error::source), so it is printed by error reporters that walk
/// the chain (`anyhow`'s `{:#}`, `eyre`) and can be downcast. `Display` does not
/// repeat the source's message (the crate's [rule for errors](crate#errors)).
///
/// If closing the resources that had already been opened failed as well, those
/// failures are kept in [`cleanup`](RebuildError::cleanup): nothing is lost. They are
/// not the cause of the failure, so they are not the source; `Display` adds them, in
/// parentheses, each with its whole chain, because no chain would reach them.
///
/// ```
/// use guardian_core::RebuildError;
/// use std::error::Error as _;
///
/// let err = RebuildError::new("MatchLogger", "log", std::io::Error::other("disk on fire"));
/// assert_eq!(err.field(), "log");
/// assert_eq!(err.to_string(), "cannot rebuild `MatchLogger`: resource field `log` failed to open");
/// assert_eq!(err.source().unwrap().to_string(), "disk on fire");
/// ```
pub struct RebuildError(Box<RebuildInner>);

struct RebuildInner {
    type_name: &'static str,
    variant: Option<&'static str>,
    field: &'static str,
    source: BoxError,
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
    pub fn in_variant(mut self, variant: &'static str) -> Self {
        self.0.variant = Some(variant);
        self
    }

    /// Records the failures of closing the resources that were opened before this one.
    #[must_use]
    pub fn with_cleanup(mut self, cleanup: CloseError) -> Self {
        self.0.cleanup = Some(cleanup);
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
            field,
            source,
            cleanup: None,
        }))
    }

    /// The name of the field whose resource failed to open (`"0"`, `"1"`, ... for
    /// tuple fields).
    #[must_use]
    pub fn field(&self) -> &'static str {
        self.0.field
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

    /// The factory's error (also returned by [`source`](Error::source)).
    #[must_use]
    pub fn factory_error(&self) -> &(dyn Error + Send + Sync + 'static) {
        &*self.0.source
    }

    /// Takes the factory's error out.
    #[must_use]
    pub fn into_factory_error(self) -> BoxError {
        self.0.source
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
        write!(f, "`: resource field `{}` failed to open", inner.field)?;
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
            .field("field", &inner.field)
            .field("source", &inner.source)
            .field("cleanup", &inner.cleanup)
            .finish()
    }
}

impl Error for RebuildError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&*self.0.source)
    }
}

/// One resource field that failed to close: its name and the factory's error.
#[derive(Debug)]
pub struct CloseFailure {
    field: &'static str,
    error: BoxError,
}

impl CloseFailure {
    /// The field's name (`"0"`, `"1"`, ... for tuple fields).
    #[must_use]
    pub fn field(&self) -> &'static str {
        self.field
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

/// One or more `#[resource]` fields failed to close in
/// [`Rebuild::close`](crate::Rebuild::close).
///
/// `close` goes on after a failure, so this holds every failure, in the order the
/// fields were closed (reverse declaration order). An aggregate has no single cause
/// (the crate's [rule for errors](crate#errors)), so `Display` names every failed
/// field *with* its error's whole chain of sources, and [`source`](Error::source) is
/// `None`; each error is reachable, for downcasting, through
/// [`failures`](CloseError::failures).
///
/// ```
/// use guardian_core::CloseError;
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
    pub fn in_variant(mut self, variant: &'static str) -> Self {
        self.variant = Some(variant);
        self
    }

    /// Adds the failure of field `field`.
    pub fn push(&mut self, field: &'static str, error: impl Into<BoxError>) {
        self.push_box(field, error.into());
    }

    #[cold]
    pub(crate) fn push_box(&mut self, field: &'static str, error: BoxError) {
        self.failures.push(CloseFailure { field, error });
    }

    /// Every failure, in the order the fields were closed.
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
                failure.field,
                Chain(&*failure.error)
            )?;
        }
        Ok(())
    }
}

impl Error for CloseError {}

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
