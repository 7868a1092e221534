//! The two traits of the contract: [`Factory`] opens one resource from its recipe,
//! [`Rebuild`] copies a whole value by copying its config and reopening its resources.

use crate::{CloseError, RebuildError};

/// Opens a live resource (a file, a socket, a connection, a lock) from its recipe.
///
/// A factory is the "how" of a resource; the recipe (`Config`) is the "what": a path,
/// an address, options. `#[derive(Rebuild)]` stores the recipe in a `#[config]` field
/// and names the factory in `#[resource(factory = ..., from = field)]`, so that
/// [`Rebuild::rebuild`] can open a fresh, independent resource instead of sharing or
/// dropping the live one.
///
/// Only [`open`](Factory::open) is required. [`reopen`](Factory::reopen) lets a factory
/// carry state over from the live resource (a cursor position, the data behind a lock),
/// and [`close`](Factory::close) lets it flush and report errors that `Drop` would
/// swallow.
///
/// # Example
///
/// ```
/// use guardian_core::Factory;
/// use std::path::Path;
///
/// /// Opens a file for reading, relative to a fixed root.
/// struct UnderRoot(&'static str);
///
/// impl Factory for UnderRoot {
///     type Config = Path;
///     type Resource = std::fs::File;
///     type Error = std::io::Error;
///
///     fn open(&self, config: &Path) -> std::io::Result<std::fs::File> {
///         std::fs::File::open(Path::new(self.0).join(config))
///     }
/// }
///
/// let factory = UnderRoot(env!("CARGO_MANIFEST_DIR"));
/// let manifest = factory.open(Path::new("Cargo.toml"))?;
/// factory.close(manifest)?; // the default `close` drops it
/// # Ok::<(), std::io::Error>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a guardian `Factory`",
    label = "`factory = ...` must give a value whose type implements `guardian_core::Factory`",
    note = "use a built-in factory, or implement `guardian_core::Factory` for `{Self}` (only `open` is required)"
)]
pub trait Factory {
    /// The recipe a resource is opened from, borrowed from a `#[config]` field
    /// (`Path` for files, a socket address for clients, `()` when there is none).
    type Config: ?Sized;
    /// The live resource this factory opens.
    type Resource;
    /// What goes wrong when opening or closing; it becomes the
    /// [`source`](std::error::Error::source) of [`RebuildError`] and is kept in
    /// [`CloseError`].
    type Error: std::error::Error + Send + Sync + 'static;

    /// Opens a fresh resource from its recipe.
    fn open(&self, config: &Self::Config) -> Result<Self::Resource, Self::Error>;

    /// Opens a fresh resource to replace a copy of `live`; [`Rebuild::rebuild`] calls
    /// this. The default ignores `live` and calls [`open`](Factory::open).
    ///
    /// Override it to carry state over from the live resource, for example to seek the
    /// new handle to the live handle's position, or to copy the data behind a lock. The
    /// result must still be independent of `live`: never return a duplicate of it.
    fn reopen(
        &self,
        config: &Self::Config,
        live: &Self::Resource,
    ) -> Result<Self::Resource, Self::Error> {
        let _ = live;
        self.open(config)
    }

    /// Checks that a live resource still works, cheaply: a connection pool calls this
    /// before handing a pooled resource out again (see the `r2d2` module, feature
    /// `r2d2`). The default says it does (`Ok(())`); built-in factories override it
    /// where a cheap test exists (SQLite: the file is still the one under its name, no
    /// transaction was left open, the header reads; PostgreSQL: an empty query within
    /// a timeout; a TCP client: a peek for end-of-stream or a reset, without waiting).
    /// Each factory's docs say what its check detects and what it cannot.
    ///
    /// A failure means the resource must not be used again: a pool then closes it
    /// through [`close`](Factory::close) and opens a fresh one.
    fn check(&self, resource: &mut Self::Resource) -> Result<(), Self::Error> {
        let _ = resource;
        Ok(())
    }

