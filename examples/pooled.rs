//! One factory and one recipe, used twice: for a `#[derive(Rebuild)]` type that a
//! report job rebuilds (its own session, same settings), and for an r2d2 pool that
//! serves request threads. The pool opens with the same recipe, checks each connection
//! before it hands it out again, and replaces one whose database file was replaced
//! under it (a restore from backup), closing the old one through the factory.
//!
//! ```text
//! cargo run --example pooled --features r2d2,sqlite
//! ```
//!
//! Everything it creates is removed when it ends.

use guardian_core::r2d2::{Manager, Pool};
use guardian_core::sqlite::rusqlite::{self, Connection};
use guardian_core::sqlite::{JournalMode, Sqlite, SqliteConfig};
use guardian_core::{Factory, Rebuild, scope};
use std::error::Error;
use std::path::Path;
use std::time::Duration;

type Result<T, E = Box<dyn Error + Send + Sync>> = std::result::Result<T, E>;

/// The recipe, written once: every connection, rebuilt or pooled, gets these settings.
///
/// The rollback journal (SQLite's default mode), not WAL: a WAL database's log stays
/// under its name while connections are open, and would be read over a file restored
/// in its place (see `guardian_core::sqlite`, "Checking").
fn recipe(path: &Path) -> Result<SqliteConfig> {
    Ok(SqliteConfig::new(path)?
        .with_busy_timeout(Duration::from_secs(2))
        .with_journal_mode(JournalMode::Delete)
        .with_foreign_keys(true)
        .with_pragma("cache_size", -8_000))
}

/// A report job: its recipe and the session opened from it.
#[derive(Rebuild)]
struct Reports {
    #[config]
    db: SqliteConfig,
    #[resource(factory = Sqlite, from = db)]
    conn: Connection,
}

fn count(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT count(*) FROM game", [], |row| row.get(0))
}

fn main() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("guardian-pooled-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = run(&dir);
    std::fs::remove_dir_all(&dir)?;
    result
}

fn run(dir: &Path) -> Result<()> {
    let path = dir.join("league.db");
    let db = recipe(&path)?;

    // 1. The rebuild: a report job copies the value, and gets a session of its own.
    let reports = Reports {
        conn: Sqlite.open_with(&db)?,
        db: db.clone(),
    };
    reports.conn.execute_batch(
        "CREATE TABLE game(white TEXT, black TEXT); INSERT INTO game VALUES ('ada', 'grace');",
    )?;
    let games = scope(reports.rebuild()?, |job| count(&job.conn))?;
    assert_eq!(games, 1);
    println!("rebuilt report job counted {games} game(s), on a session of its own");

    // 2. The pool: the same factory and the same recipe serve four request threads.
    let pool: Pool<Sqlite> = Pool::builder()
        .max_size(4)
        .build(Manager::new(Sqlite, db))?;
    std::thread::scope(|threads| -> Result<()> {
        let requests: Vec<_> = ["alan", "barbara", "edsger", "frances"]
            .into_iter()
            .map(|player| {
                let pool = &pool;
                threads.spawn(move || -> Result<()> {
                    let conn = pool.get()?;
                    let cache: i64 = conn.query_row("PRAGMA cache_size", [], |row| row.get(0))?;
                    assert_eq!(cache, -8_000, "the recipe's settings, on every connection");
                    conn.execute("INSERT INTO game VALUES (?1, 'ada')", [player])?;
                    Ok(())
                })
            })
            .collect();
        for request in requests {
            request.join().map_err(|_| "a request thread panicked")??;
        }
        Ok(())
    })?;
    let conn = pool.get()?;
    assert_eq!(count(&conn)?, 5);
    println!(
        "pool: {} connections served 4 threads; {} games now",
        pool.state().connections,
        count(&conn)?
    );
    drop(conn);

    // 3. A restore from backup moves another file in under the name. The pool's
    //    connections still hold the old file; each fails its check when next asked
    //    for, is closed through `Sqlite`'s close, and is replaced by one to the file
    //    the name holds now.
    let backup = dir.join("backup.db");
    let restored = Sqlite.open_with(&recipe(&backup)?)?;
    restored.execute_batch(
        "CREATE TABLE game(white TEXT, black TEXT); INSERT INTO game VALUES ('restored', 'x');",
    )?;
    Sqlite.close(restored)?;
    std::fs::rename(&backup, &path)?;
    let conn = pool.get()?;
    assert_eq!(count(&conn)?, 1, "the restored file, not the old one");
    println!(
        "after the restore, a pooled connection sees {} game(s)",
        count(&conn)?
    );
    drop(conn);

    // 4. The end: the report job closed explicitly, the pool by dropping it, which
    //    closes every idle connection through the factory (a failure would go to the
    //    close-error hook: one line on standard error).
    reports.close()?;
    drop(pool);
    Ok(())
}
