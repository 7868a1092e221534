//! The SQLite factory on real database files: rebuilt connections are independent
//! sessions on the same data with the same settings; every form of database name is
//! read as SQLite reads it (each form's privacy checked against SQLite itself), so
//! hollow copies are refused and shared databases rebuilt; a relative path keeps its
//! meaning after a change of working directory; backups are second copies and give
//! up after the busy timeout; close errors are reported; nothing leaks.
#![cfg(feature = "sqlite")]

use guardian_core::sqlite::rusqlite::{self, Connection, ErrorCode, OpenFlags};
use guardian_core::sqlite::{JournalMode, Sqlite, SqliteConfig, SqliteError, SqliteOp};
use guardian_core::{Factory, Rebuild};
use guardian_suite::{
    TempDir, TestResult, alone, factory_error, open_fd_count, rebuild_error, shared,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Rebuild)]
struct Tournament {
    #[config]
    db: SqliteConfig,
    #[resource(factory = Sqlite, from = db)]
    conn: Connection,
}

impl Tournament {
    fn open(db: SqliteConfig) -> Result<Self, SqliteError> {
        Ok(Tournament {
            conn: Sqlite.open_with(&db)?,
            db,
        })
    }
}

fn count(conn: &Connection, table: &str) -> rusqlite::Result<i64> {
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
        row.get(0)
    })
}

fn pragma_i64(conn: &Connection, name: &str) -> rusqlite::Result<i64> {
    conn.query_row(&format!("PRAGMA {name}"), [], |row| row.get(0))
}

#[test]
fn a_rebuilt_connection_is_an_independent_session_on_the_same_data() -> TestResult {
    let _shared = shared();
    let dir = TempDir::new("sqlite-sessions")?;
    let main = Tournament::open(SqliteConfig::new(dir.path().join("t.db"))?)?;
    main.conn.execute_batch(
        "CREATE TABLE game(id INTEGER PRIMARY KEY, white TEXT, black TEXT);
         INSERT INTO game(white, black) VALUES ('Ada', 'Grace');",
    )?;

    let copy = main.rebuild()?;
    assert_eq!(count(&copy.conn, "game")?, 1, "committed rows are shared");

    // An uncommitted write in the original is invisible to the copy ...
    main.conn
        .execute_batch("BEGIN; INSERT INTO game(white, black) VALUES ('Alan', 'Ada');")?;
    assert_eq!(count(&main.conn, "game")?, 2);
    assert_eq!(
        count(&copy.conn, "game")?,
        1,
        "the copy must not see an open transaction"
    );
    assert!(!main.conn.is_autocommit());
    assert!(
        copy.conn.is_autocommit(),
        "the copy must not share the transaction"
    );
    // ... until it commits.
    main.conn.execute_batch("COMMIT")?;
    assert_eq!(count(&copy.conn, "game")?, 2);

    // And the other way round.
    copy.conn.execute_batch(
        "BEGIN IMMEDIATE; INSERT INTO game(white, black) VALUES ('Grace', 'Alan');",
    )?;
    assert_eq!(count(&main.conn, "game")?, 2);
    copy.conn.execute_batch("COMMIT")?;
    assert_eq!(count(&main.conn, "game")?, 3);

    // TEMP tables belong to one session.
    main.conn.execute_batch("CREATE TEMP TABLE draft(x)")?;
    assert!(
        count(&copy.conn, "draft").is_err(),
        "a TEMP table must not be shared"
    );

    copy.close()?;
    main.close()?;
    Ok(())
}

fn attach_scratch(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("ATTACH DATABASE ':memory:' AS scratch; CREATE TABLE scratch.note(x);")
}

#[test]
fn settings_are_reapplied_to_the_rebuilt_connection() -> TestResult {
    let _shared = shared();
    let dir = TempDir::new("sqlite-settings")?;
    let path = dir.path().join("t.db");
    // Every setting differs from what a default connection gets. Foreign keys are
    // turned *off*: the SQLite that rusqlite bundles turns them on by default.
    let db = SqliteConfig::new(&path)?
        .with_busy_timeout(Duration::from_millis(1234))
        .with_foreign_keys(false)
        .with_journal_mode(JournalMode::Truncate)
        .with_pragma("cache_size", -1234)
        .with_pragma("recursive_triggers", true)
        .with_init(attach_scratch);
    let main = Tournament::open(db)?;
    main.conn.execute_batch(
        "CREATE TABLE player(id INTEGER PRIMARY KEY);
         CREATE TABLE game(white INTEGER REFERENCES player(id));",
    )?;

    // The control: a default connection to the same file has none of the settings,
    // so the checks below cannot pass by accident.
    let plain = Connection::open(&path)?;
    assert_eq!(pragma_i64(&plain, "foreign_keys")?, 1);
    assert_eq!(pragma_i64(&plain, "busy_timeout")?, 5000);
    assert_ne!(pragma_i64(&plain, "cache_size")?, -1234);
    assert_eq!(pragma_i64(&plain, "recursive_triggers")?, 0);
    let mode: String = plain.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
    assert_eq!(mode, "delete");
    assert!(count(&plain, "scratch.note").is_err());
    let err = plain
        .execute("INSERT INTO game(white) VALUES (42)", [])
        .expect_err("a default connection enforces foreign keys");
    assert_eq!(
        err.sqlite_error_code(),
        Some(ErrorCode::ConstraintViolation)
    );
    drop(plain);

    let copy = main.rebuild()?;
    let c = &copy.conn;
    assert_eq!(pragma_i64(c, "foreign_keys")?, 0);
    assert_eq!(pragma_i64(c, "busy_timeout")?, 1234);
    assert_eq!(pragma_i64(c, "cache_size")?, -1234);
    assert_eq!(pragma_i64(c, "recursive_triggers")?, 1);
    let mode: String = c.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
    assert_eq!(mode, "truncate");
    assert_eq!(count(c, "scratch.note")?, 0, "the init hook ran");
    // The setting is in force, not only readable: no such player, and no error.
    c.execute("INSERT INTO game(white) VALUES (7)", [])?;

    copy.close()?;
    main.close()?;
    Ok(())
}

