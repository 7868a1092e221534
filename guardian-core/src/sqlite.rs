//! SQLite connections: a factory that gives every new connection the settings of its
//! recipe again, and refuses hollow copies (feature `sqlite`).
//!
//! [`Sqlite`] is a [`Factory`] of [`rusqlite::Connection`]s. Its recipe,
//! [`SqliteConfig`], holds the database path, the open flags and every per-connection
//! setting a new connection must be given again (busy timeout, foreign keys, journal
//! mode, other pragmas, an init hook), so that a rebuilt connection behaves like the
//! original, not like a default connection.
//!
//! ```
//! use guardian_core::Rebuild;
//! use guardian_core::sqlite::{JournalMode, Sqlite, SqliteConfig, rusqlite::Connection};
//! use std::time::Duration;
//!
//! #[derive(Rebuild)]
//! struct Tournament {
//!     #[config]
//!     db: SqliteConfig,
//!     #[resource(factory = Sqlite, from = db)]
//!     conn: Connection,
//! }
//!
//! # let dir = std::env::temp_dir().join(format!("guardian-sqlite-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let db = SqliteConfig::new(dir.join("tournament.db"))
//!     .with_busy_timeout(Duration::from_millis(2_500))
//!     .with_foreign_keys(true)
//!     .with_journal_mode(JournalMode::Wal);
//! let main = Tournament { conn: Sqlite.open_with(&db)?, db };
//!
//! let worker = main.rebuild()?; // a second connection to the same file, same settings
//! let fk: bool = worker.conn.query_row("PRAGMA foreign_keys", [], |row| row.get(0))?;
//! assert!(fk);
//!
//! worker.close()?;
//! main.close()?;
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Rebuild or back up?
//!
//! They answer different questions:
//!
//! - **Rebuild** when you want *another handle to the same data*: a second session
//!   for another thread, a worker, a reader beside a writer. Committed rows are seen
//!   by both; each has its own transactions, its own statement cache, its own `TEMP`
//!   tables, and an uncommitted transaction in one is invisible to the other.
//! - **Back up** ([`Sqlite::backup`]) when you want *a second copy of the data*: a
//!   snapshot to experiment on, to ship, or to keep. Writes to the copy never show in
//!   the original, nor the other way round.
//!
//! # Hollow copies are refused
//!
//! A connection to `":memory:"` or to a temporary database (the empty path `""`) owns
//! its database: it is created empty when the connection opens and vanishes when it
//! closes. A new connection opened from the same recipe would be a new, *empty*,
//! different database: a hollow copy, and the program reading from it would find no
//! data rather than an error. So [`Factory::reopen`] (what
//! [`Rebuild::rebuild`](crate::Rebuild::rebuild) calls) refuses such a config with an
//! error ([`SqliteError::is_hollow_copy`]) that points at the two honest alternatives:
//!
//! - a named, shared-cache in-memory database, `file:NAME?mode=memory&cache=shared`
//!   opened with the URI flag ([`SqliteConfig::shared_memory`]): every connection of
//!   the process that opens that name sees the same data, as long as one of them is
//!   open;
//! - a backup ([`Sqlite::backup`]), when a copy of the data is what you want.
//!
//! [`Factory::open`] does accept `":memory:"`: opening the *first* connection to a
//! private in-memory database is ordinary and useful; only opening another one *in
//! place of a copy* is the mistake.
//!
//! ```
//! use guardian_core::Rebuild;
//! use guardian_core::sqlite::{Sqlite, SqliteConfig, rusqlite::Connection};
//!
//! #[derive(Rebuild)]
//! struct Scratch {
//!     #[config]
//!     db: SqliteConfig,
//!     #[resource(factory = Sqlite, from = db)]
//!     conn: Connection,
//! }
//!
//! let db = SqliteConfig::new(":memory:");
//! let scratch = Scratch { conn: Sqlite.open_with(&db)?, db }; // the first one: fine
//! let err = scratch.rebuild().err().expect("a rebuild of `:memory:` is refused");
//! assert_eq!(err.field(), "conn");
//! scratch.close()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Closing
//!
//! [`Factory::close`] uses the driver's fallible [`Connection::close`] and reports its
//! error (typically `SQLITE_BUSY`: a statement that was never finalised, or a backup
//! that was never finished). SQLite then keeps the database handle, and its file
//! descriptors, open until the process exits: finalise every statement (drop it)
//! before closing.
//!
//! This module is compiled with the `sqlite` feature. SQLite itself is bundled
//! (compiled from source by `rusqlite`), so nothing needs installing.
//!
//! [`Connection::close`]: rusqlite::Connection::close
//! [`Sqlite::backup`]: crate::sqlite::Sqlite::backup
//! [`SqliteConfig::shared_memory`]: crate::sqlite::SqliteConfig::shared_memory
//! [`SqliteConfig`]: crate::sqlite::SqliteConfig
//! [`SqliteError::is_hollow_copy`]: crate::sqlite::SqliteError::is_hollow_copy
//! [`Sqlite`]: crate::sqlite::Sqlite

