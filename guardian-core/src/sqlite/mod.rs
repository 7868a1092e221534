//! SQLite connections: a factory that gives every new connection the settings of its
//! recipe again, and refuses hollow copies (feature `sqlite`).
//!
//! [`Sqlite`] is a [`Factory`] of [`rusqlite::Connection`]s. Its recipe,
//! [`SqliteConfig`], holds the database's name, the open flags and every
//! per-connection setting a new connection must be given again (busy timeout, foreign
//! keys, journal mode, other pragmas, an init hook), so that a rebuilt connection
//! behaves like the original, not like a default connection.
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
//! let db = SqliteConfig::new(dir.join("tournament.db"))?
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
//! # Which database a recipe names
//!
//! SQLite resolves a relative path against the working directory *of the moment a
//! connection opens*. A recipe that kept `league.db` as written would, after a
//! [`set_current_dir`](std::env::set_current_dir), rebuild onto a new, empty
//! `league.db` in the new directory: a hollow copy that looks like success. So
//! [`SqliteConfig::new`] pins the name when the recipe is made, as
//! [`AbsolutePath`](crate::fs::AbsolutePath) does for files: a relative path, plain
//! (`league.db`) or in a `file:` URI (`file:league.db?mode=ro`), is made absolute
//! against the working directory of that moment (`file:/srv/app/league.db?mode=ro`:
//! the directory percent-encoded where a URI would read it as syntax, the options
//! kept as written). [`SqliteConfig::path`] shows the name pinned.
//!
//! Pinning, rather than recording the directory and refusing a rebuild made
//! elsewhere, keeps the rebuild working, and working the same way for every later
//! connection (a blueprint loaded later, a rebuild from another thread), which is
//! what a recipe is for. It is why `new` returns a `Result`: it reads the working
//! directory, which can fail (a deleted directory). In-memory and temporary names
//! (`:memory:`, `file:NAME?mode=memory&cache=shared`, `file:/NAME?vfs=memdb`) are
//! not paths and are kept as written, since SQLite shares such a database by its
//! exact name. Databases `ATTACH`ed by an [init hook](SqliteConfig::with_init) are
//! the hook's own names and are not pinned.
//!
//! A rebuild then checks that the recipe still names the live connection's database.
//! SQLite records the full path it opened; the rebuild resolves the recipe's path the
//! way SQLite's unix VFS does (symbolic links followed as they are met, `..` removed
//! as text) and refuses when the file is gone (SQLite would create a new, empty one
//! in its place) or the path now leads to another file (a symbolic link changed). It
//! compares paths, not inodes: a file replaced by another under the same name is
//! opened. The check is made on Unix; elsewhere only the pinning holds.
//!
//! # Hollow copies are refused
//!
//! Some databases belong to the one connection that opened them: created empty when
//! it opens, gone when it closes. A new connection opened from the same recipe would
//! be a new, *empty*, different database: a hollow copy, and the program reading from
//! it would find no data rather than an error. So [`Factory::reopen`] (what
//! [`Rebuild::rebuild`](crate::Rebuild::rebuild) calls) refuses such a config with an
//! error ([`SqliteError::is_hollow_copy`]) that points at the two honest
//! alternatives: a database other connections reach by name (such as
//! [`SqliteConfig::shared_memory`]), or a backup ([`Sqlite::backup`]) when a copy of
//! the data is what you want.
//!
//! Which names those are is SQLite's decision, so the recipe reads a name and its
//! open flags the way the bundled SQLite does (the
//! [URI](https://www.sqlite.org/uri.html) and
//! [in-memory database](https://www.sqlite.org/inmemorydb.html) rules, and the
//! `memdb` VFS of [`sqlite3_deserialize`](https://www.sqlite.org/c3ref/deserialize.html)),
//! and the tests check every form below against SQLite itself: a second connection,
//! opened by hand, sees the data or does not.
//!
//! | name (and open flags) | a second connection | a rebuild |
//! |---|---|---|
//! | `:memory:` (even with `SQLITE_OPEN_SHARED_CACHE`), `file::memory:`, `file:%3Amemory%3A` | gets its own, empty database | refused |
//! | `""`, `file:`, `file://`, `file://localhost`, `file:#x`, `file:%00x`: the empty name, a temporary database, even with `cache=shared` or `mode=memory&cache=shared` | gets its own | refused |
//! | `file:NAME?mode=memory`, or `cache=private` after `cache=shared`, or with both cache flags (the private one wins) | gets its own | refused |
//! | a plain name with `SQLITE_OPEN_MEMORY`, even with `SQLITE_OPEN_SHARED_CACHE` (SQLite shares an in-memory cache only under a URI name) | gets its own | refused |
//! | `file:NAME?vfs=memdb`, `file:/?vfs=memdb`, `file::memory:?vfs=memdb`, `file:/NAME?vfs=memdb&mode=memory` | gets its own | refused |
//! | `file:NAME?mode=memory&cache=shared` (in any order), `file:NAME?mode=memory` with `SQLITE_OPEN_SHARED_CACHE`, `file:NAME?cache=shared` with `SQLITE_OPEN_MEMORY`, `file::memory:?cache=shared` (one per process) | reaches it while one connection to it is open | accepted |
//! | `file:/NAME?vfs=memdb` or `file:\NAME?vfs=memdb` (more than one character), `file:NAME?vfs=memdb&cache=shared` | reaches it while one is open | accepted |
//! | a path, `file:PATH`, `file:///PATH`, `file://localhost/PATH`, with a file VFS (`unix`, `unix-none`, `unix-dotfile`, `unix-excl`, ...) | reaches the file | accepted, pinned; refused if the file is gone or the path resolves elsewhere |
//! | `vfs=` naming a VFS that is not SQLite's own | unknown | refused: guardian cannot tell |
//! | an authority other than `localhost`, `mode` or `cache` with another value | SQLite refuses to open it | SQLite's error |
//!
//! SQLite reads a URI this way, and so does the recipe: percent-escapes are decoded
//! everywhere (`mode=%6Demory` is `mode=memory`, `file:%3Amemory%3A` is
//! `file::memory:`), `%00` drops the rest of the name or value it is in, `#` ends the
//! URI; options apply in order, the last one winning (`mode=memory&mode=rwc` is a
//! file; `cache=shared&cache=private` is private); option names and values are
//! case-sensitive (`Mode=memory` is ignored, so `file:NAME?Mode=memory` is a file
//! named `NAME`; `mode=MEMORY` is an error); `SQLITE_OPEN_PRIVATE_CACHE` clears
//! `SQLITE_OPEN_SHARED_CACHE`, and a `cache=` option overrides both. The SQLite that
//! `rusqlite` bundles reads every name starting with `file:` as a URI, with or
//! without `SQLITE_OPEN_URI`.
//!
//! Two things guardian cannot see, and so assumes at the bundled build's defaults:
//! that no program-wide shared cache was turned on (`sqlite3_enable_shared_cache`,
//! deprecated; with it, some names above are shared, and their rebuild is refused
//! needlessly, never allowed wrongly), and that the default VFS is SQLite's own (a
//! program that registers an in-memory VFS as the default must name it with `vfs=`
//! to be refused). Both take `unsafe` calls into `rusqlite::ffi`.
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
//! let db = SqliteConfig::new(":memory:")?;
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
//! # Checking
//!
//! A pool (feature `r2d2`) asks [`Factory::check`] before it hands a connection out
//! again. A connection is a library handle, not a socket: nothing times it out, and
//! what goes wrong is the file under it or the state it was left in. The check
//! fails, with an error of operation [`SqliteOp::Check`], on:
//!
//! - **A file removed or replaced under it** (on Unix). A connection keeps the file
//!   it opened, by descriptor: if the file is deleted, or another file is moved in
//!   under its name (a restore from backup, a `mv new.db league.db`), the connection
//!   goes on reading the old, unlinked one, and sees none of what other connections
//!   write to the file the name now holds; SQLite itself notices only when it next
//!   writes (`SQLITE_READONLY_DBMOVED`, in rollback journal modes). The check asks
//!   SQLite's unix VFS (`SQLITE_FCNTL_HAS_MOVED`, which compares the inode open with
//!   the one at the path), so a pool replaces the connection with one to the file the
//!   name holds now. A rename of the directory above counts as a move too.
//! - **A transaction left open** (`BEGIN` without `COMMIT` or `ROLLBACK`): the next
//!   borrower would commit or roll back someone else's writes, and meanwhile the
//!   transaction holds its locks. A pool closes the connection (closing rolls the
//!   transaction back).
//! - **A file SQLite cannot read any more**: `PRAGMA schema_version` reads the
//!   database header from the file under a shared lock, so an I/O error, or a file
//!   overwritten in place by something that is not a database, fails it with
//!   SQLite's error as the cause. A lock held by another connection does not fail
//!   it: the check waits the busy timeout, then passes (the database is busy, the
//!   connection is not broken).
//!
//! It does not see what SQLite cannot: data changed in place by another program is
//! simply the data, and an in-memory database has no file to lose.
//!
//! The check finds the connections to close; it cannot make a replaced file safe to
//! open. In WAL mode ([`JournalMode::Wal`]) the log (`NAME-wal`, `NAME-shm`) belongs
//! to the database the open connections hold, and stays under the name while they
//! are open: a new connection to a file moved in under the name reads that log over
//! it, and sees the old data, or a corrupt mix. Replace a WAL database only when no
//! connection to it is open (close the pool first). It costs a
//! `stat` of the path and the read of one page, usually from the OS's cache.
//!
//! This module is compiled with the `sqlite` feature. SQLite itself is bundled
//! (compiled from source by `rusqlite`), so nothing needs installing.
//!
//! [`Connection::close`]: rusqlite::Connection::close
//! [`Sqlite::backup`]: crate::sqlite::Sqlite::backup
//! [`SqliteConfig::new`]: crate::sqlite::SqliteConfig::new
//! [`SqliteConfig::path`]: crate::sqlite::SqliteConfig::path
//! [`SqliteConfig::shared_memory`]: crate::sqlite::SqliteConfig::shared_memory
//! [`SqliteConfig`]: crate::sqlite::SqliteConfig
//! [`SqliteError::is_hollow_copy`]: crate::sqlite::SqliteError::is_hollow_copy
//! [`Sqlite`]: crate::sqlite::Sqlite