/// A name no other test of this process uses: SQLite shares in-memory databases by
/// name across the whole process.
fn unique(stem: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("guardian-{stem}-{}-{n}", std::process::id())
}

const URI: OpenFlags = OpenFlags::SQLITE_OPEN_URI;
const MEMORY: OpenFlags = OpenFlags::SQLITE_OPEN_MEMORY;
const SHARED: OpenFlags = OpenFlags::SQLITE_OPEN_SHARED_CACHE;
const PRIVATE: OpenFlags = OpenFlags::SQLITE_OPEN_PRIVATE_CACHE;

fn default() -> OpenFlags {
    OpenFlags::default()
}

/// Whether a second connection, opened by hand with rusqlite (no guardian involved),
/// sees a table the first one created: SQLite's own answer to "is this database
/// shared?".
fn sqlite_shares(name: &str, flags: OpenFlags) -> TestResult<bool> {
    let table = unique("probe").replace('-', "_");
    let first = Connection::open_with_flags(name, flags)?;
    first.execute_batch(&format!(
        "CREATE TABLE {table}(x); INSERT INTO {table} VALUES (1);"
    ))?;
    let second = Connection::open_with_flags(name, flags)?;
    let shared = count(&second, &table).is_ok();
    drop(second);
    first.execute_batch(&format!("DROP TABLE {table}"))?;
    Ok(shared)
}

/// A database every connection gets its own of: SQLite says so (a second connection
/// opened by hand does not see the first one's table), the first connection opens,
/// and a rebuild is refused as a hollow copy, with no cause below it.
fn refused_as_private(name: &str, flags: OpenFlags) -> TestResult {
    assert!(
        !sqlite_shares(name, flags)?,
        "SQLite shares `{name}` ({flags:?}): the form is not private"
    );
    let db = SqliteConfig::new(name)?.with_open_flags(flags);
    assert!(db.is_private_to_connection(), "{name}");
    let table = unique("t").replace('-', "_");
    let scratch = Tournament::open(db)?;
    scratch.conn.execute_batch(&format!(
        "CREATE TABLE {table}(x); INSERT INTO {table} VALUES (1);"
    ))?;

    let err = rebuild_error(&scratch);
    assert_eq!(err.field(), "conn", "{name}");
    assert!(err.cleanup().is_none());
    let cause = factory_error::<SqliteError>(&err);
    assert!(cause.is_hollow_copy(), "{name}: {cause}");
    assert_eq!(cause.op(), SqliteOp::Reopen);
    assert!(
        std::error::Error::source(cause).is_none(),
        "a refusal of guardian's own has no cause: {cause:?}"
    );
    // The first connection still has its data: the refusal touched nothing.
    assert_eq!(count(&scratch.conn, &table)?, 1);
    scratch.close()?;
    Ok(())
}

macro_rules! private_forms {
    ($($test:ident: $name:expr, $flags:expr;)*) => {$(
        #[test]
        fn $test() -> TestResult {
            let _shared = shared();
            let n = unique(stringify!($test));
            let name: String = ($name)(n.as_str());
            refused_as_private(&name, $flags)
        }
    )*};
}