use crate::Factory;
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};
use std::error::Error;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The `rusqlite` version this module is built against, so that your
/// [`Connection`] is the one [`Sqlite`] opens.
pub use rusqlite;

/// Opens [`rusqlite::Connection`]s from an [`SqliteConfig`], applying its settings,
/// and refuses to rebuild a connection whose database would not be shared (see the
/// [module docs](self)).
///
/// Use it as `#[resource(factory = Sqlite, from = config_field)]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Sqlite;

impl Sqlite {
    /// Opens a connection from `config` and applies its settings: the same as
    /// [`Factory::open`], callable without importing the trait.
    pub fn open_with(self, config: &SqliteConfig) -> Result<Connection, SqliteError> {
        config.open()
    }

    /// Copies the whole `main` database of `live` into the database `to` names, with
    /// SQLite's online backup API, and returns a connection to the copy (with `to`'s
    /// settings applied).
    ///
    /// The destination's previous content is replaced. `to` may be `":memory:"`:
    /// backing up is the honest way to copy a private in-memory database. The copy
    /// is a snapshot of what `live` has committed (plus, if `live` itself is in a
    /// transaction, what it has written so far); later writes to either database do
    /// not show in the other.
    ///
    /// If a lock keeps the copy from proceeding, it is retried for `to`'s busy
    /// timeout (5 seconds when unset, as `rusqlite` does), then reported.
    ///
    /// ```
    /// use guardian_core::sqlite::{Sqlite, SqliteConfig, rusqlite::Connection};
    ///
    /// let count = |c: &Connection| -> Result<i64, _> {
    ///     c.query_row("SELECT count(*) FROM player", [], |row| row.get(0))
    /// };
    /// let original = Sqlite.open_with(&SqliteConfig::new(":memory:"))?;
    /// original.execute_batch("CREATE TABLE player(name TEXT); INSERT INTO player VALUES ('Ada');")?;
    ///
    /// let copy = Sqlite.backup(&original, &SqliteConfig::new(":memory:"))?;
    /// copy.execute("INSERT INTO player VALUES ('Grace')", [])?;
    ///
    /// assert_eq!(count(&original)?, 1); // the copy's write is not in the original
    /// assert_eq!(count(&copy)?, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn backup(self, live: &Connection, to: &SqliteConfig) -> Result<Connection, SqliteError> {
        use rusqlite::backup::{Backup, StepResult};

        let mut copy = to.open()?;
        let failed = |source| SqliteError::new(SqliteOp::Backup, &to.path, Kind::Driver(source));
        let patience = to.busy_timeout.unwrap_or(Duration::from_secs(5));
        let pause = Duration::from_millis(10);
        let mut waited = Duration::ZERO;
        {
            let backup = Backup::new(live, &mut copy).map_err(failed)?;
            loop {
                // -1: every remaining page in one step.
                match backup.step(-1).map_err(failed)? {
                    StepResult::Done => break,
                    StepResult::More => {}
                    StepResult::Busy | StepResult::Locked if waited < patience => {
                        std::thread::sleep(pause);
                        waited += pause;
                    }
                    // `StepResult` is non-exhaustive; whatever else it may say, the copy
                    // is not complete.
                    _ => {
                        let code = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY);
                        return Err(failed(rusqlite::Error::SqliteFailure(code, None)));
                    }
                }
            }
        }
        Ok(copy)
    }
}

impl Factory for Sqlite {
    type Config = SqliteConfig;
    type Resource = Connection;
    type Error = SqliteError;

    /// Opens a connection and applies the settings. A private in-memory or temporary
    /// database is accepted here: this is the first connection to it.
    fn open(&self, config: &SqliteConfig) -> Result<Connection, SqliteError> {
        config.open()
    }

