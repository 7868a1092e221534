//! The recipe of a connection: the database's name, pinned, the open flags and the
//! per-connection settings.

use super::error::{Kind, Refusal, SqliteError, SqliteOp};
use super::name::{self, PinError, Target};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The recipe of an SQLite connection: the database's name (a relative file path made
/// absolute when the config is made), open flags, and the per-connection settings
/// every connection opened from it is given.
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
/// let config = SqliteConfig::new("league.db")?
///     .with_busy_timeout(Duration::from_secs(2))
///     .with_foreign_keys(true)
///     .with_journal_mode(JournalMode::Wal)
///     .with_pragma("synchronous", "NORMAL")
///     .with_pragma("cache_size", -8_000);
/// // Pinned to the working directory of the moment it was made.
/// assert_eq!(config.path(), std::env::current_dir()?.join("league.db"));
/// assert_eq!(config.busy_timeout(), Some(Duration::from_secs(2)));
/// assert_eq!(config.pragmas().len(), 2);
/// assert!(!config.is_private_to_connection());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct SqliteConfig {
    /// The name as given.
    name: PathBuf,
    /// `name` with its relative file path made absolute by `new`, if it has one.
    pinned: Option<PathBuf>,
    flags: OpenFlags,
    busy_timeout: Option<Duration>,
    foreign_keys: Option<bool>,
    journal_mode: Option<JournalMode>,
    pragmas: Vec<(String, PragmaValue)>,
    init: Option<fn(&Connection) -> rusqlite::Result<()>>,
}

impl SqliteConfig {
    /// A config for the database `path` names, opened with `rusqlite`'s default flags
    /// (read-write, create, URI filenames, no mutex) and no settings of its own.
    ///
    /// `path` is a file path, a `file:` URI, or a name SQLite gives a meaning of its
    /// own (`":memory:"`, `""`; see the
    /// [module docs](super#which-database-a-recipe-names)). A relative file path, plain
    /// or in a `file:` URI, is made absolute now, against the current working
    /// directory, so that a later [`set_current_dir`](std::env::set_current_dir) does
    /// not change which file a rebuild opens; in-memory and temporary names are kept
    /// as written.
    ///
    /// Fails, with an error of operation [`SqliteOp::Resolve`], if the path is
    /// relative and the working directory cannot be read (its `source` is the OS's
    /// error).
    pub fn new(path: impl Into<PathBuf>) -> Result<Self, SqliteError> {
        let name = path.into();
        // Under the default flags every name that could open a file does (flags can
        // only turn a file into memory or into an error), so pinning now covers every
        // `with_open_flags` to come; `resolve` drops the pin if the flags turn the name
        // into an in-memory one.
        let pinned = match name::pin(&name, OpenFlags::default()) {
            Ok(pinned) => pinned,
            Err(PinError::WorkingDir(error)) => {
                return Err(SqliteError::new(
                    SqliteOp::Resolve,
                    &name,
                    Kind::WorkingDir(error),
                ));
            }
            #[cfg(not(unix))]
            Err(PinError::RelativeUri) => {
                return Err(SqliteError::new(
                    SqliteOp::Resolve,
                    &name,
                    Kind::RelativeUri,
                ));
            }
        };
        Ok(Self {
            name,
            pinned,
            flags: OpenFlags::default(),
            busy_timeout: None,
            foreign_keys: None,
            journal_mode: None,
            pragmas: Vec::new(),
            init: None,
        })
    }