// Each form SQLite gives every connection a database of its own for (see the module
// docs of `guardian_core::sqlite`). `n` is a name unique to the test.
private_forms! {
    private_memory: |_: &str| ":memory:".to_owned(), default();
    private_memory_with_shared_cache_flag: |_: &str| ":memory:".to_owned(), default() | SHARED;
    private_temporary: |_: &str| String::new(), default();
    private_uri_memory: |_: &str| "file::memory:".to_owned(), default();
    private_uri_memory_escaped: |_: &str| "file:%3Amemory%3A".to_owned(), default();
    private_uri_empty: |_: &str| "file:".to_owned(), default();
    private_uri_empty_authority: |_: &str| "file://".to_owned(), default();
    private_uri_localhost_without_path: |_: &str| "file://localhost".to_owned(), default();
    private_uri_fragment_only: |n: &str| format!("file:#{n}"), default();
    private_uri_nul_escape: |n: &str| format!("file:%00{n}"), default();
    private_uri_empty_with_shared_cache: |_: &str| "file:?cache=shared".to_owned(), default();
    private_uri_empty_in_memory_shared: |_: &str| "file:?mode=memory&cache=shared".to_owned(), default();
    private_mode_memory: |n: &str| format!("file:{n}?mode=memory"), default();
    private_mode_memory_escaped: |n: &str| format!("file:{n}?mode=%6Demory"), default();
    private_mode_memory_nul_in_name: |n: &str| format!("file:{n}%00.db?mode=memory"), default();
    private_cache_private_last: |n: &str| format!("file:{n}?cache=shared&mode=memory&cache=private"), default();
    private_cache_private_over_flag: |n: &str| format!("file:{n}?mode=memory&cache=private"), default() | SHARED;
    private_both_cache_flags: |n: &str| format!("file:{n}?mode=memory"), default() | SHARED | PRIVATE;
    private_uppercase_cache_key: |n: &str| format!("file:{n}?mode=memory&CACHE=shared"), default();
    private_mode_memory_without_uri_flag: |n: &str| format!("file:{n}?mode=memory"), default() - URI;
    private_plain_name_memory_flag: |n: &str| n.to_owned(), default() | MEMORY;
    private_plain_name_memory_and_shared_flags: |n: &str| n.to_owned(), default() | MEMORY | SHARED;
    private_uri_memory_flag: |n: &str| format!("file:{n}"), default() | MEMORY;
    private_memdb_relative_name: |n: &str| format!("file:{n}?vfs=memdb"), default();
    private_memdb_without_uri_flag: |n: &str| format!("file:{n}?vfs=memdb"), default() - URI;
    private_memdb_last_vfs: |n: &str| format!("file:{n}?vfs=unix&vfs=memdb"), default();
    private_memdb_root: |_: &str| "file:/?vfs=memdb".to_owned(), default();
    private_memdb_empty: |_: &str| "file:?vfs=memdb".to_owned(), default();
    private_memdb_memory_name: |_: &str| "file::memory:?vfs=memdb".to_owned(), default();
    private_memdb_mode_memory: |n: &str| format!("file:/{n}?vfs=memdb&mode=memory"), default();
}

/// A database other connections of the process reach by name: SQLite says so, the
/// rebuilt connection sees the data and writes both ways, and so does a connection
/// opened by hand under the same name (so guardian opened exactly that name), and no
/// file named after `stem` appears in the working directory.
fn rebuilt_onto_the_same_data(
    db: SqliteConfig,
    name: &str,
    flags: OpenFlags,
    stem: &str,
) -> TestResult {
    // `file::memory:?cache=shared` (written either way) is one database per process,
    // whatever the test: two tests on it at once lock each other's schema
    // (SQLITE_LOCKED, "database table is locked: sqlite_master"), so they take turns.
    static ONE_PER_PROCESS: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn =
        (name.starts_with("file::memory:") || name.starts_with("file:%3Amemory%3A")).then(|| {
            ONE_PER_PROCESS
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        });
    assert!(
        sqlite_shares(name, flags)?,
        "SQLite does not share `{name}` ({flags:?}): the form is private"
    );
    assert!(!db.is_private_to_connection(), "{name}");
    let table = unique("t").replace('-', "_");
    let main = Tournament::open(db)?;
    main.conn.execute_batch(&format!(
        "CREATE TABLE {table}(x); INSERT INTO {table} VALUES (1);"
    ))?;

    let copy = main.rebuild()?;
    assert_eq!(count(&copy.conn, &table)?, 1, "{name}: the same data");
    copy.conn
        .execute(&format!("INSERT INTO {table} VALUES (2)"), [])?;
    assert_eq!(count(&main.conn, &table)?, 2, "{name}");
    let by_hand = Connection::open_with_flags(name, flags)?;
    assert_eq!(
        count(&by_hand, &table)?,
        2,
        "{name}: the name SQLite was given"
    );
    drop(by_hand);

    copy.close()?;
    main.close()?;
    for entry in std::fs::read_dir(".")? {
        let file = entry?.file_name();
        let file = file.to_string_lossy();
        assert!(!file.contains(stem), "{name}: a file {file} was created");
    }
    Ok(())
}

macro_rules! shared_forms {
    ($($test:ident: $name:expr, $flags:expr;)*) => {$(
        #[test]
        fn $test() -> TestResult {
            let _shared = shared();
            let n = unique("shared");
            let name: String = ($name)(n.as_str());
            let db = SqliteConfig::new(name.as_str())?.with_open_flags($flags);
            rebuilt_onto_the_same_data(db, &name, $flags, &n)
        }
    )*};
}