    /// Opens another connection to the same database, with the same settings; refuses
    /// a config whose every connection gets a database of its own (a hollow copy, see
    /// [`SqliteConfig::is_private_to_connection`]).
    ///
    /// Nothing of `live`'s session state carries over: its open transaction and
    /// uncommitted writes, its `TEMP` tables, its prepared statements, and settings
    /// changed on it by hand rather than in the config.
    fn reopen(&self, config: &SqliteConfig, live: &Connection) -> Result<Connection, SqliteError> {
        let _ = live;
        if let Some(what) = config.private_kind() {
            return Err(SqliteError::new(
                SqliteOp::Reopen,
                &config.path,
                Kind::Hollow(what),
            ));
        }
        config.open()
    }

    /// Closes with [`Connection::close`] and reports its error (see the
    /// [module docs](self#closing)).
    fn close(&self, conn: Connection) -> Result<(), SqliteError> {
        let path = PathBuf::from(conn.path().unwrap_or_default());
        conn.close().map_err(|(conn, source)| {
            // SQLite refused to close the handle; dropping the connection tries again
            // and, failing, leaves the handle open: there is nothing else to do with
            // it, and the error says why.
            drop(conn);
            SqliteError::new(SqliteOp::Close, &path, Kind::Driver(source))
        })
    }
}

/// The recipe of an SQLite connection: path, open flags, and the per-connection
/// settings every connection opened from it is given.
///
/// Settings are applied in this order: busy timeout, foreign keys, journal mode, the
/// [pragmas](SqliteConfig::with_pragma) in the order they were added, then the
/// [init hook](SqliteConfig::with_init).
///
/// A builder: each `with_*` method takes the config by value and returns it changed,
/// and the getter of the same name without `with_` reads the setting back.
///
/// ```
/// use guardian_core::sqlite::{JournalMode, SqliteConfig};
/// use std::time::Duration;
///
/// let config = SqliteConfig::new("league.db")
///     .with_busy_timeout(Duration::from_secs(2))
///     .with_foreign_keys(true)
///     .with_journal_mode(JournalMode::Wal)
///     .with_pragma("synchronous", "NORMAL")
///     .with_pragma("cache_size", -8_000);
/// assert_eq!(config.path(), std::path::Path::new("league.db"));
/// assert_eq!(config.busy_timeout(), Some(Duration::from_secs(2)));
/// assert_eq!(config.pragmas().len(), 2);
/// assert!(!config.is_private_to_connection());
/// ```
#[derive(Clone, Debug)]
pub struct SqliteConfig {
    path: PathBuf,
    flags: OpenFlags,
    busy_timeout: Option<Duration>,
    foreign_keys: Option<bool>,
    journal_mode: Option<JournalMode>,
    pragmas: Vec<(String, PragmaValue)>,
    init: Option<fn(&Connection) -> rusqlite::Result<()>>,
}

