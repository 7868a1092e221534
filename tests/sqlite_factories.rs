//! The SQLite factory on real database files: rebuilt connections are independent
//! sessions on the same data with the same settings, hollow copies are refused,
//! backups are second copies, close errors are reported, nothing leaks.
#![cfg(feature = "sqlite")]

use guardian_core::sqlite::rusqlite::{self, Connection, ErrorCode, OpenFlags};
use guardian_core::sqlite::{JournalMode, Sqlite, SqliteConfig, SqliteError, SqliteOp};
use guardian_core::{Factory, Rebuild};
use guardian_suite::{TempDir, TestResult, alone, open_fd_count, shared};
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
    let main = Tournament::open(SqliteConfig::new(dir.path().join("t.db")))?;
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
    let db = SqliteConfig::new(&path)
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

#[test]
fn a_rebuild_of_a_connection_private_database_is_refused() -> TestResult {
    let _shared = shared();
    let private = [
        SqliteConfig::new(":memory:"),
        SqliteConfig::new(""),
        SqliteConfig::new("file::memory:"),
        SqliteConfig::new("file:board?mode=memory"),
        SqliteConfig::new("board")
            .with_open_flags(OpenFlags::default() | OpenFlags::SQLITE_OPEN_MEMORY),
        // SQLite shares an in-memory cache only for a URI name: this one is private.
        SqliteConfig::new("board").with_open_flags(
            OpenFlags::default()
                | OpenFlags::SQLITE_OPEN_MEMORY
                | OpenFlags::SQLITE_OPEN_SHARED_CACHE,
        ),
        SqliteConfig::new("file:").with_open_flags(OpenFlags::default()),
    ];
    for db in private {
        let label = db.path().display().to_string();
        assert!(db.is_private_to_connection(), "{label}");
        // Opening the first connection is fine ...
        let scratch = Tournament::open(db)?;
        scratch
            .conn
            .execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")?;
        // The refusal is right: another connection from the same recipe (opened here
        // without the guard) really is a different, empty database.
        let hollow = Sqlite.open_with(&scratch.db)?;
        assert!(
            count(&hollow, "t").is_err(),
            "{label}: expected an empty database"
        );
        Sqlite.close(hollow)?;
        // ... a second one in place of a copy is not.
        let err = scratch
            .rebuild()
            .err()
            .unwrap_or_else(|| panic!("a rebuild of {label} must be refused"));
        assert_eq!(err.field(), "conn", "{label}");
        assert_eq!(err.type_name(), "Tournament");
        assert!(err.cleanup().is_none());
        let cause = err
            .factory_error()
            .downcast_ref::<SqliteError>()
            .expect("the factory's error");
        assert!(cause.is_hollow_copy(), "{label}");
        assert_eq!(cause.op(), SqliteOp::Reopen);
        let message = cause.to_string();
        for hint in [
            "hollow copy",
            "file:NAME?mode=memory&cache=shared",
            "URI",
            "backup",
        ] {
            assert!(
                message.contains(hint),
                "{label}: {message:?} lacks {hint:?}"
            );
        }
        scratch.close()?;
    }
    Ok(())
}

#[test]
fn a_shared_cache_memory_database_rebuilds_onto_the_same_data() -> TestResult {
    let _shared = shared();
    let name = format!("guardian-shared-{}", std::process::id());
    let shared = [
        SqliteConfig::shared_memory(&name),
        SqliteConfig::new("file::memory:?cache=shared"),
        SqliteConfig::new(format!("file:{name}-flag?mode=memory"))
            .with_open_flags(OpenFlags::default() | OpenFlags::SQLITE_OPEN_SHARED_CACHE),
    ];
    for db in shared {
        let label = db.path().display().to_string();
        assert!(!db.is_private_to_connection(), "{label}");
        let main = Tournament::open(db)?;
        main.conn
            .execute_batch("CREATE TABLE player(name TEXT); INSERT INTO player VALUES ('Ada');")?;

        let copy = main.rebuild()?;
        assert_eq!(
            count(&copy.conn, "player")?,
            1,
            "{label}: the same data, not an empty database"
        );
        copy.conn
            .execute("INSERT INTO player VALUES ('Grace')", [])?;
        assert_eq!(count(&main.conn, "player")?, 2, "{label}");

        copy.close()?;
        main.close()?;
    }
    Ok(())
}

#[test]
fn a_backup_is_a_second_copy_of_the_data() -> TestResult {
    let _shared = shared();
    let dir = TempDir::new("sqlite-backup")?;
    let main =
        Tournament::open(SqliteConfig::new(dir.path().join("t.db")).with_foreign_keys(true))?;
    main.conn.execute_batch(
        "CREATE TABLE game(id INTEGER PRIMARY KEY, result TEXT);
         INSERT INTO game(result) VALUES ('1-0'), ('1/2-1/2');",
    )?;

    let to = SqliteConfig::new(dir.path().join("copy.db")).with_foreign_keys(true);
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
    let memory = Sqlite.open_with(&SqliteConfig::new(":memory:"))?;
    memory.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1), (2);")?;
    let copy = Sqlite.backup(&memory, &SqliteConfig::new(":memory:"))?;
    assert_eq!(count(&copy, "t")?, 2);

    main.close()?;
    Ok(())
}

#[test]
fn close_reports_the_drivers_error() -> TestResult {
    let _shared = shared();
    let dir = TempDir::new("sqlite-close")?;
    let path = dir.path().join("t.db");
    let main = Tournament::open(SqliteConfig::new(&path))?;
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
        .open_with(&SqliteConfig::new(&missing))
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
        .open_with(&SqliteConfig::new(":memory:").with_journal_mode(JournalMode::Wal))
        .expect_err("WAL is impossible in memory");
    assert_eq!(err.op(), SqliteOp::Configure);
    assert_eq!(err.setting(), Some("journal_mode"));
    assert!(err.to_string().contains("`journal_mode = wal`"), "{err}");
    assert!(err.to_string().contains("`memory`"), "{err}");

    let path = dir.path().join("t.db");
    let err = Sqlite
        .open_with(&SqliteConfig::new(&path).with_init(failing_init))
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
        SqliteConfig::new(dir.path().join("t.db"))
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
