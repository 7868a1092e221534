//! [`Blocking`]: any blocking [`Factory`] as an [`AsyncFactory`], run on tokio's
//! blocking pool; its resource lives in a [`BlockingCell`].

use std::borrow::Borrow;
use std::convert::Infallible;
use std::error::Error;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::{AsyncFactory, Factory};

/// Serves an async type with a blocking [`Factory`] (SQLite, a lock, any factory of
/// `fs` or `net`): every call of the factory, `open`, `reopen`, `check` and `close`,
/// runs on tokio's blocking pool ([`spawn_blocking`]), never on the async executor.
///
/// ```
/// use guardian_core::AsyncFactory;
/// use guardian_core::fs::{AbsolutePath, ResumeReadFile};
/// use guardian_core::tokio::{Blocking, BlockingCell};
/// use std::io::Read;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let manifest = AbsolutePath::new(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))?;
/// let factory = Blocking::new(ResumeReadFile);
/// let live: BlockingCell<std::fs::File> = factory.open(&manifest).await?;
/// // Every use of the resource is a call on the blocking pool, too.
/// live.call(|file| file.read_exact(&mut [0; 9])).await??;
///
/// // The reopen is ResumeReadFile's own: it reads the live cursor, on the pool.
/// let copy = factory.reopen(&manifest, &live).await?;
/// let position = copy.call(|file| std::io::Seek::stream_position(file)).await??;
/// assert_eq!(position, 9);
///
/// factory.close(copy).await?;
/// factory.close(live).await?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })
/// # }
/// ```
///
/// # Why the resource is a [`BlockingCell`]
///
/// [`Factory::reopen`] borrows the live resource, and [`Factory::check`] borrows it
/// mutably, while [`spawn_blocking`] runs only `'static` work: a borrow cannot be sent
/// to another thread without blocking the borrower's thread until the work is done
/// (the "scoped task" problem: async Rust cannot do it soundly). That would leave two
/// answers, both worse:
///
/// - `tokio::task::block_in_place` (feature `rt-multi-thread`) runs the work on the current
///   worker thread after handing its other tasks away. It panics on the
///   current-thread runtime (the default of `#[tokio::test]`), and it stops every
///   other future of the same task while it runs: the other opens of the same
///   rebuild, which a derived rebuild joins in one task, would wait for it.
/// - Calling [`open`](Factory::open) instead of `reopen` would drop what `reopen`
///   exists for: SQLite's refusal of a hollow copy, the live cursor of
///   [`ResumeReadFile`](crate::fs::ResumeReadFile).
///
/// So the resource lives in a [`BlockingCell`], a shared handle (an `Arc` of a mutex)
/// that the pool's threads can hold: `reopen` sends a second handle to the live cell
/// to the pool, and the factory's `reopen` runs there with the live resource borrowed
/// from it, exactly as it would in blocking code. It works the same on every tokio
/// runtime, and a rebuild's other opens go on meanwhile.
///
/// The cell is also what async code needs anyway: a blocking resource (a SQLite
/// connection) must be used on the blocking pool, through
/// [`BlockingCell::call`], and many are not `Sync` (`rusqlite::Connection` is not),
/// while every field of an async type must be (its rebuild future borrows it across
/// threads). The cell is `Sync` for any `Send` resource.
///
/// # Bounds
///
/// The pool runs `'static` work, so each call clones what it sends there: the factory
/// (`F: Clone`; the built-in factories are unit structs or small values) and the
/// recipe (`F::Config: ToOwned`, as `AbsolutePath`, `Path`, `str`, `SqliteConfig` are).
///
/// # Panics and cancellation
///
/// A factory that panics on the pool panics in the awaiting task, as a direct call
/// would ([`resume_unwind`](std::panic::resume_unwind)). Like every factory of the
/// `tokio` module, it needs a tokio runtime, and panics without one, as tokio's own
/// I/O does. A call the pool has started cannot be stopped: if its future is dropped
/// (a timeout), the call still runs to the end and its result is dropped (a resource
/// it opened is dropped, which releases its descriptors; it is not closed). If the
/// runtime shuts down before the pool starts a call, the call fails with a
/// [`BlockingError`] saying so.
///
/// [`spawn_blocking`]: ::tokio::task::spawn_blocking
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Blocking<F> {
    factory: F,
}