impl SqliteConfig {
    /// A config for the database at `path`, opened with `rusqlite`'s default flags
    /// (read-write, create, URI filenames, no mutex) and no settings of its own.
    ///
    /// `":memory:"` and `""` name a database private to one connection (see the
    /// [module docs](self#hollow-copies-are-refused)).
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            flags: OpenFlags::default(),
            busy_timeout: None,
            foreign_keys: None,
            journal_mode: None,
            pragmas: Vec::new(),
            init: None,
        }
    }

    /// A named in-memory database shared by every connection of this process that
    /// opens the same `name` (`file:NAME?mode=memory&cache=shared`, opened with the
    /// URI flag). It lives as long as one connection to it is open, so it can be
    /// rebuilt: the new connection sees the same data.
    ///
    /// `name` is used as written in the URI: keep it to letters, digits, `-` and `_`.
    #[must_use]
    pub fn shared_memory(name: &str) -> Self {
        Self::new(format!("file:{name}?mode=memory&cache=shared"))
            .with_open_flags(OpenFlags::default() | OpenFlags::SQLITE_OPEN_URI)
    }

    /// Replaces the open flags (see [`OpenFlags`]).
    #[must_use]
    pub fn with_open_flags(mut self, flags: OpenFlags) -> Self {
        self.flags = flags;
        self
    }

    /// How long a statement waits for a lock held by another connection before it
    /// fails with `SQLITE_BUSY` (`rusqlite` opens with 5 seconds).
    #[must_use]
    pub fn with_busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = Some(timeout);
        self
    }

    /// Whether foreign key constraints are enforced (`PRAGMA foreign_keys`, a
    /// per-connection setting). SQLite's own default is off, but the SQLite that
    /// `rusqlite` bundles (and so this module) is built with it on: set it to say which
    /// you rely on.
    #[must_use]
    pub fn with_foreign_keys(mut self, enforce: bool) -> Self {
        self.foreign_keys = Some(enforce);
        self
    }

    /// The journal mode (`PRAGMA journal_mode`). Opening fails if SQLite keeps
    /// another mode (an in-memory database only has `MEMORY` or `OFF`).
    #[must_use]
    pub fn with_journal_mode(mut self, mode: JournalMode) -> Self {
        self.journal_mode = Some(mode);
        self
    }

    /// Adds `PRAGMA name = value`, applied to every connection (after the settings
    /// above, in the order added). For per-connection pragmas such as `synchronous`,
    /// `cache_size`, `temp_store` or `recursive_triggers`.
    #[must_use]
    pub fn with_pragma(mut self, name: impl Into<String>, value: impl Into<PragmaValue>) -> Self {
        self.pragmas.push((name.into(), value.into()));
        self
    }

    /// A function run on every new connection after the settings: for what a config
    /// cannot hold as data (registering functions or collations, `ATTACH`ing
    /// databases).
    #[must_use]
    pub fn with_init(mut self, init: fn(&Connection) -> rusqlite::Result<()>) -> Self {
        self.init = Some(init);
        self
    }

    /// The database path (or URI) as given.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open flags.
    #[must_use]
    pub fn open_flags(&self) -> OpenFlags {
        self.flags
    }

    /// The busy timeout, if set.
    #[must_use]
    pub fn busy_timeout(&self) -> Option<Duration> {
        self.busy_timeout
    }

    /// Whether foreign keys are turned on or off, if set.
    #[must_use]
    pub fn foreign_keys(&self) -> Option<bool> {
        self.foreign_keys
    }

    /// The journal mode, if set.
    #[must_use]
    pub fn journal_mode(&self) -> Option<JournalMode> {
        self.journal_mode
    }

    /// The pragmas, as `(name, value)` pairs in the order they are applied.
    #[must_use]
    pub fn pragmas(&self) -> &[(String, PragmaValue)] {
        &self.pragmas
    }

    /// The init hook, if set.
    #[must_use]
    pub fn init(&self) -> Option<fn(&Connection) -> rusqlite::Result<()>> {
        self.init
    }

    /// Whether every connection opened from this config gets a database of its own,
    /// created empty: `":memory:"`, `""`, a plain name with
    /// [`SQLITE_OPEN_MEMORY`](OpenFlags::SQLITE_OPEN_MEMORY), or an in-memory or
    /// temporary URI (`file::memory:`, `file:NAME?mode=memory`, `file:`) without a
    /// shared cache (`cache=shared` or
    /// [`SQLITE_OPEN_SHARED_CACHE`](OpenFlags::SQLITE_OPEN_SHARED_CACHE)). A rebuild
    /// of such a connection would be a hollow copy, and is refused.
    ///
    /// This reads the path and flags as SQLite would, without percent-decoding a URI.
    #[must_use]
    pub fn is_private_to_connection(&self) -> bool {
        self.private_kind().is_some()
    }

    /// What kind of connection-private database this config opens, if it does.
    fn private_kind(&self) -> Option<&'static str> {
        const MEMORY: &str = "a private in-memory database";
        const TEMPORARY: &str = "a private temporary database";
        let path = self.path.as_os_str();
        if path.is_empty() {
            return Some(TEMPORARY);
        }
        if path == ":memory:" {
            return Some(MEMORY);
        }
        let uri = self
            .path
            .to_str()
            .filter(|p| self.flags.contains(OpenFlags::SQLITE_OPEN_URI) && p.starts_with("file:"));
        if let Some(uri) = uri {
            let rest = &uri["file:".len()..];
            let (file, query) = rest.split_once('?').unwrap_or((rest, ""));
            let file = file.split('#').next().unwrap_or_default();
            let query = query.split('#').next().unwrap_or_default();
            let param = |key: &str| {
                query
                    .split('&')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| v)
            };
            let shared = self.flags.contains(OpenFlags::SQLITE_OPEN_SHARED_CACHE)
                || param("cache") == Some("shared");
            let in_memory = file == ":memory:"
                || param("mode") == Some("memory")
                || self.flags.contains(OpenFlags::SQLITE_OPEN_MEMORY);
            if in_memory && !shared {
                return Some(MEMORY);
            }
            if !in_memory && file.is_empty() {
                return Some(TEMPORARY);
            }
            return None;
        }
        // SQLite shares an in-memory database's cache only when it is named by a URI:
        // with a plain name, `SQLITE_OPEN_MEMORY` is private even with the shared-cache
        // flag.
        if self.flags.contains(OpenFlags::SQLITE_OPEN_MEMORY) {
            return Some(MEMORY);
        }
        None
    }

    /// Opens a connection and applies the settings, closing it again if one fails.
    fn open(&self) -> Result<Connection, SqliteError> {
        let conn = Connection::open_with_flags(&self.path, self.flags)
            .map_err(|e| SqliteError::new(SqliteOp::Open, &self.path, Kind::Driver(e)))?;
        self.configure(&conn)
            .map_err(|kind| SqliteError::new(SqliteOp::Configure, &self.path, kind))?;
        Ok(conn)
    }

    fn configure(&self, conn: &Connection) -> Result<(), Kind> {
        let setting = |name: &str| {
            let name = name.to_owned();
            move |source| Kind::Setting { name, source }
        };
        if let Some(timeout) = self.busy_timeout {
            conn.busy_timeout(timeout)
                .map_err(setting("busy_timeout"))?;
        }
        if let Some(on) = self.foreign_keys {
            conn.pragma(None, "foreign_keys", on, |_| Ok(()))
                .map_err(setting("foreign_keys"))?;
        }
        if let Some(mode) = self.journal_mode {
            let kept: String = conn
                .query_row(
                    &format!("PRAGMA journal_mode = {}", mode.as_str()),
                    [],
                    |row| row.get(0),
                )
                .map_err(setting("journal_mode"))?;
            if !kept.eq_ignore_ascii_case(mode.as_str()) {
                return Err(Kind::JournalMode { wanted: mode, kept });
            }
        }
        for (name, value) in &self.pragmas {
            conn.pragma(None, name, &value.0, |_| Ok(()))
                .map_err(setting(name))?;
        }
        if let Some(init) = self.init {
            init(conn).map_err(setting("init"))?;
        }
        Ok(())
    }
}