    /// Closes a resource, reporting what went wrong (unflushed data, a failed sync,
    /// a refused disconnect). The default drops it.
    ///
    /// [`Rebuild::close`] calls this for every resource field, and a failed rebuild
    /// calls it for every resource it had already opened.
    fn close(&self, resource: Self::Resource) -> Result<(), Self::Error> {
        drop(resource);
        Ok(())
    }
}

/// Copies a value by copying its config and reopening its resources; derive it with
/// `#[derive(Rebuild)]`.
///
/// This is the safe replacement for `Clone` on types that hold live OS resources:
/// `Clone` would have to share the handle (a *double booking*: two owners of one open
/// file, one cursor) or drop it (a *hollow* copy). `rebuild` instead clones every
/// `#[config]` field and opens every `#[resource]` field afresh through its
/// [`Factory`], so the copy owns handles of its own.
///
/// # The Guardian Rule
///
/// Never assume a resource closes itself: end a value's life with
/// [`close`](Rebuild::close), which flushes and closes every resource and reports
/// every failure. `Drop` runs too if you forget, but it has nowhere to report an error.
///
/// # Example
///
/// ```
/// use guardian_core::{Factory, Rebuild};
/// use std::{fs::File, path::PathBuf};
///
/// struct Append;
/// impl Factory for Append {
///     type Config = std::path::Path;
///     type Resource = File;
///     type Error = std::io::Error;
///     fn open(&self, path: &std::path::Path) -> std::io::Result<File> {
///         File::options().create(true).append(true).open(path)
///     }
/// }
///
/// #[derive(Rebuild)]
/// struct MatchLogger {
///     #[config]
///     path: PathBuf,
///     #[config]
///     moves: Vec<String>,
///     #[resource(factory = Append, from = path)]
///     log: File,
/// }
///
/// # let dir = std::env::temp_dir().join(format!("guardian-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let path = dir.join("match.log");
/// let logger = MatchLogger { log: Append.open(&path)?, path, moves: vec!["e4".into()] };
///
/// let branch = logger.rebuild()?; // copies `path` and `moves`, opens its own `File`
/// assert_eq!(branch.moves, logger.moves);
///
/// branch.close()?; // the Guardian Rule: close explicitly, see every error
/// logger.close()?;
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not `Rebuild`: it cannot be rebuilt or closed",
    label = "`{Self}` does not implement `guardian_core::Rebuild`",
    note = "derive it on a type of yours with `#[derive(Rebuild)]`; a `#[nested]` field holds such a type, or a `Box`, `Option`, `Vec`, array, `VecDeque`, `BTreeMap` or `HashMap` of one. A plain value belongs in a `#[config]` field (cloned), a live handle in a `#[resource(...)]` field (reopened by its factory); a shared pointer (`Arc`, `Rc`) would share the live handles: hold the value itself"
)]
pub trait Rebuild: Sized {
    /// Returns a copy whose `#[config]` fields are clones and whose `#[resource]`
    /// fields are freshly opened (in declaration order) through their factories'
    /// [`reopen`](Factory::reopen).
    ///
    /// All or nothing: if a resource fails to open, the ones already opened are closed
    /// (through [`Factory::close`]) and the error names the field.
    fn rebuild(&self) -> Result<Self, RebuildError>;

    /// Closes every `#[resource]` field through its factory, in reverse declaration
    /// order, going on after a failure, and reports every failure.
    ///
    /// The provided body drops the value, which is right for a type without resources
    /// (the derive emits `close` only for types that have some). **A hand-written impl
    /// for a type that holds resources must override it**, closing each through its
    /// factory and collecting failures in a [`CloseError`]; otherwise their errors
    /// are swallowed by `Drop`, which the Guardian Rule is about.
    fn close(self) -> Result<(), CloseError> {
        drop(self);
        Ok(())
    }
}