impl<F> Blocking<F> {
    /// Serves async types with `factory`, run on tokio's blocking pool.
    pub const fn new(factory: F) -> Self {
        Self { factory }
    }

    /// The blocking factory.
    pub const fn inner(&self) -> &F {
        &self.factory
    }
}

impl<F> AsyncFactory for Blocking<F>
where
    F: Factory + Clone + Send + Sync + 'static,
    F::Config: ToOwned + Sync,
    <F::Config as ToOwned>::Owned: Send + 'static,
    F::Resource: Send + 'static,
{
    type Config = F::Config;
    type Resource = BlockingCell<F::Resource>;
    type Error = BlockingError<F::Error>;

    /// `F::open` on the blocking pool.
    fn open(
        &self,
        config: &F::Config,
    ) -> impl Future<Output = Result<BlockingCell<F::Resource>, BlockingError<F::Error>>> + Send
    {
        let factory = self.factory.clone();
        let config = config.to_owned();
        async move {
            let opened = run(BlockingOp::Open, move || {
                Some(factory.open(config.borrow()))
            })
            .await?;
            opened
                .map(BlockingCell::new)
                .map_err(|error| BlockingError::factory(BlockingOp::Open, error))
        }
    }

    /// `F::reopen` on the blocking pool, with the live resource borrowed from its cell
    /// there (it waits for a call in flight on the live cell to end).
    fn reopen(
        &self,
        config: &F::Config,
        live: &BlockingCell<F::Resource>,
    ) -> impl Future<Output = Result<BlockingCell<F::Resource>, BlockingError<F::Error>>> + Send
    {
        let factory = self.factory.clone();
        let config = config.to_owned();
        let live = Arc::clone(&live.shared);
        async move {
            let reopened = run(BlockingOp::Reopen, move || {
                lock(&live)
                    .as_ref()
                    .map(|live| factory.reopen(config.borrow(), live))
            })
            .await?;
            reopened
                .map(BlockingCell::new)
                .map_err(|error| BlockingError::factory(BlockingOp::Reopen, error))
        }
    }

    /// `F::check` on the blocking pool.
    fn check(
        &self,
        resource: &mut BlockingCell<F::Resource>,
    ) -> impl Future<Output = Result<(), BlockingError<F::Error>>> + Send {
        let factory = self.factory.clone();
        let shared = Arc::clone(&resource.shared);
        async move {
            let checked = run(BlockingOp::Check, move || {
                lock(&shared)
                    .as_mut()
                    .map(|resource| factory.check(resource))
            })
            .await?;
            checked.map_err(|error| BlockingError::factory(BlockingOp::Check, error))
        }
    }

    /// `F::close` on the blocking pool, once the calls in flight on the cell have
    /// ended.
    fn close(
        &self,
        resource: BlockingCell<F::Resource>,
    ) -> impl Future<Output = Result<(), BlockingError<F::Error>>> + Send {
        let factory = self.factory.clone();
        async move {
            let closed = run(BlockingOp::Close, move || {
                let taken = lock(&resource.shared).take();
                taken.map(|resource| factory.close(resource))
            })
            .await?;
            closed.map_err(|error| BlockingError::factory(BlockingOp::Close, error))
        }
    }
}