/// The value of a [`SqliteConfig::with_pragma`]: an integer, a float, a boolean or text.
#[derive(Clone, Debug, PartialEq)]
pub struct PragmaValue(Value);

macro_rules! pragma_value_from {
    ($($ty:ty),*) => {$(
        impl From<$ty> for PragmaValue {
            fn from(value: $ty) -> Self {
                PragmaValue(Value::from(value))
            }
        }
    )*};
}
pragma_value_from!(bool, i32, i64, u32, f64, String);

impl From<&str> for PragmaValue {
    fn from(value: &str) -> Self {
        PragmaValue(Value::Text(value.to_owned()))
    }
}

/// SQLite's journal modes (`PRAGMA journal_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JournalMode {
    /// A rollback journal, deleted at the end of each transaction (SQLite's default).
    Delete,
    /// A rollback journal, truncated to zero bytes instead of deleted.
    Truncate,
    /// A rollback journal, kept and its header zeroed.
    Persist,
    /// A rollback journal kept in memory.
    Memory,
    /// A write-ahead log: readers do not block the writer nor the writer the readers.
    /// Persistent: it is recorded in the database file.
    Wal,
    /// No journal: a crash or a `ROLLBACK` can corrupt the database.
    Off,
}

impl JournalMode {
    /// The mode's name, as `PRAGMA journal_mode` takes and returns it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            JournalMode::Delete => "delete",
            JournalMode::Truncate => "truncate",
            JournalMode::Persist => "persist",
            JournalMode::Memory => "memory",
            JournalMode::Wal => "wal",
            JournalMode::Off => "off",
        }
    }
}

/// What an SQLite factory was doing when it failed; see [`SqliteError::op`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SqliteOp {
    /// Opening the database file.
    Open,
    /// Applying a setting of the config to a new connection.
    Configure,
    /// Reopening for a rebuild (refused: a hollow copy).
    Reopen,
    /// Closing a connection.
    Close,
    /// Backing a database up into another.
    Backup,
}

