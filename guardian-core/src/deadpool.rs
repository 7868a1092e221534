//! A [deadpool] pool of any [`AsyncFactory`] (feature `deadpool`): the
//! factory and its recipe are the pool's manager, so the logic that opens, checks and
//! closes a connection is written once, for rebuilds and for the pool alike.
//!
//! [`Manager`] implements [`deadpool::managed::Manager`]:
//! `create` opens a connection from the recipe ([`AsyncFactory::open`], which applies
//! every setting of the recipe), and `recycle`, which deadpool calls before it hands
//! an idle connection out again, is [`AsyncFactory::check`]; a connection that fails
//! it is closed through [`AsyncFactory::close`] before deadpool lets go of it.
//! Optionally ([`Manager::with_max_age`]), a connection past an age is replaced by
//! [`AsyncFactory::reopen`] when it is next recycled, and the old one closed.
//!
//! ```
//! use guardian_core::deadpool::{Manager, Pool, close_pool};
//! use guardian_core::net::TcpConfig;
//! use guardian_core::tokio::TcpConnect;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let server = TcpConfig::from(listener.local_addr()?).with_nodelay(true);
//! let pool: Pool<TcpConnect> = Pool::builder(Manager::new(TcpConnect, server))
//!     .max_size(4)
//!     .build()?;
//!
//! let conn = pool.get().await?; // connected from the recipe, its options set
//! assert!(conn.nodelay()?);
//! assert_eq!(conn.peer_addr()?, listener.local_addr()?);
//! drop(conn); // back to the pool; checked (a peek) when it is next asked for
//!
//! close_pool(&pool).await?; // every idle connection shut down, every failure returned
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })
//! # }
//! ```
//!
//! # Every connection deadpool lets go of is closed through the factory
//!
//! deadpool has no close of its own: what it discards, it drops, and a failed recycle
//! is dropped without a word. An async close cannot run in a `Drop`, so this module
//! closes where it can await, and falls back on the runtime where it cannot. Read from
//! deadpool 0.13's source, these are the paths on which deadpool lets go of a
//! connection:
//!
//! | when | what deadpool does | closed |
//! |---|---|---|
//! | `recycle` fails ([`check`](AsyncFactory::check) failed, or the reopen of one past its age) | drops the connection and tries the next one or creates one | by `recycle` itself, awaited, before it returns the error: the resource is taken out of the [`Pooled`] and closed through the factory, a failure to the close-error hook |
//! | a connection past its age ([`Manager::with_max_age`]) | nothing: it is recycled | replaced in place by `reopen`; the old one closed by `recycle`, awaited |
//! | [`close_pool`] | (it is ours) takes every idle connection out ([`retain`](::deadpool::managed::Pool::retain)), then closes the pool | each closed through the factory, awaited; every failure returned in one [`CloseError`] |
//! | the pool is dropped, [closed](::deadpool::managed::Pool::close) or [resized](::deadpool::managed::Pool::resize) smaller, and connections checked out then come back; a `recycle` cut short by deadpool's recycle timeout; a hook of the program's own fails | drops the connection | [`Pooled`]'s `Drop`: on the tokio runtime it is dropped on, a task closes it through the factory, a failure to the close-error hook |
//! | [`Object::take`](::deadpool::managed::Object::take), [`retain`](::deadpool::managed::Pool::retain) | hands the [`Pooled`] to the program | the program's: close `pooled.into_inner()` through the factory, or drop it, as above |
//!
//! The last resort has limits, which the docs of [`Pooled`] spell out: the task is
//! spawned, not awaited, so it runs after the drop returns; outside a tokio runtime,
//! or while the runtime shuts down, the resource is dropped, not closed (its
//! descriptors are released by its own `Drop`, a close error is lost, as for a
//! cancelled rebuild, see [`AsyncRebuild`](crate::AsyncRebuild#cancellation)). To
//! see every error, end a pool with [`close_pool`], after the connections checked out
//! have come back.
//!
//! # What is reported to the close-error hook
//!
//! A [`CloseError`] whose [`type_name`](CloseError::type_name) is the pool's type as
//! [`std::any::type_name`] spells it, with the modules where the types are defined
//! (`deadpool::managed::pool::Pool<guardian_core::deadpool::Manager<guardian_core::tokio::postgres::Postgres>>`:
//! the pool and the factory), with one failure, at the path `connection`, whose
//! error is the factory's (downcast it to `PostgresError`, `NetError`, ...).
//! [`close_pool`] returns the same error, with a failure per connection, instead.
//!
//! # The runtime
//!
//! deadpool needs a runtime only for its own timeouts (`Timeouts`, given with
//! `PoolBuilder::runtime`), which this crate does not turn on: enable deadpool's
//! `rt_tokio_1` feature in your own manifest to use them. The factories of the
//! [`tokio`](crate::tokio) module need a tokio runtime anyway, and a connection
//! dropped outside [`recycle`](::deadpool::managed::Manager::recycle) is closed on
//! it.

