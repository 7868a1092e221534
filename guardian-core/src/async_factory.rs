//! The async contract: [`AsyncFactory`] opens one resource from its recipe without
//! blocking the executor, [`AsyncRebuild`] copies a whole value by copying its config
//! and reopening its resources, all of them at once. Public items only: the docs
//! readers see are on the traits.

use std::future::Future;

use crate::{CloseError, RebuildError};

/// Opens a live resource from its recipe, asynchronously: the async counterpart of
/// [`Factory`](crate::Factory).
///
/// Only [`open`](AsyncFactory::open) is required. [`reopen`](AsyncFactory::reopen)
/// lets a factory carry state over from the live resource, and
/// [`close`](AsyncFactory::close) lets it flush and report errors that `Drop` would
/// swallow. Every future is `Send`, so a rebuild can run on a multi-threaded executor
/// (`tokio::spawn`).
///
/// A blocking [`Factory`](crate::Factory) serves an async type through
/// `guardian_core::tokio::Blocking` (feature `tokio`), which runs it on the runtime's
/// blocking pool rather than on the executor.
///
/// # Example
///
/// ```
/// use guardian_core::AsyncFactory;
/// use std::convert::Infallible;
///
/// /// A "connection" that just remembers its address, opened asynchronously.
/// struct Connect;
/// impl AsyncFactory for Connect {
///     type Config = str;
///     type Resource = String;
///     type Error = Infallible;
///     async fn open(&self, address: &str) -> Result<String, Infallible> {
///         Ok(format!("connected to {address}"))
///     }
/// }
///
/// # fn block_on<F: std::future::Future>(future: F) -> F::Output {
/// #     // This future is ready at once; a real program awaits it on its runtime.
/// #     let mut future = std::pin::pin!(future);
/// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop {
/// #         if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut cx) {
/// #             return value;
/// #         }
/// #     }
/// # }
/// let live = block_on(Connect.open("db-1"))?;
/// let copy = block_on(Connect.reopen("db-1", &live))?; // the provided reopen opens afresh
/// assert_eq!(copy, "connected to db-1");
/// block_on(Connect.close(copy))?; // the provided close drops it
/// # Ok::<(), Infallible>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a guardian `AsyncFactory`",
    label = "an async type's `factory = ...` must give a value whose type implements `guardian_core::AsyncFactory`",
    note = "a blocking `Factory` serves an async type through `guardian_core::tokio::Blocking::new(...)` (feature `tokio`); or implement `guardian_core::AsyncFactory` for `{Self}` (only `open` is required)"
)]
pub trait AsyncFactory: Sync {
    /// The recipe a resource is opened from, borrowed from a `#[config]` field.
    type Config: ?Sized + Sync;
    /// The live resource this factory opens.
    type Resource: Send;
    /// What goes wrong when opening or closing.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Opens a fresh resource from its recipe.
    fn open(
        &self,
        config: &Self::Config,
    ) -> impl Future<Output = Result<Self::Resource, Self::Error>> + Send;

    /// Opens a fresh resource to replace a copy of `live`; [`AsyncRebuild::rebuild`]
    /// calls this. The default ignores `live` and calls [`open`](AsyncFactory::open).
    /// The result must be independent of `live`: never a duplicate of it.
    fn reopen(
        &self,
        config: &Self::Config,
        live: &Self::Resource,
    ) -> impl Future<Output = Result<Self::Resource, Self::Error>> + Send {
        let _ = live;
        self.open(config)
    }

    /// Checks that a live resource still works, cheaply (see
    /// [`Factory::check`](crate::Factory::check)): a pool calls it before handing a
    /// resource out again (the `deadpool` module, feature `deadpool`). The default says
    /// it does.
    fn check(
        &self,
        resource: &mut Self::Resource,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        let _ = resource;
        async { Ok(()) }
    }

    /// Closes a resource, reporting what went wrong. The default drops it.
    fn close(
        &self,
        resource: Self::Resource,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        async move {
            drop(resource);
            Ok(())
        }
    }
}

