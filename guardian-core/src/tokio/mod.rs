//! Async factories on tokio (feature `tokio`): the counterparts of the [`fs`](crate::fs)
//! and [`net`](crate::net) factories, [`Blocking`] for every blocking factory, and with
//! feature `tokio-postgres` an async PostgreSQL session factory.
//!
//! Each is an [`AsyncFactory`](crate::AsyncFactory), for a type with
//! `#[rebuild(async)]`, whose rebuild opens every resource at once (see
//! [`AsyncRebuild`](crate::AsyncRebuild)). They keep the vocabulary of their blocking
//! families: the same recipes ([`AbsolutePath`](crate::fs::AbsolutePath),
//! [`TcpConfig`](crate::net::TcpConfig),
//! [`PostgresConfig`](crate::postgres::PostgresConfig)), the same error types
//! ([`FileError`](crate::fs::FileError), [`NetError`](crate::net::NetError),
//! [`PostgresError`](crate::postgres::PostgresError)), and the same guarantees: a
//! fresh descriptor at every open, the cursor restored by [`ResumeReadFile`], the
//! exclusive lock of [`ExclusiveFile`], the options of the recipe set again, and a
//! close that flushes and syncs and reports every error.
//!
//! | factory | resource | blocking counterpart |
//! |---|---|---|
//! | [`ReadFile`], [`ResumeReadFile`], [`AppendFile`], [`ExclusiveFile`] | [`tokio::fs::File`] | [`crate::fs`]'s factories of the same names |
//! | [`TcpConnect`] | [`tokio::net::TcpStream`] | [`net::TcpConnect`](crate::net::TcpConnect) |
//! | [`UnixConnect`] | [`tokio::net::UnixStream`] | [`net::UnixConnect`](crate::net::UnixConnect) |
//! | `Postgres` (feature `tokio-postgres`) | `PostgresSession` | [`postgres::Postgres`](crate::postgres::Postgres) |
//! | [`Blocking`]`(F)` | [`BlockingCell`]`<F::Resource>` | any [`Factory`](crate::Factory) `F` |
//!
//! # Where the work runs
//!
//! Nothing that can block runs on the async executor. Files are opened, synced and
//! positioned on tokio's blocking pool (as `tokio::fs` does), by the blocking
//! factories of [`crate::fs`] themselves, so both open a file the same way and fail
//! with the same errors. Sockets connect on the runtime's reactor. [`Blocking`] runs
//! every call of its factory on the blocking pool.
//!
//! What the blocking counterparts do not need to say:
//!
//! - **A runtime.** These factories need a tokio runtime with I/O and time enabled
//!   (`#[tokio::main]` and `#[tokio::test]` enable both), the multi-threaded one or
//!   the current-thread one; outside one they panic, as tokio's own I/O does.
//! - **Timeouts.** A tokio stream has no read or write timeout, so [`TcpConnect`]
//!   refuses a [`TcpConfig`](crate::net::TcpConfig) that sets one (see there); the
//!   connect timeout is kept.
//! - **Cancellation.** A future dropped part-way (see
//!   [`AsyncRebuild`](crate::AsyncRebuild#cancellation)) drops what it had opened;
//!   an open already started on the blocking pool runs to its end, and what it opened
//!   is then dropped. Descriptors are released either way, a moment later for the
//!   latter.
//!
//! ```
//! use guardian_core::fs::AbsolutePath;
//! use guardian_core::net::TcpConfig;
//! use guardian_core::tokio::{AppendFile, TcpConnect};
//! use guardian_core::{AsyncFactory, AsyncRebuild, Rebuild};
//!
//! #[derive(Rebuild)]
//! #[rebuild(async)]
//! struct Service {
//!     #[config]
//!     server: TcpConfig,
//!     #[config]
//!     path: AbsolutePath,
//!     #[resource(factory = TcpConnect, from = server)]
//!     stream: tokio::net::TcpStream,
//!     #[resource(factory = AppendFile, from = path)]
//!     log: tokio::fs::File,
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! # let dir = std::env::temp_dir().join(format!("guardian-tokio-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let server = TcpConfig::from(listener.local_addr()?);
//! let path = AbsolutePath::new(dir.join("service.log"))?;
//! let service = Service {
//!     stream: TcpConnect.open(&server).await?,
//!     log: AppendFile.open(&path).await?,
//!     server,
//!     path,
//! };
//!
//! let copy = service.rebuild().await?; // a connection and a log of its own, opened at once
//! copy.close().await?; // flushed, synced, shut down: every error reported
//! service.close().await?;
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })
//! # }
//! ```

mod blocking;
mod fs;
mod net;
#[cfg(feature = "tokio-postgres")]
mod postgres;

pub use blocking::{Blocking, BlockingCell, BlockingError, BlockingOp};
pub use fs::{AppendFile, ExclusiveFile, ReadFile, ResumeReadFile};
pub use net::TcpConnect;
#[cfg(unix)]
pub use net::UnixConnect;
#[cfg(feature = "tokio-postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio-postgres")))]
pub use postgres::{Postgres, PostgresSession, tokio_postgres};