/// The resource of a [`Blocking`] factory: a blocking resource that async code uses
/// on tokio's blocking pool, through [`call`](BlockingCell::call).
///
/// It is a shared handle to the resource (an `Arc` of a mutex), so that the pool's
/// threads can hold it while a call runs; it is not `Clone`, so the value that holds
/// it is its only owner, and closing it (through [`Blocking`]'s
/// [`close`](AsyncFactory::close)) waits for the calls in flight, then closes the
/// resource. It is `Send` and `Sync` for any `Send` resource, such as a
/// `rusqlite::Connection`, which is not `Sync` itself.
///
/// Dropped without being closed, it drops the resource when the last call in flight
/// ends, on the thread that drops it last (the Guardian Rule: close it).
pub struct BlockingCell<R> {
    shared: Arc<Mutex<Option<R>>>,
}

impl<R> BlockingCell<R> {
    /// Puts a resource opened some other way in a cell.
    pub fn new(resource: R) -> Self {
        Self {
            shared: Arc::new(Mutex::new(Some(resource))),
        }
    }
}

impl<R: Send + 'static> BlockingCell<R> {
    /// Runs `f` with the resource on tokio's blocking pool, and gives its result.
    ///
    /// Calls on one cell run one at a time (the cell's mutex is held while `f` runs),
    /// in the order the pool starts them. A panic in `f` panics the awaiting task
    /// ([`resume_unwind`](std::panic::resume_unwind)); the resource stays usable
    /// (the mutex does not stay poisoned). If the future is dropped while `f` runs,
    /// `f` still runs to the end.
    ///
    /// The error is only the pool's: the runtime shut down before the call started.
    ///
    /// ```
    /// use guardian_core::tokio::BlockingCell;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let cell = BlockingCell::new(vec![1, 2, 3]);
    /// let sum: i32 = cell.call(|numbers| numbers.iter().sum()).await?;
    /// assert_eq!(sum, 6);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })
    /// # }
    /// ```
    pub async fn call<T, C>(&self, f: C) -> Result<T, BlockingError>
    where
        C: FnOnce(&mut R) -> T + Send + 'static,
        T: Send + 'static,
    {
        let shared = Arc::clone(&self.shared);
        run(BlockingOp::Call, move || lock(&shared).as_mut().map(f)).await
    }
}

impl<R> fmt::Debug for BlockingCell<R> {
    /// Shows the cell, not the resource (reading it would need the lock).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingCell").finish_non_exhaustive()
    }
}

/// What a [`Blocking`] factory or a [`BlockingCell`] was asked to do; see
/// [`BlockingError::op`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BlockingOp {
    /// [`AsyncFactory::open`].
    Open,
    /// [`AsyncFactory::reopen`].
    Reopen,
    /// [`AsyncFactory::check`].
    Check,
    /// [`AsyncFactory::close`].
    Close,
    /// [`BlockingCell::call`].
    Call,
}

impl BlockingOp {
    fn verb(self) -> &'static str {
        match self {
            BlockingOp::Open => "open",
            BlockingOp::Reopen => "reopen",
            BlockingOp::Check => "check",
            BlockingOp::Close => "close",
            BlockingOp::Call => "call",
        }
    }
}

/// A [`Blocking`] factory failed: the factory's own error `E`, or the blocking pool
/// did not run the call.
///
/// With the factory's error it is *transparent*: `Display` and
/// [`source`](Error::source) are the factory's, so the printed chain is the one the
/// blocking factory gives (`cannot open /srv/app.db ...: unable to open database
/// file`), and [`factory_error`](BlockingError::factory_error) gives the error for
/// code to read (`SqliteError::op`, `FileError::kind`).
///
/// Otherwise the factory was not called, a refusal with no cause below it (the crate's
/// [rule for errors](crate#errors)): `Display` ends with the reason, `source` is
/// `None`. The reasons: the runtime shut down before its blocking pool started the
/// call; or the resource had been closed (a call queued by a future that was dropped,
/// which nobody awaits).
///
/// `BlockingError` without a parameter is the error of [`BlockingCell::call`], which
/// has no factory error.
///
/// ```
/// use guardian_core::AsyncFactory;
/// use guardian_core::fs::{AbsolutePath, FileError, FileOp, ReadFile};
/// use guardian_core::tokio::{Blocking, BlockingOp};
/// use std::error::Error as _;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let missing = AbsolutePath::new("/nonexistent/guardian/scores.txt")?;
/// let err = Blocking::new(ReadFile).open(&missing).await.unwrap_err();
/// assert_eq!(err.op(), BlockingOp::Open);
/// assert_eq!(err.to_string(), "cannot open /nonexistent/guardian/scores.txt for reading");
/// let cause: &FileError = err.factory_error().unwrap();
/// assert_eq!(cause.op(), FileOp::OpenRead);
/// assert_eq!(err.source().unwrap().to_string(), cause.source().unwrap().to_string());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })
/// # }
/// ```
#[derive(Debug)]
pub struct BlockingError<E = Infallible> {
    op: BlockingOp,
    kind: Kind<E>,
}