shared_forms! {
    shared_uri_memory: |_: &str| "file::memory:?cache=shared".to_owned(), default();
    shared_uri_memory_escaped: |_: &str| "file:%3Amemory%3A?cache=shared".to_owned(), default();
    shared_mode_memory_cache_shared: |n: &str| format!("file:{n}?mode=memory&cache=shared"), default();
    shared_cache_shared_mode_memory: |n: &str| format!("file:{n}?cache=shared&mode=memory"), default();
    shared_mode_memory_shared_flag: |n: &str| format!("file:{n}?mode=memory"), default() | SHARED;
    shared_cache_shared_over_private_flag: |n: &str| format!("file:{n}?mode=memory&cache=shared"), default() | PRIVATE;
    shared_escaped_options: |n: &str| format!("file:{n}?mo%64e=%6Demory&cache=shar%65d"), default();
    shared_empty_and_bare_options: |n: &str| format!("file:{n}?=x&mode=memory&&cache=shared#frag"), default();
    shared_without_uri_flag: |n: &str| format!("file:{n}?mode=memory&cache=shared"), default() - URI;
    // The name looks like a relative file until the flags say memory: it must reach
    // SQLite as written, not pinned to the working directory.
    shared_uri_memory_flag: |n: &str| format!("file:{n}?cache=shared"), default() | MEMORY;
    shared_memdb_slash: |n: &str| format!("file:/{n}?vfs=memdb"), default();
    shared_memdb_backslash: |n: &str| format!("file:%5C{n}?vfs=memdb"), default();
    shared_memdb_cache_shared: |n: &str| format!("file:{n}?vfs=memdb&cache=shared"), default();
    shared_memdb_last_vfs: |n: &str| format!("file:/{n}?vfs=unix&vfs=memdb"), default();
    shared_memdb_mode_memory_cache_shared: |n: &str| format!("file:/{n}?vfs=memdb&mode=memory&cache=shared"), default();
}

#[test]
fn shared_memory_names_reach_sqlite_as_written() -> TestResult {
    let _shared = shared();
    // Characters a URI would read as syntax are percent-encoded, so SQLite reads back
    // exactly the name: an in-memory database (no file appears), shared, and not the
    // one of a name that differs only after such a character.
    let stem = unique("shared");
    let tricky = format!("{stem}?cache=private&x=#%41/");
    for name in [stem.as_str(), tricky.as_str()] {
        let db = SqliteConfig::shared_memory(name);
        let by_hand = db.path().to_str().expect("a URI").to_owned();
        rebuilt_onto_the_same_data(db, &by_hand, default(), &stem)?;
    }
    let plain = Sqlite.open_with(&SqliteConfig::shared_memory(&stem))?;
    let other = Sqlite.open_with(&SqliteConfig::shared_memory(&tricky))?;
    plain.execute_batch("CREATE TABLE mine(x)")?;
    assert!(count(&other, "mine").is_err(), "two names, two databases");
    Sqlite.close(other)?;
    Sqlite.close(plain)?;

    let empty = SqliteConfig::shared_memory("");
    assert!(
        empty.is_private_to_connection(),
        "the empty name is temporary"
    );
    Ok(())
}

/// A name that looks in-memory but is a file, as SQLite reads it: the rebuild is
/// accepted, reaches the data, and the file is on disk where SQLite put it.
fn rebuilt_onto_the_same_file(name: &str, flags: OpenFlags, file: &Path) -> TestResult {
    assert!(
        sqlite_shares(name, flags)?,
        "SQLite does not share `{name}`"
    );
    let db = SqliteConfig::new(name)?.with_open_flags(flags);
    assert!(!db.is_private_to_connection(), "{name}");
    let main = Tournament::open(db)?;
    main.conn
        .execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")?;
    let copy = main.rebuild()?;
    assert_eq!(count(&copy.conn, "t")?, 1, "{name}");
    copy.close()?;
    main.close()?;
    let on_disk = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    assert_eq!(
        count(&on_disk, "t")?,
        1,
        "{name}: the file {}",
        file.display()
    );
    Ok(())
}

#[test]
fn names_that_look_in_memory_but_open_a_file_are_rebuilt() -> TestResult {
    let _shared = shared();
    let dir = TempDir::new("sqlite-file-forms")?;
    let d = dir.path().display().to_string();
    let forms: [(String, OpenFlags, &str); 9] = [
        (
            format!("file:{d}/a.db?mode=memory&mode=rwc"),
            default(),
            "a.db",
        ),
        (format!("file:{d}/b.db?Mode=memory"), default(), "b.db"),
        (
            format!("file:{d}/c.db?vfs=memdb&vfs=unix"),
            default(),
            "c.db",
        ),
        (format!("file://localhost{d}/d.db"), default(), "d.db"),
        (format!("file://{d}/e.db"), default(), "e.db"),
        (format!("file:{d}/f.db?vfs=unix-none"), default(), "f.db"),
        (
            format!("file:{d}/g.db?cache=private"),
            default() | SHARED,
            "g.db",
        ),
        // "./:memory:" in SQLite's words: the special name only applies alone.
        (format!("{d}/:memory:"), default(), ":memory:"),
        (
            format!("file:{d}/h%3Fmode=memory.db"),
            default(),
            "h?mode=memory.db",
        ),
    ];
    for (name, flags, file) in forms {
        rebuilt_onto_the_same_file(&name, flags, &dir.path().join(file))?;
    }
    Ok(())
}

/// Puts the working directory back when dropped, also when an assertion fails.
struct RestoreCwd(PathBuf);

impl Drop for RestoreCwd {
    fn drop(&mut self) {
        let _ = std::env::set_current_dir(&self.0);
    }
}

