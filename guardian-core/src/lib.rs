//! Resource-safe cloning: copy the config, not the connection.
//!
//! A struct that holds live OS resources (a [`File`](std::fs::File), a
//! [`TcpStream`](std::net::TcpStream), a database connection, a lock) cannot be copied
//! faithfully. `File` is not `Clone`; [`File::try_clone`](std::fs::File::try_clone) and
//! `Arc<Mutex<File>>` give a *double booking*, two owners of one open file description
//! that share a cursor and overwrite each other; and a copy that drops the handle is a
//! *hollow* copy. The cure is to keep the recipe (path, address, options) and open a
//! fresh, independent resource from it. `#[derive(Rebuild)]` makes that one line:
//!
//! ```
//! use guardian_core::{Factory, Rebuild};
//! use std::{fs::File, path::{Path, PathBuf}};
//!
//! /// Opens a log file for appending.
//! struct AppendFile;
//! impl Factory for AppendFile {
//!     type Config = Path;
//!     type Resource = File;
//!     type Error = std::io::Error;
//!     fn open(&self, path: &Path) -> std::io::Result<File> {
//!         File::options().create(true).append(true).open(path)
//!     }
//! }
//!
//! #[derive(Rebuild)]
//! struct MatchLogger {
//!     #[config]
//!     path: PathBuf,
//!     #[config]
//!     moves: Vec<String>,
//!     #[resource(factory = AppendFile, from = path)]
//!     log: File,
//! }
//!
//! # let dir = std::env::temp_dir().join(format!("guardian-crate-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let path = dir.join("match.log");
//! let logger = MatchLogger { log: AppendFile.open(&path)?, path, moves: vec![] };
//!
//! let branch = logger.rebuild()?; // copies the config, opens its own File
//! branch.close()?;                // the Guardian Rule: close explicitly, see every error
//! logger.close()?;
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The attributes
//!
//! Every field of a `#[derive(Rebuild)]` type has exactly one role:
//!
//! | attribute | on rebuild | on close |
//! |---|---|---|
//! | `#[config]` | cloned (`Clone`) | dropped |
//! | `#[config(shared)]` | cloned, knowingly sharing what it points to | dropped |
//! | `#[resource(factory = EXPR, from = FIELD)]` | opened afresh: `EXPR.reopen(&self.FIELD, &self.field)` | `EXPR.close(field)`, error reported |
//! | `#[resource(factory = EXPR)]` | opened afresh from `&()` | `EXPR.close(field)`, error reported |
//! | `#[nested]` | rebuilt: the field's own [`Rebuild::rebuild`] | its own [`Rebuild::close`], every failure reported with its path |
//!
//! `factory = EXPR` is any expression giving a [`Factory`] value (a unit struct, a
//! constructor call such as `WithRoot::new("/var/log")`); it is evaluated each time it
//! is needed. `from = FIELD` names a `#[config]` field of the same struct or variant
//! (by index for tuple fields), lent to the factory as `&Config` through
//! [`Borrow`](std::borrow::Borrow): the field's type is the factory's `Config`, or
//! borrows as it (`PathBuf` for `Path`, `String` for `str`, `Box<T>` for `T`).
//!
//! A `#[nested]` field holds a value of a type that is itself `Rebuild` (derived or
//! not), or a container of them (`Vec`, `Option`, `Box`, arrays, maps): a type built
//! from types that hold resources. Rebuilding is all or nothing through every level,
//! and a failure deep inside names its whole path ([`RebuildError::path`]:
//! `shards[2].conn`).
//!
//! Resources and nested values are opened in declaration order and closed in reverse.
//! Bounds are inferred as `#[derive(Clone)]` users expect: `FieldTy: Clone` for each
//! `#[config]` field, and `FieldTy: Rebuild` for each `#[nested]` field, whose type
//! mentions a type parameter.
//!
//! `#[config(shared)]` is for a handle you *mean* to share between the original and
//! the copy, such as an `Arc` of a connection pool. It is a double booking: both values
//! use the same resource, and closing one does not close it for the other.
//!
//! # What the derive refuses at compile time
//!
//! - A field without a role.
//! - A live handle in a `#[config]` field (`File`, `TcpStream`, `Mutex`, a database
//!   connection, ...), also nested in `Option`, `Box`, `Vec`, `Arc` and the like:
//!
//! ```compile_fail
//! # use guardian_core::Rebuild;
//! #[derive(Rebuild)]
//! struct Logger {
//!     #[config]
//!     log: std::fs::File, // error: `File` is a live handle: mark the field `#[resource(...)]`
//! }
//! ```
//!
//! - `Arc<Mutex<File>>` in a `#[config]` field (a double booking), unless marked
//!   `#[config(shared)]`.
//! - A `#[resource]` without `factory`, unknown or repeated keys, `from` naming a
//!   missing field or a live one.
//! - A factory whose `Config` or `Resource` does not fit the fields, a value that is
//!   not a factory, a `#[nested]` field whose type is not `Rebuild`: one error each,
//!   naming the types and what to change.
//! - `Clone` or `Copy` on a type that has resources, whatever derive or impl makes it
//!   so (a clone would share or duplicate its handles), and `.clone()` on one, owned or
//!   borrowed: the message says to copy it with `rebuild()`. A type without resources
//!   may be `Clone` and `Copy`: its rebuild is a clone, and nothing can be
//!   double-booked.
//! - `Drop` on a type with live fields: `close` takes the value apart to hand each
//!   resource to its factory (to close on scope exit, hold the value in a guard).
//! - A `#[repr(packed)]` struct with live fields (they cannot be lent by reference);
//!   its `#[config]` fields are copied by value, so they must be `Copy`.
//!
//! ```compile_fail
//! # use guardian_core::{Factory, Rebuild};
//! # struct Open;
//! # impl Factory for Open {
//! #     type Config = ();
//! #     type Resource = std::fs::File;
//! #     type Error = std::io::Error;
//! #     fn open(&self, _: &()) -> std::io::Result<std::fs::File> { std::fs::File::open("/dev/null") }
//! # }
//! #[derive(Rebuild)]
//! struct Logger {
//!     #[resource(factory = Open)]
//!     log: std::fs::File,
//! }
//! fn copy(logger: &Logger) -> Logger {
//!     logger.clone() // error: `Logger` holds live resources and cannot be cloned: copy it with `rebuild()`
//! }
//! ```
//!
//! Every error is spanned on the offending field or attribute, and a build with
//! several mistakes reports all of them.
//!
//! # Closing
//!
//! [`Rebuild::close`] closes every resource field through [`Factory::close`] (which
//! flushes and syncs, for the built-in file factories) and every nested value through
//! its own `close`, in reverse declaration order, goes on after a failure at every
//! level and returns a [`CloseError`] naming the whole path of every resource that
//! failed. A derived type with live fields must not implement `Drop`: `close` takes it
//! apart by value to hand each resource to its factory.
//!
//! # Async
//!
//! With `#[rebuild(async)]`, the derive implements [`AsyncRebuild`] instead: factories
//! are [`AsyncFactory`]s, and every resource and nested value of a value is opened at
//! once (a join written in this crate, no runtime, no boxing), so k remote resources
//! cost one round trip. The rebuild waits for every open, closes what opened if any
//! failed, and reports every failure; `#[rebuild(async, sequential)]` opens one after
//! another instead. [`AsyncRebuild`] says what happens to a rebuild dropped part-way.
//! Blueprints have an async counterpart, [`AsyncFromBlueprint`].
//!
//! # Built-in factories
//!
//! One module per family, each saying what a reopen gives back and what it refuses:
//! [`fs`] (read, resume-read, append, exclusive write, buffered; recipes are
//! [`fs::AbsolutePath`]s), [`net`] (TCP clients and listeners, UDP sockets, Unix-socket
//! clients), [`sync`] (locks whose data is copied into a fresh lock), with features
//! `sqlite` and `postgres` the database connections, and with feature `confine` the
//! factories that load untrusted recipes safely.
//!
//! The families share one vocabulary. Each has one error type (`FileError`,
//! `NetError`, `LockError`, `SqliteError`, `PostgresError`, following the rule of
//! [Errors](#errors)); where a family does several things, the error's `op()` says
//! which (`FileOp`, `NetOp`, `SqliteOp`, `PostgresOp`). Recipes are builders: each
//! `with_*` setter takes the recipe by value and returns it changed, and the getter of
//! the same name without `with_` reads the setting back.
//!
//! # Errors
//!
//! Every error type of this crate follows one rule, the one of the standard library's
//! [`Error`](std::error::Error) docs, the Rust API guidelines
//! ([C-GOOD-ERR](https://rust-lang.github.io/api-guidelines/interoperability.html#c-good-err))
//! and the [error-handling project group](https://github.com/rust-lang/project-error-handling/issues/27#issuecomment-763950178)
//! ("either return the source error or include its message in `Display`, never both"):
//!
//! - **`Display` says what failed**, in one line that starts lowercase and ends
//!   without punctuation, naming what it is about (the path, the address, the field):
//!   `cannot open /srv/scores.txt for reading`. It does not repeat the cause.
//! - **[`source`](std::error::Error::source) returns the cause**: the OS's
//!   [`io::Error`](std::io::Error), the database driver's error, the factory's error
//!   inside a [`RebuildError`]. Walk the chain to print the whole story, each message
//!   once (the loop below, `anyhow`'s `{:#}`, `eyre`'s reports).
//! - **A refusal of guardian's own has no cause**: nothing below failed when a rebuild
//!   is refused because a file is held by another handle, a lock is held or poisoned,
//!   a fixed port is held by the live socket, a copy would be hollow, or a recipe leaves
//!   its confinement. Its `Display` ends with the reason (`cannot lock /srv/state.bin
//!   for exclusive writing: it is held by another handle`) and `source` is `None`.
//! - **An aggregate lists its failures**: [`CloseError`] holds several failures and no
//!   single cause, so its `Display` lists each with its whole chain and `source` is
//!   `None`; [`failures`](CloseError::failures) gives each error for downcasting. A
//!   [`RebuildError`] with several failures (an async rebuild reports them all) is an
//!   aggregate too; with one, that one is its source.
//!
//! So `{err}` alone says what failed, not why: print the chain. And code decides on
//! structure (the operation, the path, [`io::ErrorKind`](std::io::ErrorKind), a
//! downcast of the source), never on the wording, which may change.
//!
//! ```
//! use guardian_core::fs::{AbsolutePath, FileError, FileOp, ReadFile};
//! use guardian_core::{Factory, Rebuild};
//! use std::{error::Error, fs::File, io};
//!
//! #[derive(Rebuild)]
//! struct Scores {
//!     #[config]
//!     path: AbsolutePath,
//!     #[resource(factory = ReadFile, from = path)]
//!     file: File,
//! }
//!
//! # let dir = std::env::temp_dir().join(format!("guardian-errors-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let path = AbsolutePath::new(dir.join("scores.txt"))?;
//! std::fs::write(&path, "ada 3")?;
//! let scores = Scores { file: ReadFile.open(&path)?, path };
//! std::fs::remove_file(&scores.path)?;
//!
//! let Err(err) = scores.rebuild() else { panic!("the file is gone") };
//! // Each level says what failed; its cause is the next level.
//! let mut chain = vec![err.to_string()];
//! let mut source = err.source();
//! while let Some(cause) = source {
//!     chain.push(cause.to_string());
//!     source = cause.source();
//! }
//! assert_eq!(chain[0], "cannot rebuild `Scores`: resource field `file` failed to open");
//! assert_eq!(chain[1], format!("cannot open {} for reading", scores.path.display()));
//! assert_eq!(chain.len(), 3); // and the OS's own words: "No such file or directory (os error 2)"
//! eprintln!("{}", chain.join(": "));
//!
//! // Code reads the structure, not the words.
//! let cause = err.factory_error().downcast_ref::<FileError>().expect("a file factory's error");
//! assert_eq!(cause.op(), FileOp::OpenRead);
//! assert_eq!(cause.kind(), io::ErrorKind::NotFound);
//! scores.close()?;
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Blueprints and serde
//!
//! `#[rebuild(blueprint)]` generates the recipe as a type of its own and implements
//! [`FromBlueprint`]: build later, edit, [`rebuild_with`](FromBlueprint::rebuild_with).
//! With the `serde` feature, `#[rebuild(serde)]` (de)serialises a value through its
//! blueprint: only the config is written, and loading reopens every resource.