#[derive(Debug)]
enum Kind<E> {
    Factory(E),
    NotRun(NotRun),
}

#[derive(Clone, Copy, Debug)]
enum NotRun {
    ShutDown,
    Closed,
}

impl<E> BlockingError<E> {
    #[cold]
    fn factory(op: BlockingOp, error: E) -> Self {
        Self {
            op,
            kind: Kind::Factory(error),
        }
    }

    #[cold]
    fn not_run(op: BlockingOp, why: NotRun) -> Self {
        Self {
            op,
            kind: Kind::NotRun(why),
        }
    }

    /// What was asked.
    #[must_use]
    pub fn op(&self) -> BlockingOp {
        self.op
    }

    /// The factory's error, if the factory ran and failed; `None` if the pool did not
    /// run it.
    #[must_use]
    pub fn factory_error(&self) -> Option<&E> {
        match &self.kind {
            Kind::Factory(error) => Some(error),
            Kind::NotRun(_) => None,
        }
    }

    /// Takes the factory's error out, if the factory ran and failed.
    #[must_use]
    pub fn into_factory_error(self) -> Option<E> {
        match self.kind {
            Kind::Factory(error) => Some(error),
            Kind::NotRun(_) => None,
        }
    }
}

impl<E: fmt::Display> fmt::Display for BlockingError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Factory(error) => fmt::Display::fmt(error, f),
            Kind::NotRun(why) => {
                let verb = self.op.verb();
                let reason = match why {
                    NotRun::ShutDown => {
                        "tokio's runtime shut down before its blocking pool started the call"
                    }
                    NotRun::Closed => "the resource was already closed",
                };
                write!(f, "cannot {verb} a blocking resource: {reason}")
            }
        }
    }
}

impl<E: Error> Error for BlockingError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.kind {
            // Transparent: the factory's error stands in its place.
            Kind::Factory(error) => error.source(),
            Kind::NotRun(_) => None,
        }
    }
}

/// The resource, whatever a panicked call left it as: the cell's users decide what a
/// panic means, as with tokio's own mutex, which has no poisoning.
fn lock<R>(shared: &Mutex<Option<R>>) -> MutexGuard<'_, Option<R>> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `job` on the blocking pool of the current runtime and gives its result, or
/// `None` if the runtime shut down before the pool started it (a blocking task is
/// never aborted otherwise). A panic in `job` is resumed here.
///
/// # Panics
/// Outside a tokio runtime (tokio's own message), and when `job` panics.
pub(crate) async fn on_pool<T, J>(job: J) -> Option<T>
where
    J: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match ::tokio::task::spawn_blocking(job).await {
        Ok(value) => Some(value),
        Err(error) => match error.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(_) => None,
        },
    }
}

/// [`on_pool`], with the refusal of a [`Blocking`] call that did not run.
async fn run<T, J, E>(op: BlockingOp, job: J) -> Result<T, BlockingError<E>>
where
    J: FnOnce() -> Option<T> + Send + 'static,
    T: Send + 'static,
{
    match on_pool(job).await {
        Some(Some(value)) => Ok(value),
        Some(None) => Err(BlockingError::not_run(op, NotRun::Closed)),
        None => Err(BlockingError::not_run(op, NotRun::ShutDown)),
    }
}