    /// A named in-memory database shared by every connection of this process that
    /// opens the same `name` (`file:NAME?mode=memory&cache=shared`, opened with the
    /// URI flag). It lives as long as one connection to it is open, so it can be
    /// rebuilt: the new connection sees the same data.
    ///
    /// Any `name` works: what is not a letter, a digit, `-`, `.`, `_` or `~` is
    /// percent-encoded in the URI, so SQLite reads back exactly `name`. An empty name
    /// is SQLite's private temporary database, which a rebuild refuses.
    #[must_use]
    pub fn shared_memory(name: &str) -> Self {
        Self {
            name: PathBuf::from(name::shared_memory_uri(name)),
            pinned: None,
            flags: OpenFlags::default() | OpenFlags::SQLITE_OPEN_URI,
            busy_timeout: None,
            foreign_keys: None,
            journal_mode: None,
            pragmas: Vec::new(),
            init: None,
        }
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
    ///
    /// The names it uses are its own: a relative path in an `ATTACH` is resolved
    /// against the working directory of each connection's opening, not pinned.
    #[must_use]
    pub fn with_init(mut self, init: fn(&Connection) -> rusqlite::Result<()>) -> Self {
        self.init = Some(init);
        self
    }

    /// The name SQLite is given: the path (or URI) as written, with a relative file
    /// path made absolute by [`new`](SqliteConfig::new).
    #[must_use]
    pub fn path(&self) -> &Path {
        self.resolve().0
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
    /// created empty, that no other connection can reach: then a rebuild would be a
    /// hollow copy, and is refused. The name and flags are read as SQLite reads them;
    /// the [module docs](super#hollow-copies-are-refused) list every form.
    #[must_use]
    pub fn is_private_to_connection(&self) -> bool {
        matches!(self.resolve().1, Target::Private(_))
    }

    /// The name SQLite is given, and what it reaches.
    fn resolve(&self) -> (&Path, Target) {
        let target = name::target(&self.name, self.flags);
        match (&target, &self.pinned) {
            (Target::File(_), Some(pinned)) => (pinned, name::target(pinned, self.flags)),
            _ => (&self.name, target),
        }
    }

    /// Why a new connection from this config would not reach `live`'s database, if
    /// it would not.
    pub(super) fn refusal(&self, live: &Connection) -> Option<Refusal> {
        match self.resolve().1 {
            Target::Private(what) => Some(Refusal::Private(what)),
            Target::UnknownVfs(vfs) => Some(Refusal::UnknownVfs(vfs)),
            // SQLite says why when the connection is opened.
            Target::Invalid => None,
            // SQLite reports `""` for every in-memory and temporary database.
            Target::SharedMemory => match live.path() {
                Some(live) if !live.is_empty() => Some(Refusal::LiveIsAFile {
                    live: PathBuf::from(live),
                }),
                _ => None,
            },
            Target::File(file) => same_file(&file, live),
        }
    }

    /// Opens a connection and applies the settings, closing it again if one fails.
    pub(super) fn open(&self) -> Result<Connection, SqliteError> {
        let path = self.path();
        let conn = Connection::open_with_flags(path, self.flags)
            .map_err(|e| SqliteError::new(SqliteOp::Open, path, Kind::Driver(e)))?;
        self.configure(&conn)
            .map_err(|kind| SqliteError::new(SqliteOp::Configure, path, kind))?;
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

/// Whether `file`, resolved now, is still the file SQLite opened for `live`: SQLite
/// records the full path it opened, and [`name::full_path`] resolves `file` the same
/// way now.
#[cfg(unix)]
fn same_file(file: &Path, live: &Connection) -> Option<Refusal> {
    match live.path() {
        // Not UTF-8: SQLite's path cannot be read back; the pinned path stands.
        None => None,
        Some("") => Some(Refusal::LiveIsNotAFile),
        Some(live) => {
            let live = PathBuf::from(live);
            // `None`: SQLite would fail to resolve it too, and says why when opening.
            let now = name::full_path(file)?;
            if now != live {
                return Some(Refusal::Elsewhere { live, now });
            }
            match std::fs::metadata(&now) {
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    Some(Refusal::Gone { live })
                }
                _ => None,
            }
        }
    }
}

/// Elsewhere SQLite's full path names follow rules of their own (drive letters, UNC
/// names on Windows), not mirrored here: only the memory check is made.
#[cfg(not(unix))]
fn same_file(_file: &Path, live: &Connection) -> Option<Refusal> {
    match live.path() {
        Some("") => Some(Refusal::LiveIsNotAFile),
        _ => None,
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
