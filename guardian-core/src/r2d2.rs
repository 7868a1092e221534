//! An [r2d2] connection pool of any [`Factory`] (feature `r2d2`): the factory
//! and its recipe are the pool's manager, so the logic that opens, checks and closes a
//! connection is written once, for rebuilds and for the pool alike.
//!
//! [`Manager`] implements [`r2d2::ManageConnection`]:
//! `connect` opens a connection from the recipe ([`Factory::open`], which applies
//! every setting of the recipe), and `is_valid`, which r2d2 calls before it hands an
//! idle connection out again, is [`Factory::check`]. The pool's connections are
//! [`Pooled`] values, which dereference to the factory's resource and close it
//! through [`Factory::close`] when r2d2 discards them.
//!
//! ```
//! use guardian_core::net::{TcpConfig, TcpConnect};
//! use guardian_core::r2d2::{Manager, Pool};
//! use std::net::TcpListener;
//! use std::time::Duration;
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let server = TcpConfig::from(listener.local_addr()?)
//!     .with_nodelay(true)
//!     .with_read_timeout(Some(Duration::from_secs(5)));
//! let pool: Pool<TcpConnect> = Pool::builder().max_size(2).build(Manager::new(TcpConnect, server))?;
//!
//! let conn = pool.get()?; // connected from the recipe, every option set
//! assert!(conn.nodelay()?);
//! assert_eq!(conn.read_timeout()?, Some(Duration::from_secs(5)));
//! drop(conn); // back to the pool; checked (a peek) when it is next asked for
//!
//! drop(pool); // every idle connection shut down through `TcpConnect`'s close
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The same with SQLite, `Pool<Sqlite>` and a `SqliteConfig`, gives connections with
//! every setting of the recipe (the crate's `pooled` example shows it, beside a
//! rebuild of the same recipe).
//!
//! # Every connection r2d2 discards is closed through the factory
//!
//! r2d2 has no fallible close: what it discards, it drops. Its one hook,
//! [`CustomizeConnection::on_release`](::r2d2::CustomizeConnection::on_release),
//! returns nothing, is called on some paths only, and a pool has one customizer,
//! which belongs to the program. So the closing is not in a customizer but in the
//! connection itself: [`Pooled`]'s `Drop` closes its resource through
//! [`Factory::close`] and hands a failure to the process-wide close-error hook
//! ([`set_close_error_hook`](crate::set_close_error_hook); by default one line on
//! standard error), never silently. Read from r2d2 0.8's source, these are the paths
//! on which it discards a connection, and all of them end in that `Drop`:
//!
//! | when | what r2d2 does | closed |
//! |---|---|---|
//! | a checkout finds an idle connection that fails `is_valid` (`check`), with `test_on_check_out` on (the default) | hands the error to its error handler (`log` by default), passes the connection to `on_release`, which drops it, and tries the next one or opens a new one | through the factory, on the thread that asked for a connection |
//! | `has_broken` on return says it is broken | the same | never happens: see below |
//! | an idle connection past `idle_timeout`, or past `max_lifetime` | `on_release` on r2d2's reaper thread | through the factory, on that thread |
//! | the last handle to the pool is dropped | drops the idle connections, *without* `on_release` | through the factory, on the thread that dropped the pool; a connection still checked out keeps the pool alive until it comes back, and so does r2d2's own thread while it opens a connection (it then drops the pool, a moment later) |
//! | a customizer's `on_acquire` fails | drops the new connection, without `on_release` | through the factory |
//!
//! A customizer of the program's own works as before: its `on_release` gets the
//! [`Pooled`] by value, and dropping it closes it.
//!
//! # What is checked, and when
//!
//! `is_valid` runs [`Factory::check`] (see each factory's docs for what its check
//! detects: SQLite a file removed or replaced and a transaction left open, PostgreSQL
//! a session the server ended, TCP a peer that closed or reset the connection). Keep
//! r2d2's `test_on_check_out` on (its default), or nothing is checked.
//!
//! `has_broken`, which r2d2 calls on every return, must not block, and a check may
//! (PostgreSQL's is a round trip to the server): it says `false`, and the check runs
//! at the next checkout instead. A broken connection therefore waits in the pool
//! until it is asked for, then is closed and replaced.
//!
//! # What is reported to the close-error hook
//!
//! A [`CloseError`] whose [`type_name`](CloseError::type_name) is the pool's type as
//! [`std::any::type_name`] spells it (`r2d2::Pool<guardian_core::r2d2::Manager<guardian_core::sqlite::Sqlite>>`:
//! the pool and the factory), with one failure, at the path `connection`, whose error
//! is the factory's (downcast it to `SqliteError`, `PostgresError`, ...). The pool
//! gives no other place to report it: r2d2's `Pool` has no close of its own, and its
//! error handler hears only about opening and checking.

use std::any::type_name;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use crate::{CloseError, Factory};

/// The `r2d2` version this module is built against, for its `Pool` and `Builder`.
pub use ::r2d2;

