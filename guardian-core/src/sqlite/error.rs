//! The one error type of the SQLite factories and the operation it names.

use super::JournalMode;
use super::name::Private;
use std::error::Error;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// What an SQLite factory was doing when it failed; see [`SqliteError::op`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SqliteOp {
    /// Making a relative database path absolute ([`SqliteConfig::new`]).
    ///
    /// [`SqliteConfig::new`]: super::SqliteConfig::new
    Resolve,
    /// Opening the database file.
    Open,
    /// Applying a setting of the config to a new connection.
    Configure,
    /// Reopening for a rebuild: refused when the new connection would not reach the
    /// live connection's database (see [`SqliteError::is_hollow_copy`]).
    Reopen,
    /// Closing a connection.
    Close,
    /// Backing a database up into another.
    Backup,
    /// Checking that a connection still works ([`Factory::check`], which a pool calls
    /// before handing a connection out again).
    ///
    /// [`Factory::check`]: crate::Factory::check
    Check,
}

/// An SQLite connection failed to resolve its path, open, take its settings, be
/// rebuilt, close, back up or pass its check. It names the database and the operation; the driver's
/// error (or, for [`SqliteOp::Resolve`], the OS's), if any, is its
/// [`source`](Error::source) (the crate's [rule for errors](crate#errors)).
///
/// Some failures have no cause below, and say why in `Display` instead, with no
/// `source`: the refusals to rebuild
/// ([`is_hollow_copy`](SqliteError::is_hollow_copy)), a journal mode SQLite did
/// not keep ("SQLite kept `memory`"), and a check that found the connection's file
/// removed or replaced, or a transaction left open.
#[derive(Debug)]
pub struct SqliteError {
    op: SqliteOp,
    path: PathBuf,
    kind: Kind,
}

#[derive(Debug)]
pub(super) enum Kind {
    Driver(rusqlite::Error),
    Setting {
        name: String,
        source: rusqlite::Error,
    },
    JournalMode {
        wanted: JournalMode,
        kept: String,
    },
    WorkingDir(io::Error),
    #[cfg(not(unix))]
    RelativeUri,
    Refused(Refusal),
    Unusable(Unusable),
}

/// Why a connection failed its check though SQLite reported no error.
#[derive(Debug)]
pub(super) enum Unusable {
    /// The file the connection opened was removed, or replaced by another file under
    /// its name.
    Moved,
    /// A transaction was begun and never ended.
    InTransaction,
}

/// Why a rebuild was refused: the new connection would not, or might not, reach the
/// live connection's database.
#[derive(Debug)]
pub(super) enum Refusal {
    /// Every connection gets a database of its own.
    Private(Private),
    /// A VFS that is not SQLite's own.
    UnknownVfs(String),
    /// The file the live connection opened is no longer there.
    Gone { live: PathBuf },
    /// The recipe now names another file than the live connection's.
    Elsewhere { live: PathBuf, now: PathBuf },
    /// The recipe names an in-memory database; the live connection's is a file.
    LiveIsAFile { live: PathBuf },
    /// The recipe names a file; the live connection's database is in memory or
    /// temporary.
    LiveIsNotAFile,
}

