//! An r2d2 pool of guardian factories (`guardian_core::r2d2`), on real SQLite files and
//! TCP sockets: every connection gets the recipe's settings, a connection that fails
//! its check (its file replaced, its peer gone) is closed and replaced, every
//! connection the pool discards or drops is closed through the factory (the process's
//! descriptors say so), and a failed close reaches the close-error hook.
//!
//! Every test holds `alone()`: the close-error hook and the descriptor count are
//! process-wide.
#![cfg(all(feature = "r2d2", feature = "sqlite"))]

use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use guardian_core::net::{TcpConfig, TcpConnect};
use guardian_core::r2d2::r2d2::HandleError;
use guardian_core::r2d2::{Manager, Pool};
use guardian_core::sqlite::rusqlite::{self, Connection, ErrorCode};
use guardian_core::sqlite::{JournalMode, Sqlite, SqliteConfig, SqliteError, SqliteOp};
use guardian_core::{CloseError, Factory, set_close_error_hook, take_close_error_hook};
use guardian_suite::{TempDir, TestResult, alone};

/// What the close-error hook heard of one error: the type it names, and each
/// failure's path, operation and SQLite's code.
#[derive(Debug, PartialEq)]
struct Report {
    type_name: String,
    failures: Vec<(String, Option<SqliteOp>, Option<ErrorCode>)>,
}

type Heard = Arc<Mutex<Vec<Report>>>;

/// Sets a hook that records what it hears; the test puts the default back with
/// [`take_close_error_hook`] before it ends.
fn listen() -> Heard {
    let heard: Heard = Arc::default();
    let sink = Arc::clone(&heard);
    set_close_error_hook(Box::new(move |error: &CloseError| {
        let failures = error
            .failures()
            .iter()
            .map(|f| {
                let cause = f.error().downcast_ref::<SqliteError>();
                (
                    f.path().to_string(),
                    cause.map(SqliteError::op),
                    cause
                        .and_then(SqliteError::driver_error)
                        .and_then(rusqlite::Error::sqlite_error_code),
                )
            })
            .collect();
        sink.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Report {
                type_name: error.type_name().to_owned(),
                failures,
            });
    }));
    heard
}

fn heard(heard: &Heard) -> Vec<Report> {
    std::mem::take(&mut *heard.lock().unwrap_or_else(PoisonError::into_inner))
}

/// The pool's error handler, recording what r2d2 hands it (a failed open or check).
#[derive(Debug, Default, Clone)]
struct Errors(Arc<Mutex<Vec<String>>>);

impl<E: std::error::Error> HandleError<E> for Errors {
    fn handle_error(&self, error: E) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(error.to_string());
    }
}