use std::any::type_name;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::deadpool::managed::{self, Metrics, RecycleError, RecycleResult};

use crate::{AsyncFactory, CloseError};

/// The `deadpool` version this module is built against, for its `Pool`, `Object` and
/// builder.
pub use ::deadpool;

/// A deadpool pool whose manager is a guardian [`Manager`] of `F`:
/// `guardian_core::deadpool::Pool<Postgres>`.
pub type Pool<F> = managed::Pool<Manager<F>>;

/// A connection checked out of a [`Pool`]: dereferences to [`Pooled<F>`], which
/// dereferences to `F::Resource`, and goes back to the pool when dropped.
pub type Object<F> = managed::Object<Manager<F>>;

/// The manager of a deadpool pool of `F`'s resources: the factory, its recipe, and
/// optionally a maximum age (see the [module docs](self)).
///
/// Cloning is cheap: the clones share the factory and the recipe.
pub struct Manager<F: AsyncFactory> {
    shared: Arc<Shared<F>>,
    max_age: Option<Duration>,
}

/// What a manager and each of its connections share: the factory that opens and
/// closes, and the recipe.
struct Shared<F: AsyncFactory> {
    factory: F,
    /// Boxed, so that an unsized recipe (`Path`, `str`) is held as it is borrowed.
    config: Box<F::Config>,
}

impl<F: AsyncFactory> Manager<F> {
    /// A manager that opens connections with `factory` from `config`: an owned recipe
    /// (`PostgresConfig`, `TcpConfig`, `SqliteConfig`), or anything that boxes into
    /// one (`PathBuf` for a `Path` recipe, `String` for `str`).
    pub fn new(factory: F, config: impl Into<Box<F::Config>>) -> Self {
        Self {
            shared: Arc::new(Shared {
                factory,
                config: config.into(),
            }),
            max_age: None,
        }
    }

    /// Replaces a connection older than `age` when it is next recycled: the factory
    /// [reopens](AsyncFactory::reopen) it (a factory that carries state over from the
    /// live resource does so here too), and the old one is closed through the factory,
    /// a failure to the close-error hook. If the reopen fails, the old connection is
    /// closed all the same and deadpool opens a new one (or returns the error).
    ///
    /// For what a long-lived session accumulates or misses: memory the server holds
    /// for it, a DNS name that now points elsewhere, credentials rotated since. The
    /// age is the connection's own, counted from its open or its last reopen, not
    /// deadpool's [`Metrics::created`], which belongs to the pool's slot and is not
    /// reset by a reopen in place. A connection that sits idle is not replaced until
    /// it is asked for.
    #[must_use]
    pub fn with_max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// The age past which a connection is reopened when recycled, if set.
    #[must_use]
    pub fn max_age(&self) -> Option<Duration> {
        self.max_age
    }

    /// The factory.
    #[must_use]
    pub fn factory(&self) -> &F {
        &self.shared.factory
    }

    /// The recipe every connection is opened from.
    #[must_use]
    pub fn config(&self) -> &F::Config {
        &self.shared.config
    }
}

