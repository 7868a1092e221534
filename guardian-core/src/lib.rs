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
//! `shards[2].conn`); see [Composing types](#composing-types).
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
//! `close` reports every failure, but only if it is called. To close on every path
//! (an early `return`, a `?`, a panic) and still see the failure, run the work in a
//! [`scope`], or hold the value in a [`Guard`]:
//!
//! ```
//! # use guardian_core::{Factory, Rebuild};
//! # use std::{fs::File, io::{self, Write}, path::{Path, PathBuf}};
//! # struct AppendFile;
//! # impl Factory for AppendFile {
//! #     type Config = Path;
//! #     type Resource = File;
//! #     type Error = io::Error;
//! #     fn open(&self, path: &Path) -> io::Result<File> {
//! #         File::options().create(true).append(true).open(path)
//! #     }
//! # }
//! #[derive(Rebuild)]
//! struct MatchLogger {
//!     #[config]
//!     path: PathBuf,
//!     #[resource(factory = AppendFile, from = path)]
//!     log: File,
//! }
//!
//! # let dir = std::env::temp_dir().join(format!("guardian-scope-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! # let path = dir.join("match.log");
//! # let logger = MatchLogger { log: AppendFile.open(&path)?, path };
//! // The branch is closed when the body ends, whatever it returned; the body's error
//! // and the close's error both reach the caller (`ScopeError`).
//! let moves = guardian_core::scope(logger.rebuild()?, |branch| {
//!     writeln!(branch.log, "e4 e5")?;
//!     Ok::<_, io::Error>(2)
//! })?;
//! assert_eq!(moves, 2);
//! # logger.close()?;
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A [`Guard`] dropped without [`close`](Guard::close) closes its value anyway and
//! hands a failure to a process-wide hook ([`set_close_error_hook`]; by default one
//! line on standard error, or an error event with feature `tracing`): never silently.
//!
//! # Async
//!
//! With `#[rebuild(async)]`, the derive implements [`AsyncRebuild`] instead: factories
//! are [`AsyncFactory`]s, and every resource and nested value of a value is opened at
//! once (a join written in this crate, no runtime, no boxing), so k remote resources
//! cost one round trip. The rebuild waits for every open, closes what opened if any
//! failed, and reports every failure; `#[rebuild(async, sequential)]` opens one after
//! another instead. [`AsyncRebuild`] says what happens to a rebuild dropped part-way.
//! Blueprints have an async counterpart, [`AsyncFromBlueprint`]; an async
//! `#[rebuild(serde)]` type is loaded in two steps (deserialize its blueprint, then
//! `from_blueprint(..).await`), since serde cannot await. The join stores each open
//! and its output once, so a rebuild future grows with its fields, no faster
//! (`BENCHMARKS.md` has the sizes).
//!
//! The trait and the derive need no runtime. With feature `tokio`, the `tokio` module
//! has the async counterparts of the `fs` and `net` factories, and `Blocking`, which
//! serves an async type with any blocking factory on tokio's blocking pool (SQLite,
//! locks); feature `tokio-postgres` adds async PostgreSQL sessions.
//!
//! # Pools
//!
//! A connection pool needs what a factory has: a way to open a connection, to check
//! it, and to close it. With feature `r2d2` (blocking) or `deadpool` (async), a factory
//! and its recipe are the pool's manager (`r2d2::Manager`, `deadpool::Manager`), so
//! the same recipe serves a rebuild and a pool. The pools call
//! [`Factory::check`] (or [`AsyncFactory::check`]) before handing a connection out
//! again, and close every connection they discard through [`Factory::close`]; neither
//! pool has anywhere to report a failed close, so it goes to the close-error hook
//! ([`set_close_error_hook`]), never silently.
//!
//! # Composing types
//!
//! Real types are composed: a service holds a logger, a database, a `Vec` of shard
//! connections, an optional cache, each a type of its own. A `#[nested]` field holds a
//! value whose type is itself [`Rebuild`]: a derived type, or one of the standard
//! containers of such values, which this crate implements `Rebuild` for: `Box<T>`,
//! `Option<T>`, `Vec<T>`, `[T; N]`, `VecDeque<T>`, `BTreeMap<K, V>` (`K: Clone + Ord +
//! Debug`) and `HashMap<K, V, S>` (`K: Clone + Eq + Hash + Debug`, `S: BuildHasher +
//! Clone`), nested as deep as you like.
//!
//! ```
//! use guardian_core::{Factory, Rebuild};
//! use std::collections::BTreeMap;
//!
//! /// Opens a "connection" that remembers its address; refuses one address.
//! struct Connect;
//! impl Factory for Connect {
//!     type Config = str;
//!     type Resource = String;
//!     type Error = std::io::Error;
//!     fn open(&self, address: &str) -> std::io::Result<String> {
//!         match address {
//!             "down:7000" => Err(std::io::Error::other("connection refused")),
//!             _ => Ok(format!("connected to {address}")),
//!         }
//!     }
//! }
//!
//! #[derive(Rebuild)]
//! struct Shard {
//!     #[config]
//!     address: String,
//!     #[resource(factory = Connect, from = address)]
//!     conn: String,
//! }
//!
//! #[derive(Rebuild)]
//! struct Service {
//!     #[config]
//!     name: String,
//!     #[nested]
//!     shards: Vec<Shard>,
//!     #[nested]
//!     cache: Option<Shard>,
//!     #[nested]
//!     regions: BTreeMap<String, Vec<Shard>>,
//! }
//!
//! let shard = |address: &str| Shard { conn: Connect.open(address).unwrap(), address: address.into() };
//! let mut service = Service {
//!     name: "scores".into(),
//!     shards: vec![shard("a:7000"), shard("b:7000"), shard("c:7000")],
//!     cache: None,
//!     regions: BTreeMap::from([("eu".into(), vec![shard("eu-1:7000")])]),
//! };
//! let copy = service.rebuild()?; // every shard reconnected, at every level
//! copy.close()?;
//!
//! // A shard whose address is now down: the copies already made are closed, in
//! // reverse, and the error gives the whole path to the resource.
//! service.shards[2].address = "down:7000".into();
//! let err = service.rebuild().err().expect("shard 2 is down");
//! assert_eq!(err.path().to_string(), "shards[2].conn");
//! assert_eq!(err.field(), "shards");
//! # service.close()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! - **All or nothing, through every level.** A container rebuilds its elements in
//!   order; if element `i` fails, the copies `0..i` are closed in reverse, and so, by
//!   the derived code, are the fields before it. Nothing stays open, however deep the
//!   failure.
//! - **The path to the failure.** [`RebuildError::path`] runs from the outermost field
//!   to the resource: `shards[2].conn`; map keys appear through their `Debug`,
//!   `regions["eu"][0].conn` (which is why the map impls need `K: Debug`: the path
//!   cannot be shown without it). [`RebuildError::field`] still names the outermost
//!   field. The failure is *one* error with a long path, so its chain
//!   ([`source`](std::error::Error::source)) says it once, not once per level.
//! - **Closing** goes through every element, in reverse order, at every level, goes on
//!   after a failure and records each failure with its whole path in the
//!   [`CloseError`] ([`CloseFailure::path`]). A hash map has no order of its own: its
//!   rollback closes in exactly the reverse of the order it rebuilt in, and its
//!   `close` goes in its iteration order (a reverse of an unspecified order would
//!   promise nothing, and cost an allocation).
//! - `Box` and `Option` add no path segment: they hold one value or none, so their
//!   errors are the value's own.
//! - An error raised by a container on its own (`shards.rebuild()` rather than
//!   `service.rebuild()`) names the container's type as [`std::any::type_name`] spells
//!   it (`alloc::vec::Vec<app::Shard>`), and its path starts at the element
//!   (`[2].conn`).
//! - **Blueprints.** With `#[rebuild(blueprint)]`, a `#[nested]` field's blueprint is
//!   its type's blueprint: the containers implement [`FromBlueprint`] where their
//!   elements do, in their own shape (`Vec<Shard>`'s blueprint is a
//!   `Vec<ShardBlueprint>`, `Box<Node>`'s a `Box<NodeBlueprint>`, so that a recursive
//!   type's blueprint has a size). A composed value saves its whole recipe and
//!   reopens everything on load, through each level's own factories (confined
//!   factories stay confined at every level).
//! - A generic `#[nested] inner: T` gets the bound `T: Rebuild` inferred.
//!
//! # Built-in factories
//!
//! One module per family, each saying what a reopen gives back and what it refuses:
//! [`fs`] (read, resume-read, append, exclusive write, buffered; recipes are
//! [`fs::AbsolutePath`]s), [`net`] (TCP clients and listeners, UDP sockets, Unix-socket
//! clients), [`sync`] (locks whose data is copied into a fresh lock), with features
//! `sqlite` and `postgres` the database connections, with feature `confine` the
//! factories that load untrusted recipes safely, and with feature `tokio` the async
//! ones.
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
//! - **A wrapper that adds nothing is transparent**: a [`ScopeError`] with one failure
//!   (the body's, or the close's) *is* that failure, so its `Display` and `source` are
//!   the failure's own (each message once in the chain); with both, it is an
//!   aggregate, as above. [`body_error`](ScopeError::body_error) and
//!   [`close_error`](ScopeError::close_error) give each, typed.
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
//! blueprint: only the config is written, and loading reopens every resource. The
//! file and socket recipes ([`fs::AbsolutePath`], [`net::TcpConfig`],
//! [`net::UdpConfig`]) are serde types; the database recipes are not (they can hold a
//! password, SQL run at every open, an init function): leave such a field out of the
//! save with `#[serde(skip, default = "...")]`, so that the loading process supplies
//! it. A recipe chooses what gets opened, so load untrusted ones through the `confine`
//! factories (feature `confine`).

