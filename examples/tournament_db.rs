//! A tournament database held in a `#[derive(Rebuild)]` struct: rebuilding it opens
//! another session on the same data, a backup makes a second copy of the data, and a
//! private `:memory:` database refuses to be rebuilt (the copy would be hollow).
//!
//! ```text
//! cargo run --example tournament_db --features sqlite
//! bash .ci/with-postgres cargo run --example tournament_db --features sqlite,postgres
//! ```
//!
//! The sessions part runs on an SQLite file by default, and on PostgreSQL when the
//! `postgres` feature is on and `GUARDIAN_PG_URL` is set; the backup and `:memory:`
//! parts are SQLite's. Everything it creates is removed when it ends.

use guardian_core::Rebuild;
use guardian_core::sqlite::rusqlite::Connection;
use guardian_core::sqlite::{JournalMode, Sqlite, SqliteConfig, SqliteError};
use std::error::Error;
use std::path::Path;
use std::time::Duration;

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

/// The few statements the demonstration needs, on either engine.
trait Sql {
    fn run(&mut self, sql: &str) -> Result<()>;
    fn count(&mut self, table: &str) -> Result<i64>;
}

impl Sql for Connection {
    fn run(&mut self, sql: &str) -> Result<()> {
        Ok(self.execute_batch(sql)?)
    }
    fn count(&mut self, table: &str) -> Result<i64> {
        Ok(
            self.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
                row.get(0)
            })?,
        )
    }
}

/// A tournament on SQLite: the recipe and the live connection opened from it.
#[derive(Rebuild)]
struct Tournament {
    #[config]
    name: String,
    #[config]
    db: SqliteConfig,
    #[resource(factory = Sqlite, from = db)]
    conn: Connection,
}

impl Tournament {
    fn open(name: &str, db: SqliteConfig) -> Result<Self, SqliteError> {
        Ok(Tournament {
            name: name.to_owned(),
            conn: Sqlite.open_with(&db)?,
            db,
        })
    }
}

#[cfg(feature = "postgres")]
mod pg {
    use super::{Result, Sql};
    use guardian_core::Rebuild;
    use guardian_core::postgres::postgres::Client;
    use guardian_core::postgres::{Postgres, PostgresConfig};

    impl Sql for Client {
        fn run(&mut self, sql: &str) -> Result<()> {
            Ok(self.batch_execute(sql)?)
        }
        fn count(&mut self, table: &str) -> Result<i64> {
            Ok(self
                .query_one(&format!("SELECT count(*) FROM {table}"), &[])?
                .get(0))
        }
    }

    /// A tournament on PostgreSQL.
    #[derive(Rebuild)]
    pub struct Tournament {
        #[config]
        pub name: String,
        #[config]
        pub db: PostgresConfig,
        #[resource(factory = Postgres::no_tls(), from = db)]
        pub client: Client,
    }

    /// The server of `GUARDIAN_PG_URL`, if it is set.
    pub fn open() -> Result<Option<Tournament>> {
        let Ok(url) = std::env::var("GUARDIAN_PG_URL") else {
            return Ok(None);
        };
        let db: PostgresConfig = url.parse()?;
        let db = db
            .with_application_name("guardian-tournament-example")
            .with_setting("statement_timeout", "10s");
        Ok(Some(Tournament {
            name: "Spring Open".to_owned(),
            client: Postgres::no_tls().open_with(&db)?,
            db,
        }))
    }

    /// The sessions part on PostgreSQL, in a table of this run's own, dropped at the end.
    pub fn sessions(mut main: Tournament) -> Result<()> {
        println!(
            "   tournament {:?} on PostgreSQL (`{}`)",
            main.name,
            main.db.server()
        );
        let table = format!("guardian_example_games_{}", std::process::id());
        let mut copy = main.rebuild()?;
        let shown = super::sessions(&mut main.client, &mut copy.client, &table);
        let dropped = main.client.run(&format!("DROP TABLE IF EXISTS {table}"));
        copy.close()?;
        main.close()?;
        shown.and(dropped)
    }
}

