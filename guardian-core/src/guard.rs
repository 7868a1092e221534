//! [`Guard`]: a value that is closed when it goes out of scope, and the process-wide
//! hook ([`set_close_error_hook`]) that hears about a close that failed there.
//!
//! [`Rebuild::close`] reports every failure, but only if it is called: `Drop` has
//! nowhere to report one. A `Guard` closes its value on every path. Closed explicitly
//! ([`Guard::close`]), it returns the [`CloseError`] like `close` does; dropped (an
//! early `return`, a `?`, a panic), it closes anyway and hands a failure to the
//! close-error hook, so that no failure is ever silent. [`scope`](crate::scope)
//! builds on it: it closes explicitly after its body, so the caller gets the error,
//! and leaves the drop to the guard only when the body panics.

use std::fmt;
use std::io::{self, Write as _};
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, PoisonError, RwLock};

use crate::{CloseError, Rebuild};

/// Owns a value and closes it when dropped; [`close`](Guard::close) closes it and
/// returns the error instead.
///
/// It dereferences to the value. [`into_inner`](Guard::into_inner) takes the value
/// back out, and then nothing closes it (the Guardian Rule is yours again).
///
/// Dropped without `close`, a guard closes its value with [`Rebuild::close`] and, if
/// that fails, hands the [`CloseError`] to the process-wide hook
/// ([`set_close_error_hook`]), whose default writes one line to standard error (or,
/// with feature `tracing`, emits an error event). A drop cannot return an error, and
/// swallowing one is what the Guardian Rule forbids.
///
/// ```
/// use guardian_core::{Factory, Guard, Rebuild};
/// use std::io::Write;
///
/// /// A writer whose buffer is flushed (and checked) on close.
/// struct Buffered;
/// impl Factory for Buffered {
///     type Config = ();
///     type Resource = std::io::BufWriter<std::io::Sink>;
///     type Error = std::io::Error;
///     fn open(&self, (): &()) -> std::io::Result<Self::Resource> {
///         Ok(std::io::BufWriter::new(std::io::sink()))
///     }
///     fn close(&self, mut out: Self::Resource) -> std::io::Result<()> {
///         out.flush()
///     }
/// }
///
/// #[derive(Rebuild)]
/// struct Report {
///     #[resource(factory = Buffered)]
///     out: std::io::BufWriter<std::io::Sink>,
/// }
///
/// fn write(report: &mut Guard<Report>) -> std::io::Result<()> {
///     writeln!(report.out, "ok") // through `DerefMut`
/// }
///
/// let mut report = Guard::new(Report { out: Buffered.open(&())? });
/// write(&mut report)?; // if this fails, `?` drops the guard, which closes the report
/// report.close()?;     // on the happy path, close and see the error
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a guard closes its value when dropped: keep it for as long as the value is used"]
pub struct Guard<T: Rebuild> {
    /// `Some` from `new` until `close`, `into_inner` or `drop` takes it, each of
    /// which consumes the guard: every method that can be called sees `Some`.
    value: Option<T>,
}

impl<T: Rebuild> Guard<T> {
    /// Guards `value`: it is closed when the guard is closed or dropped.
    #[inline]
    pub fn new(value: T) -> Self {
        Guard { value: Some(value) }
    }

    /// Closes the value and returns what [`Rebuild::close`] returned.
    #[inline]
    pub fn close(mut self) -> Result<(), CloseError> {
        match self.value.take() {
            Some(value) => value.close(),
            None => Ok(()),
        }
    }

    /// Takes the value out without closing it: the guard is disarmed, and closing
    /// the value is the caller's again.
    #[inline]
    #[must_use = "the value is no longer guarded: close it"]
    pub fn into_inner(mut self) -> T {
        match self.value.take() {
            Some(value) => value,
            None => unreachable!("a guard holds its value until it is consumed"),
        }
    }
}

impl<T: Rebuild> Deref for Guard<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        match &self.value {
            Some(value) => value,
            None => unreachable!("a guard holds its value until it is consumed"),
        }
    }
}

impl<T: Rebuild> DerefMut for Guard<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        match &mut self.value {
            Some(value) => value,
            None => unreachable!("a guard holds its value until it is consumed"),
        }
    }
}

impl<T: Rebuild + fmt::Debug> fmt::Debug for Guard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Guard").field(&self.value).finish()
    }
}

