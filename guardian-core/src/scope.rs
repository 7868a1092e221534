//! [`scope`]: runs a body with a value, then closes the value on every path and
//! reports both what the body returned and what closing returned ([`ScopeError`]).
//!
//! Python has `with`; Rust's `Drop` closes on every path but has nowhere to put an
//! error. `scope` is the `with` of the Guardian Rule: the value is closed after the
//! body whatever the body returned, its close error is returned to the caller, and a
//! body error never hides a close failure (nor the reverse).

use std::error::Error;
use std::fmt;

use crate::error::Chain;
use crate::{CloseError, Guard, Rebuild};

/// Runs `body` with `value`, then closes `value` whatever the body returned, and
/// returns the body's result, or the body's error, the close's error, or both.
///
/// - The body borrows the value mutably; closing takes it by value afterwards.
/// - **Both errors are kept**: if the body fails and closing fails too, the error is
///   [`ScopeError::Both`]; a body error never hides a close failure, and the reverse.
/// - If the body succeeds but closing fails, the body's result is dropped and the
///   error is [`ScopeError::Close`]: what it computed may rest on data that never
///   reached its destination.
/// - **A panic in the body** still closes the value, on the way out (best effort,
///   through [`Guard`]'s drop): a close failure then goes to the close-error hook
///   ([`set_close_error_hook`](crate::set_close_error_hook)), and the panic goes on.
///
/// ```
/// use guardian_core::{Factory, Rebuild, scope};
/// use std::io::{self, Write};
///
/// /// A buffered writer, flushed (and checked) on close. Its recipe says whether it
/// /// writes to a sink or to a device that is always full, to show a close failure.
/// struct Out;
/// impl Factory for Out {
///     type Config = bool;
///     type Resource = io::BufWriter<Box<dyn Write + Send>>;
///     type Error = io::Error;
///     fn open(&self, full: &bool) -> io::Result<Self::Resource> {
///         let inner: Box<dyn Write + Send> = if *full { Box::new(Full) } else { Box::new(io::sink()) };
///         Ok(io::BufWriter::new(inner))
///     }
///     fn close(&self, mut out: Self::Resource) -> io::Result<()> {
///         out.flush()
///     }
/// }
/// struct Full;
/// impl Write for Full {
///     fn write(&mut self, _: &[u8]) -> io::Result<usize> {
///         Err(io::Error::new(io::ErrorKind::StorageFull, "no space left on device"))
///     }
///     fn flush(&mut self) -> io::Result<()> {
///         Ok(())
///     }
/// }
///
/// #[derive(Rebuild)]
/// struct Report {
///     #[config]
///     full: bool,
///     #[resource(factory = Out, from = full)]
///     out: io::BufWriter<Box<dyn Write + Send>>,
/// }
/// # impl Report {
/// #     fn open(full: bool) -> io::Result<Self> { Ok(Report { full, out: Out.open(&full)? }) }
/// # }
///
/// // The body's value, and the report closed.
/// let lines = scope(Report::open(false)?, |report| {
///     writeln!(report.out, "total: 3")?;
///     Ok::<_, io::Error>(1)
/// })?;
/// assert_eq!(lines, 1);
///
/// // The body succeeded, but the buffered line could not be written on close.
/// let err = scope(Report::open(true)?, |report| writeln!(report.out, "total: 3")).unwrap_err();
/// let close = err.close_error().expect("closing failed");
/// assert_eq!(close.failures()[0].path().to_string(), "out");
/// assert!(err.body_error().is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[inline]
pub fn scope<T, R, E>(
    value: T,
    body: impl FnOnce(&mut T) -> Result<R, E>,
) -> Result<R, ScopeError<E>>
where
    T: Rebuild,
{
    let mut guard = Guard::new(value);
    let outcome = body(&mut guard);
    let closed = guard.close();
    match (outcome, closed) {
        (Ok(value), Ok(())) => Ok(value),
        (Err(body), Ok(())) => Err(ScopeError::Body(body)),
        (Ok(_), Err(close)) => Err(ScopeError::Close(close)),
        (Err(body), Err(close)) => Err(ScopeError::Both { body, close }),
    }
}

/// What failed in a [`scope`]: the body, closing the value, or both.
///
/// It follows the crate's [rule for errors](crate#errors):
///
/// - With **one** failure, it is that failure and adds nothing to it, so it is
///   *transparent*: `Display` is the failure's own and [`source`](Error::source) is
///   the failure's source. A reporter that walks the chain prints each message once,
///   as it would for the failure alone; [`body_error`](ScopeError::body_error) and
///   [`close_error`](ScopeError::close_error) give the failure itself, typed.
/// - With **both**, it is an aggregate: `Display` lists both, each with its whole
///   chain (the body's first, in the order they happened), and `source` is `None`.
///
/// `ScopeError<E>` is an [`Error`] when the body's error `E` is one. A body that
/// returns `Box<dyn Error>` or `anyhow::Error` (neither implements `Error`) gives a
/// `ScopeError` that is not: return a concrete error type from the body, or take the
/// parts out with [`into_parts`](ScopeError::into_parts).
#[derive(Debug)]
pub enum ScopeError<E> {
    /// The body failed; the value closed cleanly.
    Body(E),
    /// The body succeeded; closing the value failed (the body's result was dropped).
    Close(CloseError),
    /// The body failed, and closing the value failed too.
    Both {
        /// The body's error.
        body: E,
        /// The close's error.
        close: CloseError,
    },
}

impl<E> ScopeError<E> {
    /// The body's error, if the body failed.
    #[must_use]
    pub fn body_error(&self) -> Option<&E> {
        match self {
            ScopeError::Body(body) | ScopeError::Both { body, .. } => Some(body),
            ScopeError::Close(_) => None,
        }
    }

    /// The close's error, if closing the value failed.
    #[must_use]
    pub fn close_error(&self) -> Option<&CloseError> {
        match self {
            ScopeError::Close(close) | ScopeError::Both { close, .. } => Some(close),
            ScopeError::Body(_) => None,
        }
    }

    /// Takes the body's error out (dropping the close's, if any).
    #[must_use]
    pub fn into_body_error(self) -> Option<E> {
        self.into_parts().0
    }

    /// Takes the close's error out (dropping the body's, if any).
    #[must_use]
    pub fn into_close_error(self) -> Option<CloseError> {
        self.into_parts().1
    }

    /// Both errors: the body's and the close's, at least one of them `Some`.
    #[must_use]
    pub fn into_parts(self) -> (Option<E>, Option<CloseError>) {
        match self {
            ScopeError::Body(body) => (Some(body), None),
            ScopeError::Close(close) => (None, Some(close)),
            ScopeError::Both { body, close } => (Some(body), Some(close)),
        }
    }
}

impl<E: Error> fmt::Display for ScopeError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScopeError::Body(body) => fmt::Display::fmt(body, f),
            ScopeError::Close(close) => fmt::Display::fmt(close, f),
            ScopeError::Both { body, close } => {
                write!(
                    f,
                    "the scope's body failed, and so did closing its value: {body}"
                )?;
                if let Some(source) = body.source() {
                    write!(f, ": {}", Chain(source))?;
                }
                // A `CloseError` lists each failure with its chain, and has no source.
                write!(f, "; {close}")
            }
        }
    }
}

impl<E: Error> Error for ScopeError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            // Transparent: the failure's own cause.
            ScopeError::Body(body) => body.source(),
            ScopeError::Close(close) => close.source(),
            // An aggregate has no single cause.
            ScopeError::Both { .. } => None,
        }
    }
}