fn main() -> Result<()> {
    // A directory of the demo's own (the process id keeps concurrent runs apart),
    // removed at the end whatever happened.
    let dir = std::env::temp_dir().join(format!("guardian-tournament-db-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let outcome = demo(&dir);
    let cleanup = std::fs::remove_dir_all(&dir);
    outcome?;
    cleanup?;
    println!(
        "\nDone: every connection closed, {} removed.",
        dir.display()
    );
    Ok(())
}

/// The three parts, with every SQLite file in `dir`.
fn demo(dir: &Path) -> Result<()> {
    let file = SqliteConfig::new(dir.join("tournament.db"))?
        .with_busy_timeout(Duration::from_secs(2))
        .with_foreign_keys(true)
        .with_journal_mode(JournalMode::Wal);
    let mut tournament = Tournament::open("Spring Open", file)?;

    println!("1. Rebuild: another session on the same data");
    #[cfg(feature = "postgres")]
    if let Some(main) = pg::open()? {
        pg::sessions(main)?;
    } else {
        sqlite_sessions(&mut tournament)?;
    }
    #[cfg(not(feature = "postgres"))]
    sqlite_sessions(&mut tournament)?;

    println!("\n2. Backup: a second copy of the data");
    backup(&mut tournament, dir)?;

    println!("\n3. A hollow copy is refused");
    hollow()?;

    tournament.close()?;
    Ok(())
}

fn sqlite_sessions(tournament: &mut Tournament) -> Result<()> {
    println!(
        "   tournament {:?} on SQLite (`{}`)",
        tournament.name,
        tournament.db.path().display()
    );
    let mut copy = tournament.rebuild()?;
    sessions(&mut tournament.conn, &mut copy.conn, "games")?;
    copy.close()?;
    Ok(())
}

/// Two sessions: an uncommitted transaction in one is invisible in the other,
/// committed rows are visible to both.
fn sessions(main: &mut dyn Sql, copy: &mut dyn Sql, table: &str) -> Result<()> {
    main.run(&format!(
        "CREATE TABLE IF NOT EXISTS {table}(white TEXT NOT NULL, black TEXT NOT NULL, result TEXT);
         DELETE FROM {table};
         INSERT INTO {table} VALUES ('Ada', 'Grace', '1-0');"
    ))?;
    println!(
        "   committed 1 game; original sees {}, rebuilt sees {}",
        main.count(table)?,
        copy.count(table)?
    );

    main.run(&format!(
        "BEGIN; INSERT INTO {table} VALUES ('Alan', 'Ada', NULL);"
    ))?;
    let (seen_main, seen_copy) = (main.count(table)?, copy.count(table)?);
    println!(
        "   original inserts a 2nd game in an open transaction: original sees {seen_main}, \
         rebuilt sees {seen_copy}"
    );
    assert_ne!(
        seen_main, seen_copy,
        "an uncommitted row must stay in its session"
    );

    main.run("COMMIT")?;
    let (seen_main, seen_copy) = (main.count(table)?, copy.count(table)?);
    println!("   after COMMIT: original sees {seen_main}, rebuilt sees {seen_copy}");
    assert_eq!(
        seen_main, seen_copy,
        "a committed row is seen by every session"
    );
    Ok(())
}

/// A backup is a second copy: writes to it do not show in the original.
fn backup(tournament: &mut Tournament, dir: &Path) -> Result<()> {
    let original = &mut tournament.conn;
    original.run(
        "CREATE TABLE IF NOT EXISTS games(white TEXT NOT NULL, black TEXT NOT NULL, result TEXT);
         DELETE FROM games;
         INSERT INTO games VALUES ('Ada', 'Grace', '1-0'), ('Alan', 'Ada', '1/2-1/2');",
    )?;
    let to = SqliteConfig::new(dir.join("tournament-backup.db"))?.with_foreign_keys(true);
    let mut copy = Sqlite.backup(original, &to)?;
    println!(
        "   backed up `{}` to `{}`: {} games in each",
        tournament.db.path().display(),
        to.path().display(),
        copy.count("games")?
    );
    copy.run("INSERT INTO games VALUES ('Grace', 'Alan', '0-1');")?;
    let (in_original, in_copy) = (original.count("games")?, copy.count("games")?);
    println!("   a game added to the backup: original has {in_original}, backup has {in_copy}");
    assert_ne!(in_original, in_copy, "a backup is a copy, not a view");
    guardian_core::Factory::close(&Sqlite, copy)?;
    Ok(())
}

/// `:memory:` opens, but refuses to be rebuilt; the two honest alternatives work.
fn hollow() -> Result<()> {
    let scratch = Tournament::open("Blitz", SqliteConfig::new(":memory:")?)?;
    scratch.conn.execute_batch(
        "CREATE TABLE games(white TEXT, black TEXT); INSERT INTO games VALUES ('Ada', 'Grace');",
    )?;
    match scratch.rebuild() {
        Ok(_) => unreachable!("a rebuild of `:memory:` is refused"),
        Err(err) => {
            println!("   rebuild of a `:memory:` tournament: {err}");
            let mut source = err.source();
            while let Some(cause) = source {
                println!("     caused by: {cause}");
                source = cause.source();
            }
        }
    }

    let mut copy = Sqlite.backup(&scratch.conn, &SqliteConfig::new(":memory:")?)?;
    println!(
        "   alternative 1, a backup into another `:memory:` database: {} game(s) copied",
        copy.count("games")?
    );
    guardian_core::Factory::close(&Sqlite, copy)?;
    scratch.close()?;

    let name = format!("blitz-{}", std::process::id());
    let shared = Tournament::open("Blitz", SqliteConfig::shared_memory(&name))?;
    shared.conn.execute_batch(
        "CREATE TABLE games(white TEXT, black TEXT); INSERT INTO games VALUES ('Ada', 'Grace');",
    )?;
    let mut other = shared.rebuild()?;
    println!(
        "   alternative 2, a shared-cache in-memory database (`{}`): the rebuilt handle sees {} game(s)",
        shared.db.path().display(),
        other.conn.count("games")?
    );
    other.close()?;
    shared.close()?;
    Ok(())
}