/// An r2d2 pool whose manager is a guardian [`Manager`] of `F`:
/// `guardian_core::r2d2::Pool<Sqlite>`.
pub type Pool<F> = ::r2d2::Pool<Manager<F>>;

/// A connection checked out of a [`Pool`]: dereferences to [`Pooled<F>`], which
/// dereferences to `F::Resource`, and goes back to the pool when dropped.
pub type PooledConnection<F> = ::r2d2::PooledConnection<Manager<F>>;

/// The manager of an r2d2 pool of `F`'s resources: the factory and its recipe (see the
/// [module docs](self)).
///
/// Cloning is cheap: the clones share the factory and the recipe.
pub struct Manager<F: Factory> {
    shared: Arc<Shared<F>>,
}

/// What a manager and each of its connections share: the factory that opens and
/// closes, and the recipe.
struct Shared<F: Factory> {
    factory: F,
    /// Boxed, so that an unsized recipe (`Path`, `str`) is held as it is borrowed.
    config: Box<F::Config>,
}

impl<F: Factory> Manager<F> {
    /// A manager that opens connections with `factory` from `config`: an owned recipe
    /// (`SqliteConfig`, `TcpConfig`, `PostgresConfig`), or anything that boxes into
    /// one (`PathBuf` for a `Path` recipe, `String` for `str`).
    pub fn new(factory: F, config: impl Into<Box<F::Config>>) -> Self {
        Self {
            shared: Arc::new(Shared {
                factory,
                config: config.into(),
            }),
        }
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

impl<F: Factory> Clone for Manager<F> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<F> fmt::Debug for Manager<F>
where
    F: Factory + fmt::Debug,
    F::Config: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Manager")
            .field("factory", &self.shared.factory)
            .field("config", &&*self.shared.config)
            .finish()
    }
}

impl<F> ::r2d2::ManageConnection for Manager<F>
where
    F: Factory + Send + Sync + 'static,
    F::Config: Send + Sync,
    F::Resource: Send,
{
    type Connection = Pooled<F>;
    type Error = F::Error;

    /// Opens a connection from the recipe ([`Factory::open`]).
    fn connect(&self) -> Result<Pooled<F>, F::Error> {
        let resource = self.shared.factory.open(&self.shared.config)?;
        Ok(Pooled {
            resource: Some(resource),
            shared: Arc::clone(&self.shared),
            pool: type_name::<Pool<F>>(),
        })
    }

    /// [`Factory::check`]; on a failure r2d2 discards the connection, which closes it
    /// through the factory.
    fn is_valid(&self, conn: &mut Pooled<F>) -> Result<(), F::Error> {
        self.shared.factory.check(conn)
    }

    /// `false`: a check may block, and this must not (see the
    /// [module docs](self#what-is-checked-and-when)).
    fn has_broken(&self, _: &mut Pooled<F>) -> bool {
        false
    }
}

/// A connection of a guardian [`Manager`]'s pool: the factory's resource, closed
/// through [`Factory::close`] when r2d2 discards it.
///
/// It dereferences to the resource (`F::Resource`), so a [`PooledConnection`] is used
/// as the resource itself: `conn.execute(...)` for SQLite,
/// `conn.query(...)` for PostgreSQL, `&*conn` where a `&Pooled<F>` is wanted, and
/// `&**conn` for a `&F::Resource`.
///
/// Dropping it closes the resource through the factory and hands a failure to the
/// close-error hook (see the [module docs](self#what-is-reported-to-the-close-error-hook)):
/// r2d2 drops a connection on every path on which it discards one.
pub struct Pooled<F: Factory> {
    /// `Some` until `drop` takes it.
    resource: Option<F::Resource>,
    shared: Arc<Shared<F>>,
    /// The pool's type, for the error: named where the pool's bounds are known.
    pool: &'static str,
}

impl<F: Factory> Deref for Pooled<F> {
    type Target = F::Resource;

    fn deref(&self) -> &F::Resource {
        match &self.resource {
            Some(resource) => resource,
            None => unreachable!("a pooled connection holds its resource until dropped"),
        }
    }
}

impl<F: Factory> DerefMut for Pooled<F> {
    fn deref_mut(&mut self) -> &mut F::Resource {
        match &mut self.resource {
            Some(resource) => resource,
            None => unreachable!("a pooled connection holds its resource until dropped"),
        }
    }
}

impl<F> fmt::Debug for Pooled<F>
where
    F: Factory,
    F::Resource: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pooled").field(&self.resource).finish()
    }
}

/// Closes the resource through the factory, and hands a failure to the close-error
/// hook.
impl<F: Factory> Drop for Pooled<F> {
    fn drop(&mut self) {
        if let Some(resource) = self.resource.take()
            && let Err(error) = self.shared.factory.close(resource)
        {
            let mut failed = CloseError::new(self.pool);
            failed.push("connection", error);
            crate::guard::dropped_close_failed(&failed);
        }
    }
}