fn files_in(dir: &Path) -> TestResult<Vec<String>> {
    let mut names = std::fs::read_dir(dir)?
        .map(|entry| Ok(entry?.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<Vec<_>>>()?;
    names.sort();
    Ok(names)
}

#[test]
fn a_relative_path_keeps_its_meaning_after_a_change_of_working_directory() -> TestResult {
    let _alone = alone();
    let _restore = RestoreCwd(std::env::current_dir()?);
    // Characters a `file:` URI reads as syntax, in the directory the URI is pinned to.
    let first = TempDir::new("sqlite-cwd-?#%25&=")?;
    let second = TempDir::new("sqlite-cwd-second")?;

    std::env::set_current_dir(first.path())?;
    let forms = [
        SqliteConfig::new("league.db")?,
        SqliteConfig::new("./sub/../cup.db")?,
        SqliteConfig::new("file:open.db?mode=rwc&cache=private")?,
    ];
    std::fs::create_dir(first.path().join("sub"))?;
    let mut live = Vec::new();
    for db in forms {
        let main = Tournament::open(db)?;
        main.conn
            .execute_batch("CREATE TABLE game(id); INSERT INTO game VALUES (1);")?;
        live.push(main);
    }
    let before = files_in(first.path())?;
    assert_eq!(before, ["cup.db", "league.db", "open.db", "sub"]);

    std::env::set_current_dir(second.path())?;
    for main in &live {
        let copy = main.rebuild()?;
        assert_eq!(
            count(&copy.conn, "game")?,
            1,
            "{}: the rebuild reaches the original's rows",
            main.db.path().display()
        );
        copy.close()?;
        // A later first connection (a blueprint loaded now) too.
        let again = Sqlite.open_with(&main.db)?;
        assert_eq!(count(&again, "game")?, 1);
        Sqlite.close(again)?;
    }
    assert!(
        files_in(second.path())?.is_empty(),
        "nothing may be created in the new working directory"
    );
    assert_eq!(files_in(first.path())?, before);
    for main in live {
        main.close()?;
    }

    // A relative path needs the working directory: when it cannot be read, `new`
    // says so (the OS's error is the cause); names that are not relative paths need
    // no directory.
    let gone = TempDir::new("sqlite-cwd-gone")?;
    std::env::set_current_dir(gone.path())?;
    std::fs::remove_dir(gone.path())?;
    let err = SqliteConfig::new("league.db").expect_err("no working directory");
    assert_eq!(err.op(), SqliteOp::Resolve);
    assert_eq!(err.path(), Path::new("league.db"));
    let cause = std::error::Error::source(&err)
        .and_then(|e| e.downcast_ref::<std::io::Error>())
        .expect("the OS's error");
    assert_eq!(cause.kind(), std::io::ErrorKind::NotFound);
    let err = SqliteConfig::new("file:league.db").expect_err("no working directory");
    assert_eq!(err.op(), SqliteOp::Resolve);
    SqliteConfig::new(":memory:")?;
    SqliteConfig::new("file:league?mode=memory&cache=shared")?;
    SqliteConfig::new(second.path().join("league.db"))?;
    Ok(())
}

#[test]
fn a_rebuild_whose_file_is_gone_or_elsewhere_is_refused() -> TestResult {
    let _shared = shared();
    let dir = TempDir::new("sqlite-gone")?;

    // The file is removed under the live connection: a new connection would create
    // a new, empty one in its place.
    let path = dir.path().join("t.db");
    let main = Tournament::open(SqliteConfig::new(&path)?)?;
    main.conn
        .execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")?;
    std::fs::remove_file(&path)?;
    let err = rebuild_error(&main);
    let cause = factory_error::<SqliteError>(&err);
    assert!(cause.is_hollow_copy(), "{cause}");
    assert!(std::error::Error::source(cause).is_none());
    assert!(!path.exists(), "no empty database was created in its place");
    assert_eq!(
        count(&main.conn, "t")?,
        1,
        "the live connection keeps its data"
    );
    main.close()?;

    // The path is a symbolic link that now points at another database.
    let (ours, theirs, link) = (
        dir.path().join("ours.db"),
        dir.path().join("theirs.db"),
        dir.path().join("current.db"),
    );
    Connection::open(&theirs)?.execute_batch("CREATE TABLE other(x)")?;
    std::os::unix::fs::symlink(&ours, &link)?;
    let main = Tournament::open(SqliteConfig::new(&link)?)?;
    main.conn
        .execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")?;
    main.rebuild()?.close()?; // still the same file: fine
    std::fs::remove_file(&link)?;
    std::os::unix::fs::symlink(&theirs, &link)?;
    let err = rebuild_error(&main);
    assert!(factory_error::<SqliteError>(&err).is_hollow_copy());
    main.close()?;
    Ok(())
}

#[test]
fn a_recipe_that_does_not_name_the_live_database_is_refused() -> TestResult {
    let _shared = shared();
    let dir = TempDir::new("sqlite-mismatch")?;
    let file = dir.path().join("t.db");
    let memory = format!("file:{}?mode=memory&cache=shared", unique("mismatch"));
    let cases = [
        // The recipe names a file, the live connection is in memory.
        (SqliteConfig::new(&file)?, Connection::open_in_memory()?),
        // The recipe names a shared in-memory database, the live connection a file.
        (
            SqliteConfig::new(memory.as_str())?,
            Connection::open(&file)?,
        ),
        // A VFS that is not SQLite's own: guardian cannot tell what it shares.
        (
            SqliteConfig::new(format!("file:{}?vfs=guardian-unknown", file.display()))?,
            Connection::open(&file)?,
        ),
    ];
    for (db, conn) in cases {
        let label = db.path().display().to_string();
        let value = Tournament { db, conn };
        let err = rebuild_error(&value);
        let cause = factory_error::<SqliteError>(&err);
        assert!(cause.is_hollow_copy(), "{label}: {cause}");
        assert_eq!(cause.op(), SqliteOp::Reopen, "{label}");
        value.close()?;
    }
    Ok(())
}

#[test]
fn a_backup_is_a_second_copy_of_the_data() -> TestResult {
    let _shared = shared();
    let dir = TempDir::new("sqlite-backup")?;
    let main =
        Tournament::open(SqliteConfig::new(dir.path().join("t.db"))?.with_foreign_keys(true))?;
    main.conn.execute_batch(
        "CREATE TABLE game(id INTEGER PRIMARY KEY, result TEXT);
         INSERT INTO game(result) VALUES ('1-0'), ('1/2-1/2');",
    )?;

    let to = SqliteConfig::new(dir.path().join("copy.db"))?.with_foreign_keys(true);
    let copy = Sqlite.backup(&main.conn, &to)?;
    assert_eq!(count(&copy, "game")?, 2);
    assert_eq!(
        pragma_i64(&copy, "foreign_keys")?,
        1,
        "the destination's settings"
    );

    copy.execute("INSERT INTO game(result) VALUES ('0-1')", [])?;
    assert_eq!(count(&copy, "game")?, 3);
    assert_eq!(
        count(&main.conn, "game")?,
        2,
        "a write to the copy must not reach the original"
    );
    main.conn.execute("DELETE FROM game", [])?;
    assert_eq!(count(&copy, "game")?, 3, "nor the other way round");
    Sqlite.close(copy)?;

    // The copy is on disk: a fresh connection finds it.
    let reopened = Connection::open(dir.path().join("copy.db"))?;
    assert_eq!(count(&reopened, "game")?, 3);
    drop(reopened);

    // The honest way to copy a private in-memory database.
    let memory = Sqlite.open_with(&SqliteConfig::new(":memory:")?)?;
    memory.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1), (2);")?;
    let copy = Sqlite.backup(&memory, &SqliteConfig::new(":memory:")?)?;
    assert_eq!(count(&copy, "t")?, 2);

    main.close()?;
    Ok(())
}

#[test]
fn a_backup_into_a_locked_database_gives_up_after_its_busy_timeout() -> TestResult {
    // Alone: the bound is on wall-clock time.
    let _alone = alone();
    let dir = TempDir::new("sqlite-backup-busy")?;
    let source = Sqlite.open_with(&SqliteConfig::new(dir.path().join("source.db"))?)?;
    source.execute_batch("CREATE TABLE game(x); INSERT INTO game VALUES (1);")?;
    let dest = dir.path().join("dest.db");
    // Another connection holds the destination's write lock for the whole test.
    let holder = Connection::open(&dest)?;
    holder.execute_batch("CREATE TABLE held(x); BEGIN IMMEDIATE; INSERT INTO held VALUES (1);")?;

    for timeout in [Duration::from_millis(300), Duration::from_millis(600)] {
        let to = SqliteConfig::new(&dest)?.with_busy_timeout(timeout);
        let started = std::time::Instant::now();
        let err = Sqlite
            .backup(&source, &to)
            .expect_err("the destination is locked");
        let waited = started.elapsed();
        assert_eq!(err.op(), SqliteOp::Backup);
        assert_eq!(
            err.driver_error()
                .and_then(rusqlite::Error::sqlite_error_code),
            Some(ErrorCode::DatabaseBusy)
        );
        // It waited, and for about the timeout: not twice it (the old loop waited
        // the timeout inside SQLite's busy handler, then again in its own retries).
        assert!(
            waited >= timeout,
            "gave up after {waited:?}, before {timeout:?}"
        );
        assert!(
            waited < timeout * 3 / 2,
            "gave up after {waited:?}, the busy timeout is {timeout:?}"
        );
    }

    // Nothing was copied over the held database.
    holder.execute_batch("COMMIT")?;
    assert_eq!(count(&holder, "held")?, 1);
    assert!(
        count(&holder, "game").is_err(),
        "the backup must not have written"
    );
    Ok(())
}

#[test]
fn a_backup_waits_for_a_lock_released_within_its_busy_timeout() -> TestResult {
    let _shared = shared();
    let dir = TempDir::new("sqlite-backup-wait")?;
    let source = Sqlite.open_with(&SqliteConfig::new(dir.path().join("source.db"))?)?;
    source.execute_batch("CREATE TABLE game(x); INSERT INTO game VALUES (1), (2);")?;
    let dest = dir.path().join("dest.db");
    let holder = Connection::open(&dest)?;
    holder.execute_batch("CREATE TABLE held(x); BEGIN IMMEDIATE; INSERT INTO held VALUES (1);")?;
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        holder.execute_batch("COMMIT")
    });

    let to = SqliteConfig::new(&dest)?.with_busy_timeout(Duration::from_secs(10));
    let copy = Sqlite.backup(&source, &to)?;
    release.join().expect("the holder thread")?;
    assert_eq!(count(&copy, "game")?, 2);
    assert!(
        count(&copy, "held").is_err(),
        "the destination was replaced"
    );
    Sqlite.close(copy)?;
    Ok(())
}