mod config;
mod error;
mod name;

pub use config::{JournalMode, PragmaValue, SqliteConfig};
pub use error::{SqliteError, SqliteOp};

use crate::Factory;
use error::{Kind, Unusable};
use rusqlite::Connection;
#[cfg(unix)]
use rusqlite::FileControl;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The `rusqlite` version this module is built against, so that your
/// [`Connection`] is the one [`Sqlite`] opens.
pub use rusqlite;

/// Opens [`rusqlite::Connection`]s from an [`SqliteConfig`], applying its settings,
/// and refuses to rebuild a connection whose database a new connection would not
/// reach (see the [module docs](self)).
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
    /// If a lock keeps the copy from proceeding, the backup gives up, with
    /// `SQLITE_BUSY` (or `SQLITE_LOCKED`) as the cause, once the destination's busy
    /// timeout has passed since the call began: the timeout in force on the new
    /// connection after `to`'s settings (5 seconds unless set, as `rusqlite` opens
    /// connections). The destination's busy handler does the first wait, inside
    /// SQLite; the backup then retries every 10 ms until that time is up, so the
    /// whole wait is about the timeout, not twice it. A wait for a lock on the
    /// *source* happens inside SQLite too, governed by `live`'s own busy timeout.
    ///
    /// ```
    /// use guardian_core::sqlite::{Sqlite, SqliteConfig, rusqlite::Connection};
    ///
    /// let count = |c: &Connection| -> Result<i64, _> {
    ///     c.query_row("SELECT count(*) FROM player", [], |row| row.get(0))
    /// };
    /// let original = Sqlite.open_with(&SqliteConfig::new(":memory:")?)?;
    /// original.execute_batch("CREATE TABLE player(name TEXT); INSERT INTO player VALUES ('Ada');")?;
    ///
    /// let copy = Sqlite.backup(&original, &SqliteConfig::new(":memory:")?)?;
    /// copy.execute("INSERT INTO player VALUES ('Grace')", [])?;
    ///
    /// assert_eq!(count(&original)?, 1); // the copy's write is not in the original
    /// assert_eq!(count(&copy)?, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn backup(self, live: &Connection, to: &SqliteConfig) -> Result<Connection, SqliteError> {
        use rusqlite::backup::{Backup, StepResult};
        use rusqlite::ffi;

        const PAUSE: Duration = Duration::from_millis(10);
        let started = Instant::now();
        let path = to.path();
        let failed = |source| SqliteError::new(SqliteOp::Backup, path, Kind::Driver(source));
        let mut copy = to.open()?;
        // What the settings left in force: `with_busy_timeout`, a `busy_timeout`
        // pragma, or rusqlite's 5 seconds (0 if the init hook installed a handler of
        // its own, which then does all the waiting).
        let patience: i64 = copy
            .query_row("PRAGMA busy_timeout", [], |row| row.get(0))
            .map_err(failed)?;
        let patience = Duration::from_millis(u64::try_from(patience).unwrap_or(0));
        {
            let backup = Backup::new(live, &mut copy).map_err(failed)?;
            loop {
                // -1: every remaining page in one step.
                let code = match backup.step(-1).map_err(failed)? {
                    StepResult::Done => break,
                    StepResult::More => continue,
                    StepResult::Busy => ffi::SQLITE_BUSY,
                    StepResult::Locked => ffi::SQLITE_LOCKED,
                    // `StepResult` is non-exhaustive; whatever else it may say, the
                    // copy is not complete: give up as if busy.
                    _ => {
                        let busy = ffi::Error::new(ffi::SQLITE_BUSY);
                        return Err(failed(rusqlite::Error::SqliteFailure(busy, None)));
                    }
                };
                let waited = started.elapsed();
                if waited >= patience {
                    let code = ffi::Error::new(code);
                    return Err(failed(rusqlite::Error::SqliteFailure(code, None)));
                }
                std::thread::sleep(PAUSE.min(patience.saturating_sub(waited)));
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
    /// (see the [module docs](self#hollow-copies-are-refused)) when the new connection
    /// would not reach `live`'s database: a database private to each connection
    /// ([`SqliteConfig::is_private_to_connection`]), a VFS that is not SQLite's own,
    /// a file that is gone or that the recipe no longer names.
    ///
    /// Nothing of `live`'s session state carries over: its open transaction and
    /// uncommitted writes, its `TEMP` tables, its prepared statements, and settings
    /// changed on it by hand rather than in the config.
    fn reopen(&self, config: &SqliteConfig, live: &Connection) -> Result<Connection, SqliteError> {
        if let Some(why) = config.refusal(live) {
            return Err(SqliteError::new(
                SqliteOp::Reopen,
                config.path(),
                Kind::Refused(why),
            ));
        }
        config.open()
    }

    /// Checks that the connection still reaches its database and can be handed out
    /// again (see the [module docs](self#checking)); a pool calls this.
    fn check(&self, conn: &mut Connection) -> Result<(), SqliteError> {
        let path = PathBuf::from(conn.path().unwrap_or_default());
        let unusable = |why| SqliteError::new(SqliteOp::Check, &path, Kind::Unusable(why));
        #[cfg(unix)]
        {
            let mut moved: std::ffi::c_int = 0;
            // An error means the database has no file of its own to ask about (in
            // memory, temporary and not yet spilled, a VFS without this control):
            // there is nothing to tell, and the query below still runs.
            let asked =
                conn.file_control(Some(rusqlite::MAIN_DB), FileControl::HasMoved(&mut moved));
            if asked.is_ok() && moved != 0 {
                return Err(unusable(Unusable::Moved));
            }
        }
        if !conn.is_autocommit() {
            return Err(unusable(Unusable::InTransaction));
        }
        match conn.query_row("PRAGMA schema_version", [], |_| Ok(())) {
            Ok(()) => Ok(()),
            // Another connection holds a lock: this one reached the file, and waited
            // its busy timeout. The database is busy, not the connection broken.
            Err(error)
                if matches!(
                    error.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
                ) =>
            {
                Ok(())
            }
            Err(error) => Err(SqliteError::new(
                SqliteOp::Check,
                &path,
                Kind::Driver(error),
            )),
        }
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