impl Errors {
    fn taken(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

fn pragma(conn: &Connection, name: &str) -> TestResult<i64> {
    Ok(conn.query_row(&format!("PRAGMA {name}"), [], |row| row.get(0))?)
}

fn tables(conn: &Connection) -> TestResult<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")?;
    let names = stmt
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(names)
}

/// The descriptors this process holds on files below `dir`, and how many of those
/// files were removed (Linux shows their link as `PATH (deleted)`: connections to a
/// replaced database). Counting only this test's own files keeps the count exact
/// while another test's pool closes its connections on r2d2's threads.
fn descriptors_below(dir: &Path) -> TestResult<(usize, usize)> {
    let (mut open, mut removed) = (0, 0);
    for entry in std::fs::read_dir("/proc/self/fd")? {
        let Ok(target) = std::fs::read_link(entry?.path()) else {
            continue; // the directory handle of this listing, already closed
        };
        let target = target.to_string_lossy().into_owned();
        if target.starts_with(&*dir.to_string_lossy()) {
            open += 1;
            removed += usize::from(target.ends_with(" (deleted)"));
        }
    }
    Ok((open, removed))
}

/// Waits (at most 10 s) for `done`: r2d2 may finish dropping a pool on its own
/// thread, if that thread was opening a connection when the test dropped its handle.
fn eventually(mut done: impl FnMut() -> TestResult<bool>) -> TestResult<bool> {
    for _ in 0..1000 {
        if done()? {
            return Ok(true);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    done()
}

/// Moves a new database with one table, `replacement`, in under `path`'s name.
fn replace_database(path: &Path) -> TestResult {
    let staged = path.with_extension("staged");
    let conn = Sqlite.open_with(&SqliteConfig::new(&staged)?)?;
    conn.execute_batch("CREATE TABLE replacement(x)")?;
    Sqlite.close(conn)?;
    std::fs::rename(&staged, path)?;
    Ok(())
}

#[test]
fn every_connection_has_the_settings_of_the_recipe() -> TestResult {
    let _alone = alone();
    let dir = TempDir::new("r2d2-settings")?;
    let db = SqliteConfig::new(dir.path().join("league.db"))?
        .with_busy_timeout(Duration::from_millis(1_500))
        .with_foreign_keys(false) // the bundled SQLite's default is on
        .with_journal_mode(JournalMode::Wal)
        .with_pragma("cache_size", -1_234);
    let manager = Manager::new(Sqlite, db);
    assert_eq!(
        manager.config().busy_timeout(),
        Some(Duration::from_millis(1_500))
    );
    let pool: Pool<Sqlite> = Pool::builder().max_size(3).build(manager)?;

    // Three at once: three connections, each opened from the recipe.
    let conns = [pool.get()?, pool.get()?, pool.get()?];
    for (i, conn) in conns.iter().enumerate() {
        assert_eq!(pragma(conn, "busy_timeout")?, 1_500);
        assert_eq!(pragma(conn, "foreign_keys")?, 0);
        assert_eq!(pragma(conn, "cache_size")?, -1_234);
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
        assert_eq!(mode, "wal");
        // Sessions of their own: a TEMP table is seen by its connection only.
        conn.execute_batch(&format!("CREATE TEMP TABLE mine_{i}(x)"))?;
    }
    for (i, conn) in conns.iter().enumerate() {
        let temp: Vec<String> = conn
            .prepare("SELECT name FROM temp.sqlite_schema")?
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        assert_eq!(temp, [format!("mine_{i}")]);
    }
    drop(conns);
    Ok(())
}

#[test]
fn a_connection_whose_file_was_replaced_is_closed_and_replaced() -> TestResult {
    let _alone = alone();
    let heard_by_hook = listen();
    let dir = TempDir::new("r2d2-replaced")?;
    let path = dir.path().join("league.db");
    let errors = Errors::default();
    let pool: Pool<Sqlite> = Pool::builder()
        .max_size(1)
        .error_handler(Box::new(errors.clone()))
        .build(Manager::new(Sqlite, SqliteConfig::new(&path)?))?;

    let conn = pool.get()?;
    conn.execute_batch("CREATE TABLE original(x)")?;
    drop(conn);
    replace_database(&path)?;
    // The idle connection still holds the removed file, and still reads it.
    assert_eq!(descriptors_below(dir.path())?, (1, 1));

    let conn = pool.get()?; // checked, found moved, closed, and a new one opened
    assert_eq!(tables(&conn)?, ["replacement"]);
    assert_eq!(
        descriptors_below(dir.path())?,
        (1, 0),
        "the old connection's descriptor is closed, the new one's open"
    );
    let errors = errors.taken();
    let [check] = errors.as_slice() else {
        panic!("the pool's error handler hears the failed check once: {errors:?}")
    };
    assert!(check.contains("failed its check"), "{check}");
    assert_eq!(pool.state().connections, 1);
    drop(conn);
    drop(pool);
    let _ = take_close_error_hook();
    assert_eq!(heard(&heard_by_hook), [], "every close succeeded");
    Ok(())
}

#[test]
fn dropping_the_pool_closes_every_connection_through_the_factory() -> TestResult {
    let _alone = alone();
    let dir = TempDir::new("r2d2-drop")?;
    // WAL: each connection holds the database, its log and its shared-memory index.
    let db = SqliteConfig::new(dir.path().join("league.db"))?.with_journal_mode(JournalMode::Wal);
    let pool: Pool<Sqlite> = Pool::builder()
        .max_size(3)
        .build(Manager::new(Sqlite, db))?;
    let conns = [pool.get()?, pool.get()?, pool.get()?];
    conns[0].execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")?;
    drop(conns);
    let (open, _) = descriptors_below(dir.path())?;
    assert!(open >= 3, "three open connections: {open} descriptors");
    assert_eq!(pool.state().idle_connections, 3);

    drop(pool);
    assert!(
        eventually(|| Ok(descriptors_below(dir.path())?.0 == 0))?,
        "every connection closed"
    );
    Ok(())
}

#[test]
fn a_close_failure_reaches_the_close_error_hook() -> TestResult {
    let _alone = alone();
    let heard_by_hook = listen();
    let dir = TempDir::new("r2d2-close")?;
    let path = dir.path().join("league.db");
    let pool: Pool<Sqlite> = Pool::builder()
        .max_size(1)
        .error_handler(Box::new(Errors::default()))
        .build(Manager::new(Sqlite, SqliteConfig::new(&path)?))?;

    // A statement that is never finalised: SQLite then refuses to close the
    // connection (SQLITE_BUSY), a real refusal; the handle is leaked for the rest of
    // this test process.
    let conn = pool.get()?;
    conn.execute_batch("CREATE TABLE t(x)")?;
    std::mem::forget(conn.prepare("SELECT x FROM t")?);
    drop(conn);

    // Discarded by a failed check: the close's failure goes to the hook, and the
    // pool opens a new connection.
    replace_database(&path)?;
    let conn = pool.get()?;
    assert_eq!(tables(&conn)?, ["replacement"]);
    let failed_close = Report {
        type_name: "r2d2::Pool<guardian_core::r2d2::Manager<guardian_core::sqlite::Sqlite>>"
            .to_owned(),
        failures: vec![(
            "connection".to_owned(),
            Some(SqliteOp::Close),
            Some(ErrorCode::DatabaseBusy),
        )],
    };
    assert_eq!(heard(&heard_by_hook), [failed_close]);

    // Dropped with the pool: the same.
    std::mem::forget(conn.prepare("SELECT x FROM replacement")?);
    drop(conn);
    drop(pool);
    assert!(eventually(|| Ok(!heard_by_hook
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .is_empty()))?);
    let heard_now = heard(&heard_by_hook);
    assert_eq!(heard_now.len(), 1, "{heard_now:?}");
    assert_eq!(heard_now[0].failures[0].1, Some(SqliteOp::Close));
    let _ = take_close_error_hook();
    Ok(())
}

#[test]
fn a_tcp_connection_the_server_closed_is_replaced() -> TestResult {
    let _alone = alone();
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let server = TcpConfig::from(listener.local_addr()?);
    let errors = Errors::default();
    let pool: Pool<TcpConnect> = Pool::builder()
        .max_size(1)
        .error_handler(Box::new(errors.clone()))
        .build(Manager::new(TcpConnect, server))?;
    let (first, first_peer) = listener.accept()?;
    let conn = pool.get()?;
    assert_eq!(conn.local_addr()?, first_peer);
    drop(conn);

    drop(first); // the server closes the idle connection
    std::thread::sleep(Duration::from_millis(50));
    let conn = pool.get()?; // checked: end-of-stream; closed; a new connection
    let (_second, second_peer) = listener.accept()?;
    assert_eq!(conn.local_addr()?, second_peer);
    assert_ne!(first_peer, second_peer);
    let errors = errors.taken();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("failed its check"), "{errors:?}");
    drop(conn);
    Ok(())
}