impl<F> Manager<F>
where
    F: AsyncFactory + Send + 'static,
    F::Config: Send,
{
    fn pooled(&self, resource: F::Resource) -> Pooled<F> {
        Pooled {
            resource: Some(resource),
            opened: Instant::now(),
            discard: Arc::clone(&self.shared) as Arc<dyn Discard<F::Resource>>,
        }
    }

    /// Closes a connection the pool lets go of, awaited, and hands a failure to the
    /// close-error hook.
    async fn close_discarded(&self, resource: F::Resource) {
        if let Err(error) = self.shared.factory.close(resource).await {
            report(type_name::<Pool<F>>(), error);
        }
    }
}

impl<F: AsyncFactory> Clone for Manager<F> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            max_age: self.max_age,
        }
    }
}

impl<F> fmt::Debug for Manager<F>
where
    F: AsyncFactory + fmt::Debug,
    F::Config: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Manager")
            .field("factory", &self.shared.factory)
            .field("config", &&*self.shared.config)
            .field("max_age", &self.max_age)
            .finish()
    }
}

impl<F> managed::Manager for Manager<F>
where
    F: AsyncFactory + Send + 'static,
    F::Config: Send,
{
    type Type = Pooled<F>;
    type Error = F::Error;

    /// Opens a connection from the recipe ([`AsyncFactory::open`]).
    async fn create(&self) -> Result<Pooled<F>, F::Error> {
        let resource = self.shared.factory.open(&self.shared.config).await?;
        Ok(self.pooled(resource))
    }

    /// Reopens a connection past its [maximum age](Manager::with_max_age), else
    /// [checks](AsyncFactory::check) it. On a failure, the connection is closed through
    /// the factory (a close failure to the close-error hook) before the factory's
    /// error is returned, and deadpool drops what is left: an empty [`Pooled`].
    async fn recycle(&self, conn: &mut Pooled<F>, _: &Metrics) -> RecycleResult<F::Error> {
        let Some(resource) = conn.resource.as_mut() else {
            // Never: a connection is emptied only on its way out of the pool.
            return Err(RecycleError::message("the connection was already closed"));
        };
        let outcome = match self.max_age {
            Some(age) if conn.opened.elapsed() >= age => {
                match self
                    .shared
                    .factory
                    .reopen(&self.shared.config, resource)
                    .await
                {
                    Ok(fresh) => {
                        let old = std::mem::replace(resource, fresh);
                        conn.opened = Instant::now();
                        self.close_discarded(old).await;
                        return Ok(());
                    }
                    Err(error) => error,
                }
            }
            _ => match self.shared.factory.check(resource).await {
                Ok(()) => return Ok(()),
                Err(error) => error,
            },
        };
        if let Some(old) = conn.resource.take() {
            self.close_discarded(old).await;
        }
        Err(RecycleError::Backend(outcome))
    }
}

/// Takes every idle connection out of `pool`, [closes](::deadpool::managed::Pool::close)
/// the pool (every caller waiting in `get` and every later one gets
/// `PoolError::Closed`), then closes each connection through the factory, awaited,
/// and returns every failure in one [`CloseError`] (named as the
/// [module docs](self#what-is-reported-to-the-close-error-hook) say).
///
/// Connections checked out at the time are not waited for: deadpool drops each when
/// it comes back, and [`Pooled`]'s `Drop` closes it on the runtime, a failure to the
/// close-error hook. Call it once they are back to see every error here.
pub async fn close_pool<F>(pool: &Pool<F>) -> Result<(), CloseError>
where
    F: AsyncFactory + Send + 'static,
    F::Config: Send,
{
    let idle = pool.retain(|_, _| false).removed;
    pool.close();
    let factory = &pool.manager().shared.factory;
    let mut failed = CloseError::new(type_name::<Pool<F>>());
    for mut pooled in idle {
        if let Some(resource) = pooled.resource.take()
            && let Err(error) = factory.close(resource).await
        {
            failed.push("connection", error);
        }
    }
    failed.into_result()
}