/// An SQLite connection failed to open, take its settings, be rebuilt, close or back
/// up. It names the database and the operation; the driver's error, if any, is its
/// [`source`](Error::source) (the crate's [rule for errors](crate#errors)).
///
/// Two failures have no driver error, and say why in `Display` instead, with no
/// `source`: the refusal to rebuild a hollow copy
/// ([`is_hollow_copy`](SqliteError::is_hollow_copy)), and a journal mode SQLite did not
/// keep ("SQLite kept `memory`").
#[derive(Debug)]
pub struct SqliteError {
    op: SqliteOp,
    path: PathBuf,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Driver(rusqlite::Error),
    Setting {
        name: String,
        source: rusqlite::Error,
    },
    JournalMode {
        wanted: JournalMode,
        kept: String,
    },
    Hollow(&'static str),
}

impl SqliteError {
    #[cold]
    fn new(op: SqliteOp, path: &Path, kind: Kind) -> Self {
        Self {
            op,
            path: path.to_owned(),
            kind,
        }
    }

    /// What was being done.
    #[must_use]
    pub fn op(&self) -> SqliteOp {
        self.op
    }

    /// The database's path as configured (for [`SqliteOp::Close`], as SQLite reports
    /// it: empty for an in-memory or temporary database; for [`SqliteOp::Backup`],
    /// the destination).
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The setting that failed, for [`SqliteOp::Configure`] (`"foreign_keys"`, a
    /// pragma's name, `"init"`).
    #[must_use]
    pub fn setting(&self) -> Option<&str> {
        match &self.kind {
            Kind::Setting { name, .. } => Some(name),
            Kind::JournalMode { .. } => Some("journal_mode"),
            Kind::Driver(_) | Kind::Hollow(_) => None,
        }
    }

    /// Whether this is the refusal to rebuild a connection to a database private to
    /// one connection (see the [module docs](self#hollow-copies-are-refused)).
    #[must_use]
    pub fn is_hollow_copy(&self) -> bool {
        matches!(self.kind, Kind::Hollow(_))
    }

    /// The driver's error, if SQLite reported one.
    #[must_use]
    pub fn driver_error(&self) -> Option<&rusqlite::Error> {
        match &self.kind {
            Kind::Driver(source) | Kind::Setting { source, .. } => Some(source),
            Kind::JournalMode { .. } | Kind::Hollow(_) => None,
        }
    }
}

/// The path in backticks, or what an empty path means.
struct Shown<'a>(&'a Path);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.as_os_str().is_empty() {
            f.write_str("`\"\"` (temporary or in-memory)")
        } else {
            write!(f, "`{}`", self.0.display())
        }
    }
}

impl fmt::Display for SqliteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = Shown(&self.path);
        match (&self.kind, self.op) {
            (Kind::Hollow(what), _) => write!(
                f,
                "refusing to rebuild a connection to SQLite database {path}: it is {what}, so a \
                 new connection would open a new, empty database (a hollow copy), not the same \
                 data; for another handle to the same data use a named shared-cache in-memory \
                 database (`file:NAME?mode=memory&cache=shared` with the URI open flag, \
                 `SqliteConfig::shared_memory`), for a second copy of the data use a backup \
                 (`Sqlite::backup`)"
            ),
            (Kind::Setting { name, .. }, _) => {
                write!(f, "cannot apply `{name}` to SQLite database {path}")
            }
            (Kind::JournalMode { wanted, kept }, _) => write!(
                f,
                "cannot apply `journal_mode = {}` to SQLite database {path}: SQLite kept `{kept}`",
                wanted.as_str()
            ),
            // Settings and refusals have kinds of their own: a driver error during one
            // of them is one of opening.
            (Kind::Driver(_), SqliteOp::Open | SqliteOp::Configure | SqliteOp::Reopen) => {
                write!(f, "cannot open SQLite database {path}")
            }
            (Kind::Driver(_), SqliteOp::Close) => {
                write!(f, "cannot close SQLite database {path}")
            }
            (Kind::Driver(_), SqliteOp::Backup) => {
                write!(f, "cannot back up into SQLite database {path}")
            }
        }
    }
}

impl Error for SqliteError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.driver_error().map(|e| e as _)
    }
}