// On docs.rs (`--cfg docsrs`), feature-gated items say which feature they need.
#![cfg_attr(docsrs, feature(doc_cfg))]

// Each module's summary is its own `//!` docs: a `///` here would be merged into it.
mod async_containers;
mod async_factory;
mod blueprint;
#[cfg(feature = "confine")]
#[cfg_attr(docsrs, doc(cfg(feature = "confine")))]
pub mod confine;
mod containers;
#[cfg(feature = "deadpool")]
#[cfg_attr(docsrs, doc(cfg(feature = "deadpool")))]
pub mod deadpool;
mod error;
mod factory;
pub mod fs;
mod guard;
mod join;
pub mod net;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub mod postgres;
#[cfg(feature = "r2d2")]
#[cfg_attr(docsrs, doc(cfg(feature = "r2d2")))]
pub mod r2d2;
mod scope;
mod shown;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub mod sqlite;
pub mod sync;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod tokio;

pub use async_factory::{AsyncFactory, AsyncRebuild};
pub use blueprint::{AsyncFromBlueprint, FromBlueprint};
pub use error::{
    BoxError, CloseError, CloseFailure, FieldPath, OpenFailure, PathSegment, RebuildError,
};
pub use factory::{Factory, Rebuild};
pub use guard::{Guard, set_close_error_hook, take_close_error_hook};
pub use scope::{ScopeError, scope};

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
    AsyncNestedBlueprint, AsyncResourceIs, CloneImplemented, CloneOf, CloseWithoutDrop,
    DropImplemented, HoldsResources, IsAsyncFactory, IsFactory, NestedBlueprint,
    OpensWithoutRecipe, PackedCopy, RecipeFor, ResourceIs, ResourcesNotCloned,
};