/// Closes the value, and hands a failure to the close-error hook.
impl<T: Rebuild> Drop for Guard<T> {
    fn drop(&mut self) {
        if let Some(value) = self.value.take()
            && let Err(error) = value.close()
        {
            dropped_close_failed(&error);
        }
    }
}

/// A close-error hook: see [`set_close_error_hook`].
type Hook = Arc<dyn Fn(&CloseError) + Send + Sync + 'static>;

/// The hook set by [`set_close_error_hook`]; `None` is the default hook.
static HOOK: RwLock<Option<Hook>> = RwLock::new(None);

/// Replaces the process-wide hook that hears about a [`Guard`] whose value failed to
/// close when it was dropped (the way [`std::panic::set_hook`] replaces the panic
/// hook).
///
/// It also hears about a pooled connection that failed to close when its pool
/// discarded it (features `r2d2` and `deadpool`: a connection that failed its check,
/// went past its age, or was dropped with the pool): the error then names the pool's
/// type and the failed path `connection`.
///
/// The hook gets the [`CloseError`] (its [`type_name`](CloseError::type_name) says
/// which type, its [`failures`](CloseError::failures) every path and error); it may
/// be called from any thread, during a panic too ([`std::thread::panicking`] says
/// so), and must not panic itself: a panic in a drop that runs during a panic
/// aborts the process.
///
/// The default hook writes one line to standard error:
///
/// ```text
/// guardian: a value was dropped without close(), and closing it failed: cannot close `Service`: field `shards[1].out`: ...
/// ```
///
/// With feature `tracing`, it emits an error event (target `guardian_core`, fields
/// `type_name`, `failures` and `error`) instead, and writes the line only when no
/// subscriber takes the event (none is installed, or its filter drops it), so a
/// failure is never lost.
///
/// ```
/// use guardian_core::{set_close_error_hook, take_close_error_hook};
///
/// set_close_error_hook(Box::new(|error| {
///     // Send it wherever the program reports errors.
///     eprintln!("close failed in a drop: {error}");
/// }));
/// // ... and back to the default.
/// let _ours = take_close_error_hook();
/// ```
pub fn set_close_error_hook(hook: Box<dyn Fn(&CloseError) + Send + Sync + 'static>) {
    let hook: Hook = Arc::from(hook);
    *HOOK.write().unwrap_or_else(PoisonError::into_inner) = Some(hook);
}

/// Puts the default close-error hook back and returns the one that was set (the
/// default itself if none was), as [`std::panic::take_hook`] does.
#[must_use = "the hook is returned so that it can be restored; drop it to discard it"]
pub fn take_close_error_hook() -> Box<dyn Fn(&CloseError) + Send + Sync + 'static> {
    let taken = HOOK.write().unwrap_or_else(PoisonError::into_inner).take();
    match taken {
        Some(hook) => Box::new(move |error: &CloseError| hook(error)),
        None => Box::new(default_hook),
    }
}

/// Hands `error` to the hook. The hook runs outside the lock, so it may itself drop
/// a guard or set the hook. The pools (features `r2d2`, `deadpool`) call it too, for
/// a connection they discarded that failed to close.
#[cold]
#[inline(never)]
pub(crate) fn dropped_close_failed(error: &CloseError) {
    let hook = HOOK.read().unwrap_or_else(PoisonError::into_inner).clone();
    match hook {
        Some(hook) => hook(error),
        None => default_hook(error),
    }
}

/// The default hook: an error event with feature `tracing` when a subscriber takes
/// it, else one line to standard error.
fn default_hook(error: &CloseError) {
    #[cfg(feature = "tracing")]
    if tracing::enabled!(target: "guardian_core", tracing::Level::ERROR) {
        tracing::error!(
            target: "guardian_core",
            type_name = error.type_name(),
            failures = error.failures().len(),
            error = %error,
            "a value was dropped without close(), and closing it failed",
        );
        return;
    }
    write_line(error);
}

/// One line to standard error. A failure to write it has nowhere left to go: it is
/// ignored rather than turned into a panic inside a drop.
fn write_line(error: &CloseError) {
    let during = if std::thread::panicking() {
        " (during a panic)"
    } else {
        ""
    };
    let _ = writeln!(
        io::stderr().lock(),
        "guardian: a value was dropped without close(){during}, and closing it failed: {error}"
    );
}