#[test]
fn close_reports_the_drivers_error() -> TestResult {
    let _shared = shared();
    let dir = TempDir::new("sqlite-close")?;
    let path = dir.path().join("t.db");
    let main = Tournament::open(SqliteConfig::new(&path)?)?;
    main.conn.execute_batch("CREATE TABLE t(x)")?;

    // A statement that is never finalised: `forget` skips its `Drop`, which is what
    // finalises it, so SQLite refuses to close the connection (SQLITE_BUSY). This is a
    // real refusal by SQLite, not a simulated one; the handle it keeps open is leaked
    // for the rest of this test process.
    let stmt = main.conn.prepare("SELECT x FROM t")?;
    std::mem::forget(stmt);

    let err = main
        .close()
        .expect_err("SQLite refuses to close with a live statement");
    assert_eq!(err.type_name(), "Tournament");
    let [failure] = err.failures() else {
        panic!("one failure expected: {err:?}")
    };
    assert_eq!(failure.field(), "conn");
    let cause = failure
        .error()
        .downcast_ref::<SqliteError>()
        .expect("the factory's error");
    assert_eq!(cause.op(), SqliteOp::Close);
    assert_eq!(cause.path(), path);
    assert!(cause.to_string().contains(&path.display().to_string()));
    let driver = cause.driver_error().expect("SQLite's own error");
    assert_eq!(driver.sqlite_error_code(), Some(ErrorCode::DatabaseBusy));
    assert!(err.to_string().contains("field `conn`"));
    Ok(())
}