// On docs.rs (`--cfg docsrs`), feature-gated items say which feature they need.
#![cfg_attr(docsrs, feature(doc_cfg))]

// Each module's summary is its own `//!` docs: a `///` here would be merged into it.
mod async_factory;
mod blueprint;
#[cfg(feature = "confine")]
#[cfg_attr(docsrs, doc(cfg(feature = "confine")))]
pub mod confine;
mod error;
mod factory;
pub mod fs;
mod join;
pub mod net;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub mod postgres;
mod shown;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub mod sqlite;
pub mod sync;

pub use async_factory::{AsyncFactory, AsyncRebuild};
pub use blueprint::{AsyncFromBlueprint, FromBlueprint};
pub use error::{
    BoxError, CloseError, CloseFailure, FieldPath, OpenFailure, PathSegment, RebuildError,
};
pub use factory::{Factory, Rebuild};

/// Derives [`Rebuild`](trait@Rebuild): `#[config]` fields are cloned, `#[resource]`
/// fields reopened through their [`Factory`]. See the [crate docs](crate) for the
/// attributes and what is refused at compile time.
pub use guardian_derive::Rebuild;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

// The traits and types whose names appear in the compiler's messages about derived
// code ("the trait `ResourceIs<String, AppendFile>` is not implemented for `File`"). The
// compiler shortens a path to its name only when the item is reachable outside a
// hidden module, so they are re-exported here, hidden. Generated code names them
// through `__private`.
#[cfg(feature = "serde")]
#[doc(hidden)]
pub use __private::{AsyncLoad, LoadedInTwoSteps};
#[doc(hidden)]
pub use __private::{
    AsyncOpensWithoutRecipe, AsyncRecipeFor, AsyncResourceIs, CloneImplemented, CloneOf,
    CloseWithoutDrop, DropImplemented, HoldsResources, IsAsyncFactory, IsFactory,
    OpensWithoutRecipe, PackedCopy, RecipeFor, ResourceIs, ResourcesNotCloned,
};