/// A connection of a guardian [`Manager`]'s pool: the factory's resource, closed
/// through [`AsyncFactory::close`] when deadpool lets go of it.
///
/// It dereferences to the resource (`F::Resource`), so an [`Object`] is used as the
/// resource itself: `conn.client()` for a PostgreSQL session, `&*conn` where a
/// `&Pooled<F>` is wanted, and `&**conn` for a `&F::Resource`.
///
/// # Dropped
///
/// A `Pooled` dropped with its resource (by deadpool, on the paths the
/// [module docs](self#every-connection-deadpool-lets-go-of-is-closed-through-the-factory)
/// list, or by the program after [`Object::take`](::deadpool::managed::Object::take))
/// cannot await a close. On a tokio runtime (the one current where it is dropped),
/// it spawns a task that closes the resource through the factory and hands a failure
/// to the close-error hook: the close happens after the drop returns, and a runtime
/// that shuts down first drops the task, and the resource with it. Outside a tokio
/// runtime the resource is dropped, not closed. Either way its descriptors are
/// released; only a close error can be lost, never silently replaced by a success.
///
/// [`into_inner`](Pooled::into_inner) takes the resource out, and closing it is then
/// the program's.
pub struct Pooled<F: AsyncFactory> {
    /// `Some` until `recycle` closes it, `into_inner` takes it, or `drop`.
    resource: Option<F::Resource>,
    /// When the resource was opened, or last reopened: its age for `with_max_age`.
    opened: Instant,
    /// Closes a resource dropped with its `Pooled`: the manager's shared state, whose
    /// bounds (`'static`, `Send`) are known where the `Pooled` is made.
    discard: Arc<dyn Discard<F::Resource>>,
}

impl<F: AsyncFactory> Pooled<F> {
    /// Takes the resource out: nothing closes it then but the program.
    ///
    /// # Panics
    ///
    /// Never in a `Pooled` the program can hold: only `recycle` empties one, and
    /// deadpool drops it right after.
    #[must_use = "the resource is no longer closed for you: close it through the factory"]
    pub fn into_inner(mut self) -> F::Resource {
        match self.resource.take() {
            Some(resource) => resource,
            None => unreachable!("a pooled connection holds its resource until it leaves"),
        }
    }
}

impl<F: AsyncFactory> Deref for Pooled<F> {
    type Target = F::Resource;

    fn deref(&self) -> &F::Resource {
        match &self.resource {
            Some(resource) => resource,
            None => unreachable!("a pooled connection holds its resource until it leaves"),
        }
    }
}

impl<F: AsyncFactory> DerefMut for Pooled<F> {
    fn deref_mut(&mut self) -> &mut F::Resource {
        match &mut self.resource {
            Some(resource) => resource,
            None => unreachable!("a pooled connection holds its resource until it leaves"),
        }
    }
}

impl<F> fmt::Debug for Pooled<F>
where
    F: AsyncFactory,
    F::Resource: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pooled")
            .field("resource", &self.resource)
            .field("opened", &self.opened)
            .finish_non_exhaustive()
    }
}

/// Closes the resource on the current tokio runtime (see [`Pooled`]).
impl<F: AsyncFactory> Drop for Pooled<F> {
    fn drop(&mut self) {
        if let Some(resource) = self.resource.take() {
            Arc::clone(&self.discard).discard(resource);
        }
    }
}

/// How a [`Pooled`] dropped with its resource closes it.
trait Discard<R>: Send + Sync {
    fn discard(self: Arc<Self>, resource: R);
}

impl<F> Discard<F::Resource> for Shared<F>
where
    F: AsyncFactory + Send + 'static,
    F::Config: Send,
{
    fn discard(self: Arc<Self>, resource: F::Resource) {
        match ::tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                // Detached: the task runs on its own, after the drop returns.
                drop(runtime.spawn(async move {
                    if let Err(error) = self.factory.close(resource).await {
                        report(type_name::<Pool<F>>(), error);
                    }
                }));
            }
            Err(_) => drop(resource),
        }
    }
}

/// Hands the failed close of a connection of pool `pool` to the close-error hook.
fn report(pool: &'static str, error: impl Into<crate::BoxError>) {
    let mut failed = CloseError::new(pool);
    failed.push("connection", error);
    crate::guard::dropped_close_failed(&failed);
}