fn failing_init(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("SELECT * FROM no_such_table")
}

#[test]
fn errors_name_the_path_and_the_operation() -> TestResult {
    let _shared = shared();
    let dir = TempDir::new("sqlite-errors")?;

    let missing = dir.path().join("no-such-dir").join("t.db");
    let err = Sqlite
        .open_with(&SqliteConfig::new(&missing)?)
        .expect_err("the directory does not exist");
    assert_eq!(err.op(), SqliteOp::Open);
    assert_eq!(err.path(), missing);
    assert!(
        err.to_string().contains(&missing.display().to_string()),
        "{err}"
    );
    assert_eq!(
        err.driver_error()
            .and_then(rusqlite::Error::sqlite_error_code),
        Some(ErrorCode::CannotOpen),
        "the cause a user sees is SQLite's own"
    );
    assert!(std::error::Error::source(&err).is_some());

    // An in-memory database has no write-ahead log: SQLite keeps `memory`.
    let err = Sqlite
        .open_with(&SqliteConfig::new(":memory:")?.with_journal_mode(JournalMode::Wal))
        .expect_err("WAL is impossible in memory");
    assert_eq!(err.op(), SqliteOp::Configure);
    assert_eq!(err.setting(), Some("journal_mode"));
    assert!(err.to_string().contains("`journal_mode = wal`"), "{err}");
    assert!(err.to_string().contains("`memory`"), "{err}");

    let path = dir.path().join("t.db");
    let err = Sqlite
        .open_with(&SqliteConfig::new(&path)?.with_init(failing_init))
        .expect_err("the init hook fails");
    assert_eq!(err.setting(), Some("init"));
    assert!(err.to_string().contains("`init`"), "{err}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert!(
        std::error::Error::source(&err).is_some(),
        "the hook's own error is the cause"
    );
    Ok(())
}

#[test]
fn no_descriptor_leaks_after_1000_rebuild_and_close_cycles() -> TestResult {
    let _alone = alone();
    let dir = TempDir::new("sqlite-leak")?;
    let before_open = open_fd_count()?;
    // WAL: each connection holds the database, its log and its shared-memory index.
    let main = Tournament::open(
        SqliteConfig::new(dir.path().join("t.db"))?
            .with_journal_mode(JournalMode::Wal)
            .with_foreign_keys(true),
    )?;
    main.conn
        .execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")?;

    let cycle = || -> TestResult {
        let copy = main.rebuild()?;
        assert_eq!(count(&copy.conn, "t")?, 1);
        copy.close()?;
        Ok(())
    };
    // SQLite's unix VFS may keep one descriptor of a closed connection for reuse while
    // another connection of the process holds locks on the same file (closing it
    // would drop those locks): the first cycle may leave it, later cycles reuse it.
    cycle()?;
    let steady = open_fd_count()?;
    for i in 0..1000 {
        if i == 0 {
            // The count sees a copy's descriptors, so it would see a leak.
            let copy = main.rebuild()?;
            assert!(open_fd_count()? > steady, "a live copy holds descriptors");
            copy.close()?;
        } else {
            cycle()?;
        }
    }
    assert_eq!(
        open_fd_count()?,
        steady,
        "descriptors leaked over 1,000 cycles"
    );

    main.close()?;
    assert_eq!(
        open_fd_count()?,
        before_open,
        "closing the last connection closes all"
    );
    Ok(())
}