impl SqliteError {
    #[cold]
    pub(super) fn new(op: SqliteOp, path: &Path, kind: Kind) -> Self {
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

    /// The database's name as the config opens it (a relative path made absolute;
    /// for [`SqliteOp::Resolve`], as given; for [`SqliteOp::Close`] and
    /// [`SqliteOp::Check`], as SQLite reports it: empty for an in-memory or temporary
    /// database; for
    /// [`SqliteOp::Backup`], the destination).
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
            _ => None,
        }
    }

    /// Whether this is a refusal to rebuild because the new connection would not, or
    /// might not, reach the live connection's database: a database private to one
    /// connection, a VFS that is not SQLite's own, a file that is gone or that the
    /// recipe no longer names (see the [module docs](super#hollow-copies-are-refused)).
    #[must_use]
    pub fn is_hollow_copy(&self) -> bool {
        matches!(self.kind, Kind::Refused(_))
    }

    /// The driver's error, if SQLite reported one.
    #[must_use]
    pub fn driver_error(&self) -> Option<&rusqlite::Error> {
        match &self.kind {
            Kind::Driver(source) | Kind::Setting { source, .. } => Some(source),
            _ => None,
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

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Private(what) => write!(
                f,
                "it is {}, so a new connection would open a new, empty database (a hollow \
                 copy); for another handle to the same data name a shared in-memory database \
                 (`file:NAME?mode=memory&cache=shared`, `SqliteConfig::shared_memory`), for a \
                 second copy of the data use `Sqlite::backup`",
                what.describe()
            ),
            Refusal::UnknownVfs(vfs) => write!(
                f,
                "it uses the VFS `{vfs}`, which is not one of SQLite's own, so guardian cannot \
                 tell whether a new connection would reach the same data"
            ),
            Refusal::Gone { live } => write!(
                f,
                "the live connection's file {} no longer exists, so a new connection would \
                 create a new, empty database",
                Shown(live)
            ),
            Refusal::Elsewhere { live, now } => write!(
                f,
                "it now names {}, not the live connection's file {}",
                Shown(now),
                Shown(live)
            ),
            Refusal::LiveIsAFile { live } => write!(
                f,
                "the live connection's database is the file {}, not this in-memory database",
                Shown(live)
            ),
            Refusal::LiveIsNotAFile => f.write_str(
                "the live connection's database is in memory or temporary, not this file",
            ),
        }
    }
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unusable::Moved => {
                "its file was removed or replaced since the connection opened it, so the \
                 connection no longer reaches the database the name holds"
            }
            Unusable::InTransaction => {
                "a transaction was begun on it and never committed or rolled back"
            }
        })
    }
}

impl fmt::Display for SqliteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = Shown(&self.path);
        match (&self.kind, self.op) {
            (Kind::Refused(why), _) => write!(f, "cannot reopen SQLite database {path}: {why}"),
            (Kind::Unusable(why), _) => {
                write!(f, "SQLite database {path} failed its check: {why}")
            }
            (Kind::Setting { name, .. }, _) => {
                write!(f, "cannot apply `{name}` to SQLite database {path}")
            }
            (Kind::JournalMode { wanted, kept }, _) => write!(
                f,
                "cannot apply `journal_mode = {}` to SQLite database {path}: SQLite kept `{kept}`",
                wanted.as_str()
            ),
            (Kind::WorkingDir(_), _) => {
                write!(f, "cannot make the path of SQLite database {path} absolute")
            }
            #[cfg(not(unix))]
            (Kind::RelativeUri, _) => write!(
                f,
                "cannot make the path of SQLite database {path} absolute: relative `file:` \
                 URIs are made absolute on Unix only; write the URI with an absolute path"
            ),
            // Settings and refusals have kinds of their own: a driver error during one
            // of them is one of opening.
            (
                Kind::Driver(_),
                SqliteOp::Resolve | SqliteOp::Open | SqliteOp::Configure | SqliteOp::Reopen,
            ) => {
                write!(f, "cannot open SQLite database {path}")
            }
            (Kind::Driver(_), SqliteOp::Close) => {
                write!(f, "cannot close SQLite database {path}")
            }
            (Kind::Driver(_), SqliteOp::Backup) => {
                write!(f, "cannot back up into SQLite database {path}")
            }
            (Kind::Driver(_), SqliteOp::Check) => {
                write!(f, "SQLite database {path} failed its check")
            }
        }
    }
}

impl Error for SqliteError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.kind {
            Kind::Driver(source) | Kind::Setting { source, .. } => Some(source),
            Kind::WorkingDir(source) => Some(source),
            _ => None,
        }
    }
}
