//! A tokio service whose every task works with resources of its own: a TCP
//! connection to an upstream server, a log file, and a database session, rebuilt
//! from one template per task.
//!
//! The database is PostgreSQL if `GUARDIAN_PG_URL` names a server, and SQLite (a
//! file in a temporary directory, through `Blocking`, on tokio's blocking pool)
//! otherwise:
//!
//! ```sh
//! cargo run --example async_service --features tokio-postgres,sqlite
//! bash .ci/with-postgres cargo run --example async_service --features tokio-postgres,sqlite
//! ```
//!
//! Each task's rebuild opens its three resources at once (one round trip, not
//! three), and the task closes them when it is done: the log is flushed and synced,
//! the connection shut down, the session ended, and every failure reported.

use std::error::Error;
use std::sync::Arc;

use guardian_core::fs::AbsolutePath;
use guardian_core::net::TcpConfig;
use guardian_core::postgres::PostgresConfig;
use guardian_core::sqlite::rusqlite::Connection;
use guardian_core::sqlite::{Sqlite, SqliteConfig};
use guardian_core::tokio::{
    AppendFile, Blocking, BlockingCell, Postgres, PostgresSession, TcpConnect,
};
use guardian_core::{AsyncFactory, AsyncRebuild, Rebuild};
use tokio::fs::File;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type BoxError = Box<dyn Error + Send + Sync>;

/// The database: an async PostgreSQL session, or a SQLite connection served on the
/// blocking pool.
#[derive(Rebuild)]
#[rebuild(async)]
#[expect(
    clippy::large_enum_variant,
    reason = "one value per service, never moved in a loop"
)]
enum Db {
    Postgres {
        #[config]
        config: PostgresConfig,
        #[resource(factory = Postgres::no_tls(), from = config)]
        session: PostgresSession,
    },
    Sqlite {
        #[config]
        config: SqliteConfig,
        #[resource(factory = Blocking::new(Sqlite), from = config)]
        conn: BlockingCell<Connection>,
    },
}

impl Db {
    /// Records one request.
    async fn record(&self, worker: usize, reply: String) -> Result<(), BoxError> {
        let worker = i32::try_from(worker)?;
        match self {
            Db::Postgres { session, .. } => {
                session
                    .client()
                    .execute(
                        "INSERT INTO guardian_requests(worker, reply) VALUES ($1, $2)",
                        &[&worker, &reply],
                    )
                    .await?;
            }
            Db::Sqlite { conn, .. } => {
                conn.call(move |db| {
                    db.execute(
                        "INSERT INTO guardian_requests(worker, reply) VALUES (?1, ?2)",
                        (worker, reply),
                    )
                })
                .await??;
            }
        }
        Ok(())
    }

    async fn count(&self) -> Result<i64, BoxError> {
        let sql = "SELECT count(*) FROM guardian_requests";
        Ok(match self {
            Db::Postgres { session, .. } => session.client().query_one(sql, &[]).await?.get(0),
            Db::Sqlite { conn, .. } => {
                conn.call(move |db| db.query_row(sql, [], |row| row.get(0)))
                    .await??
            }
        })
    }
}

/// What every task works with.
#[derive(Rebuild)]
#[rebuild(async)]
struct Worker {
    #[config]
    upstream: TcpConfig,
    #[config]
    log_path: AbsolutePath,
    #[resource(factory = TcpConnect, from = upstream)]
    conn: TcpStream,
    #[resource(factory = AppendFile, from = log_path)]
    log: File,
    #[nested]
    db: Db,
}

impl Worker {
    /// Sends one request upstream, logs the reply, records it.
    async fn serve(&mut self, id: usize) -> Result<(), BoxError> {
        let request = format!("request from worker {id}\n");
        self.conn.write_all(request.as_bytes()).await?;
        let mut reply = vec![0; request.len()];
        self.conn.read_exact(&mut reply).await?;
        let reply = String::from_utf8(reply)?;
        self.log
            .write_all(format!("worker {id}: {reply}").as_bytes())
            .await?;
        self.db.record(id, reply).await
    }
}

/// An upstream server that echoes every connection's bytes back.
async fn echo_server() -> std::io::Result<TcpConfig> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut peer, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut from, mut to) = peer.split();
                let _ = tokio::io::copy(&mut from, &mut to).await;
            });
        }
    });
    Ok(TcpConfig::from(address).with_nodelay(true))
}

/// The database the template opens: PostgreSQL if `GUARDIAN_PG_URL` is set.
async fn open_db(dir: &std::path::Path) -> Result<Db, BoxError> {
    if let Ok(url) = std::env::var("GUARDIAN_PG_URL") {
        let config: PostgresConfig = url.parse()?;
        let config = config.with_application_name("guardian_async_service");
        let session = Postgres::no_tls().open(&config).await?;
        session
            .client()
            .batch_execute(
                "DROP TABLE IF EXISTS guardian_requests;
                 CREATE TABLE guardian_requests(worker int, reply text)",
            )
            .await?;
        println!("database: PostgreSQL, {}", config.server());
        Ok(Db::Postgres { config, session })
    } else {
        let config = SqliteConfig::new(dir.join("service.db"))?
            .with_busy_timeout(std::time::Duration::from_secs(5));
        let conn = Blocking::new(Sqlite).open(&config).await?;
        conn.call(|db| db.execute_batch("CREATE TABLE guardian_requests(worker, reply)"))
            .await??;
        println!(
            "database: SQLite (no GUARDIAN_PG_URL), {}",
            config.path().display()
        );
        Ok(Db::Sqlite { config, conn })
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let dir = std::env::temp_dir().join(format!("guardian-async-service-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let upstream = echo_server().await?;
    let log_path = AbsolutePath::new(dir.join("service.log"))?;
    let template = Arc::new(Worker {
        conn: TcpConnect.open(&upstream).await?,
        log: AppendFile.open(&log_path).await?,
        db: open_db(&dir).await?,
        upstream,
        log_path: log_path.clone(),
    });

    // One task per request, each with resources of its own.
    let mut tasks = Vec::new();
    for id in 0..4 {
        let template = Arc::clone(&template);
        tasks.push(tokio::spawn(async move {
            let mut worker = template.rebuild().await?; // three opens at once
            let served = worker.serve(id).await;
            let closed = worker.close().await; // the Guardian Rule: close, see every error
            served?;
            closed?;
            Ok::<_, BoxError>(())
        }));
    }
    for task in tasks {
        task.await??;
    }

    let template = Arc::into_inner(template).ok_or("every task has ended")?;
    println!("requests recorded: {}", template.db.count().await?);
    template.close().await?;
    let log = std::fs::read_to_string(&log_path)?;
    print!("{log}");
    assert_eq!(log.lines().count(), 4);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