/// The check's error, which the test expects to be one of [`SqliteOp::Check`].
#[track_caller]
fn check_error(conn: &mut Connection) -> SqliteError {
    let err = Sqlite.check(conn).expect_err("the check should fail");
    assert_eq!(err.op(), SqliteOp::Check);
    err
}

#[test]
fn check_passes_a_working_connection_and_one_waiting_on_a_lock() -> TestResult {
    let _shared = shared();
    let dir = TempDir::new("sqlite-check-ok")?;
    let db =
        SqliteConfig::new(dir.path().join("t.db"))?.with_busy_timeout(Duration::from_millis(50));
    let mut conn = Sqlite.open_with(&db)?;
    conn.execute_batch("CREATE TABLE t(x)")?;
    Sqlite.check(&mut conn)?;

    // Another connection holds the file exclusively: this one waits its busy
    // timeout, and the database is busy, not the connection broken.
    let other = Sqlite.open_with(&db)?;
    other.execute_batch("BEGIN EXCLUSIVE")?;
    let busy = conn.query_row("SELECT count(*) FROM t", [], |row| row.get::<_, i64>(0));
    assert_eq!(
        busy.expect_err("the file is locked").sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy)
    );
    Sqlite.check(&mut conn)?;
    other.execute_batch("COMMIT")?;

    // A database without a file has nothing to lose.
    let mut memory = Sqlite.open_with(&SqliteConfig::new(":memory:")?)?;
    Sqlite.check(&mut memory)?;

    Sqlite.close(other)?;
    Sqlite.close(memory)?;
    Sqlite.close(conn)?;
    Ok(())
}

#[test]
fn check_fails_a_connection_whose_file_was_removed_or_replaced() -> TestResult {
    let _shared = shared();
    let dir = TempDir::new("sqlite-check-moved")?;
    let path = dir.path().join("t.db");
    let db = SqliteConfig::new(&path)?;
    let mut conn = Sqlite.open_with(&db)?;
    conn.execute_batch("CREATE TABLE old(x); INSERT INTO old VALUES (1);")?;

    // Removed: the connection still reads the unlinked file, and SQLite says nothing.
    std::fs::remove_file(&path)?;
    assert_eq!(count(&conn, "old")?, 1);
    let err = check_error(&mut conn);
    assert_eq!(err.path(), path);
    assert!(
        err.driver_error().is_none(),
        "guardian's own finding: {err:?}"
    );
    assert!(std::error::Error::source(&err).is_none());
    assert!(err.to_string().contains("removed or replaced"), "{err}");

    // Replaced: another database is moved in under the name. The old connection
    // still sees the old table, a new one sees the new file.
    let staged = dir.path().join("staged.db");
    let other = Sqlite.open_with(&SqliteConfig::new(&staged)?)?;
    other.execute_batch("CREATE TABLE new(x)")?;
    Sqlite.close(other)?;
    std::fs::rename(&staged, &path)?;
    assert_eq!(count(&conn, "old")?, 1);
    check_error(&mut conn);
    let mut fresh = Sqlite.open_with(&db)?;
    assert_eq!(count(&fresh, "new")?, 0);
    Sqlite.check(&mut fresh)?;

    Sqlite.close(fresh)?;
    Sqlite.close(conn)?;
    Ok(())
}

#[test]
fn check_fails_a_connection_left_in_a_transaction() -> TestResult {
    let _shared = shared();
    let dir = TempDir::new("sqlite-check-tx")?;
    let mut conn = Sqlite.open_with(&SqliteConfig::new(dir.path().join("t.db"))?)?;
    conn.execute_batch("CREATE TABLE t(x); BEGIN; INSERT INTO t VALUES (1);")?;
    let err = check_error(&mut conn);
    assert!(err.to_string().contains("transaction"), "{err}");
    conn.execute_batch("ROLLBACK")?;
    Sqlite.check(&mut conn)?;
    Sqlite.close(conn)?;
    Ok(())
}

#[test]
fn check_fails_a_connection_whose_file_is_no_longer_a_database() -> TestResult {
    let _shared = shared();
    let dir = TempDir::new("sqlite-check-garbage")?;
    let path = dir.path().join("t.db");
    let mut conn = Sqlite.open_with(&SqliteConfig::new(&path)?)?;
    conn.execute_batch("CREATE TABLE t(x)")?;
    // Overwritten in place (same file, so not a move): SQLite reads the header anew.
    std::fs::write(&path, vec![b'x'; 4096])?;
    let err = check_error(&mut conn);
    let driver = err.driver_error().expect("SQLite's own error");
    assert_eq!(driver.sqlite_error_code(), Some(ErrorCode::NotADatabase));
    Sqlite.close(conn)?;
    Ok(())
}