/// Copies a value by copying its config and reopening its resources, asynchronously
/// and concurrently: the async counterpart of [`Rebuild`](crate::Rebuild). Derive it
/// with `#[derive(Rebuild)]` and `#[rebuild(async)]`.
///
/// They mirror [`Factory`](crate::Factory) and [`Rebuild`](crate::Rebuild), with two
/// differences that follow from awaiting:
///
/// - **Concurrency.** A derived [`AsyncRebuild::rebuild`] starts every open (and every
///   nested rebuild) of a value at once and waits for all of them, with a join written
///   in this crate: no runtime, no boxing. k remote resources cost one round trip, not
///   k. `#[rebuild(async, sequential)]` opens them one after another instead, for
///   resources that depend on each other.
/// - **Every failure is reported.** The derived rebuild never drops an open in flight
///   at the first error (that would drop a half-opened resource without closing it): it
///   waits for every open, then closes what opened, in reverse order, and returns one
///   [`RebuildError`] listing every field that failed.
///
/// Nothing here depends on a runtime; the built-in async factories (feature `tokio`)
/// live in the `tokio` module.
///
/// # Cancellation
///
/// Rust has no async drop: a future dropped part-way cannot await anything. If a
/// rebuild (or `from_blueprint`) future is dropped before it completes (a timeout, a
/// `select!` that took another branch), the resources it had already opened are
/// *dropped, not closed*: their descriptors are released by their own `Drop`, but a
/// flush or a sync that `close` would have done, and its error, are lost. Opens still
/// in flight are dropped with it. Nothing leaks; only the Guardian Rule's reporting is
/// given up. To keep it, do not cancel a rebuild: bound the factories' own operations
/// (connect timeouts in the recipe) instead.
///
/// # Example
///
/// ```
/// use guardian_core::{AsyncFactory, AsyncRebuild, Rebuild};
///
/// /// A "connection" that just remembers its address, opened asynchronously.
/// struct Connect;
/// impl AsyncFactory for Connect {
///     type Config = str;
///     type Resource = String;
///     type Error = std::io::Error;
///     async fn open(&self, address: &str) -> std::io::Result<String> {
///         Ok(format!("connected to {address}"))
///     }
/// }
///
/// #[derive(Rebuild)]
/// #[rebuild(async)]
/// struct Client {
///     #[config]
///     primary: String,
///     #[config]
///     replica: String,
///     #[resource(factory = Connect, from = primary)]
///     writes: String,
///     #[resource(factory = Connect, from = replica)]
///     reads: String,
/// }
///
/// # fn block_on<F: std::future::Future>(future: F) -> F::Output {
/// #     // These futures are ready at once; a real program awaits them on its runtime.
/// #     let mut future = std::pin::pin!(future);
/// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop {
/// #         if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut cx) {
/// #             return value;
/// #         }
/// #     }
/// # }
/// # block_on(async {
/// let client = Client {
///     writes: Connect.open("db-1").await?,
///     reads: Connect.open("db-2").await?,
///     primary: "db-1".into(),
///     replica: "db-2".into(),
/// };
/// let copy = client.rebuild().await?; // both connections opened at once
/// assert_eq!(copy.reads, "connected to db-2");
/// copy.close().await?;
/// client.close().await?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not `AsyncRebuild`: it cannot be rebuilt or closed asynchronously",
    label = "`{Self}` does not implement `guardian_core::AsyncRebuild`",
    note = "derive it with `#[derive(Rebuild)]` and `#[rebuild(async)]`; a `#[nested]` field of an async type must hold an `AsyncRebuild` value"
)]
pub trait AsyncRebuild: Sized + Send + Sync {
    /// Returns a copy whose `#[config]` fields are clones and whose `#[resource]` and
    /// `#[nested]` fields are opened afresh, all at once. All or nothing: if any
    /// fails, the ones that opened are closed and the error lists every failure.
    fn rebuild(&self) -> impl Future<Output = Result<Self, RebuildError>> + Send;

    /// Closes every resource and nested value, in reverse declaration order, going on
    /// after a failure, and reports every failure.
    fn close(self) -> impl Future<Output = Result<(), CloseError>> + Send;
}
