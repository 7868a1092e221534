//! A service composed of types of its own: a logger (a buffered file), a SQLite
//! database and a `Vec` of TCP shard connections (to echo servers this example starts
//! on 127.0.0.1). Each worker thread gets a rebuilt copy (its own file handle, its own
//! database connection, its own connections to every shard) and works inside
//! `guardian_core::scope`, which closes the copy on every path and reports both the
//! work's error and the close's.
//!
//! ```text
//! cargo run --example service --features sqlite
//! ```
//!
//! Then one shard server is stopped and the service rebuilt again: the rebuild fails
//! with the whole path to the connection that could not be made (`shards[1].conn`),
//! and every connection already made for that copy is closed. Everything the example
//! creates is removed when it ends.

use guardian_core::fs::{AbsolutePath, AppendFile, Buffered};
use guardian_core::net::{TcpConfig, TcpConnect};
use guardian_core::sqlite::rusqlite::{Connection, params};
use guardian_core::sqlite::{JournalMode, Sqlite, SqliteConfig};
use guardian_core::{Factory, Rebuild, ScopeError, scope};
use std::error::Error;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

const WORKERS: usize = 4;
const SHARDS: usize = 3;
const JOBS: usize = 5;

/// The service's log: a buffered file, flushed (and checked) on close.
#[derive(Rebuild)]
struct Logger {
    #[config]
    path: AbsolutePath,
    #[resource(factory = Buffered::new(AppendFile), from = path)]
    out: BufWriter<File>,
}

impl Logger {
    fn record(&mut self, line: &str) -> io::Result<()> {
        writeln!(self.out, "{line}")
    }
}

/// The results database.
#[derive(Rebuild)]
struct Results {
    #[config]
    config: SqliteConfig,
    #[resource(factory = Sqlite, from = config)]
    conn: Connection,
}

/// One shard: a connection to a server that answers each line with `<line> ok`.
#[derive(Rebuild)]
struct Shard {
    #[config]
    id: i64,
    #[config]
    address: TcpConfig,
    #[resource(factory = TcpConnect, from = address)]
    conn: TcpStream,
}

impl Shard {
    fn ask(&mut self, question: &str) -> io::Result<String> {
        writeln!(self.conn, "{question}")?;
        let mut answer = String::new();
        BufReader::new(&self.conn).read_line(&mut answer)?;
        Ok(answer.trim_end().to_owned())
    }
}

/// The service: a logger, a database and its shards, each a type of its own.
#[derive(Rebuild)]
struct Service {
    #[config]
    name: String,
    #[nested]
    log: Logger,
    #[nested]
    results: Results,
    #[nested]
    shards: Vec<Shard>,
}

/// What a worker's job can fail with.
#[derive(Debug)]
enum JobError {
    Io(io::Error),
    Db(guardian_core::sqlite::rusqlite::Error),
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobError::Io(_) => f.write_str("a shard or the log failed"),
            JobError::Db(_) => f.write_str("the results database failed"),
        }
    }
}

impl Error for JobError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            JobError::Io(error) => Some(error),
            JobError::Db(error) => Some(error),
        }
    }
}

impl From<io::Error> for JobError {
    fn from(error: io::Error) -> Self {
        JobError::Io(error)
    }
}

impl From<guardian_core::sqlite::rusqlite::Error> for JobError {
    fn from(error: guardian_core::sqlite::rusqlite::Error) -> Self {
        JobError::Db(error)
    }
}

/// One worker's work on its own copy of the service: ask every shard, log and store
/// each answer.
fn work(worker: i64, service: &mut Service) -> Result<usize, JobError> {
    service.log.record(&format!("worker {worker}: start"))?;
    let mut answers = 0;
    for job in 0..JOBS {
        for shard in &mut service.shards {
            let answer = shard.ask(&format!("worker {worker} job {job}"))?;
            service.results.conn.execute(
                "INSERT INTO answer (worker, shard, text) VALUES (?1, ?2, ?3)",
                params![worker, shard.id, answer],
            )?;
            answers += 1;
        }
    }
    service
        .log
        .record(&format!("worker {worker}: {answers} answers"))?;
    Ok(answers)
}

/// An echo server on 127.0.0.1: answers each line with `<line> ok`, until stopped.
struct EchoServer {
    address: String,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl EchoServer {
    fn start() -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?.to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    std::thread::spawn(move || echo(&stream));
                }
            }
        });
        Ok(EchoServer {
            address,
            stop,
            thread,
        })
    }

    /// Stops accepting (a last connection wakes the accept loop) and closes the
    /// listener; connections already accepted end when their client closes them.
    fn stop(self) -> io::Result<()> {
        self.stop.store(true, Ordering::SeqCst);
        drop(TcpStream::connect(&self.address)?);
        self.thread
            .join()
            .map_err(|_| io::Error::other("the echo server panicked"))
    }
}

fn echo(stream: &TcpStream) {
    let mut reader = BufReader::new(stream);
    let mut writer = stream;
    let mut line = String::new();
    while matches!(reader.read_line(&mut line), Ok(n) if n > 0) {
        if writeln!(writer, "{} ok", line.trim_end()).is_err() {
            return;
        }
        line.clear();
    }
}

fn open_service(dir: &Path, servers: &[EchoServer]) -> Result<Service> {
    let log_path = AbsolutePath::new(dir.join("service.log"))?;
    let db = SqliteConfig::new(dir.join("results.sqlite"))?
        .with_journal_mode(JournalMode::Wal)
        .with_busy_timeout(Duration::from_secs(10));
    let results = Results {
        conn: Sqlite.open_with(&db)?,
        config: db,
    };
    results
        .conn
        .execute_batch("CREATE TABLE answer (worker INTEGER, shard INTEGER, text TEXT NOT NULL)")?;
    let shards = servers
        .iter()
        .enumerate()
        .map(|(id, server)| {
            let address = TcpConfig::new(server.address.clone())
                .with_connect_timeout(Some(Duration::from_secs(2)))
                .with_read_timeout(Some(Duration::from_secs(5)));
            Ok(Shard {
                id: i64::try_from(id)?,
                conn: TcpConnect.open(&address)?,
                address,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Service {
        name: "scores".to_owned(),
        log: Logger {
            out: Buffered::new(AppendFile).open(&log_path)?,
            path: log_path,
        },
        results,
        shards,
    })
}

/// Prints an error and its chain of causes, one per line.
fn report(error: &(dyn Error + 'static)) {
    println!("   error: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        println!("   cause: {cause}");
        source = cause.source();
    }
}

fn demo(dir: &Path) -> Result<()> {
    let mut servers = (0..SHARDS)
        .map(|_| EchoServer::start())
        .collect::<io::Result<Vec<_>>>()?;
    let service = open_service(dir, &servers)?;
    println!(
        "1. Service {:?}: a logger, a SQLite database and {} shard connections.",
        service.name,
        service.shards.len()
    );

    println!("2. {WORKERS} workers, each with a rebuilt copy, closed through `scope`:");
    let mut workers = Vec::new();
    for worker in 0..i64::try_from(WORKERS)? {
        // Its own file handle, database connection and shard connections.
        let copy = service.rebuild()?;
        workers.push(std::thread::spawn(move || {
            scope(copy, |copy| work(worker, copy))
        }));
    }
    let mut answers = 0;
    for (worker, handle) in workers.into_iter().enumerate() {
        let outcome = handle
            .join()
            .map_err(|_| format!("worker {worker} panicked"))?;
        match outcome {
            Ok(count) => {
                println!("   worker {worker}: {count} answers, its copy closed");
                answers += count;
            }
            Err(error) => {
                // The work's error, the close's error, or both: none is lost.
                report(&error);
                return Err(Box::new(error));
            }
        }
    }
    let stored: i64 = service
        .results
        .conn
        .query_row("SELECT count(*) FROM answer", [], |row| row.get(0))?;
    println!("   {answers} answers, {stored} rows in the database");
    assert_eq!(usize::try_from(stored)?, WORKERS * SHARDS * JOBS);

    println!("3. Shard server 1 stops; a rebuild must fail, and say where:");
    servers.remove(1).stop()?;
    match service.rebuild() {
        Ok(copy) => {
            copy.close()?;
            return Err("the rebuild should have failed".into());
        }
        Err(error) => {
            println!("   path: {}", error.path());
            report(&error);
            assert_eq!(error.path().to_string(), "shards[1].conn");
        }
    }

    // The original, closed through `scope` too: its log is flushed and checked.
    let lines = scope(service, |service| -> Result<usize, io::Error> {
        service.log.record("service: done")?;
        Ok(WORKERS * 2 + 1)
    })
    .inspect_err(|error: &ScopeError<io::Error>| report(error))?;
    let log = std::fs::read_to_string(dir.join("service.log"))?;
    assert_eq!(log.lines().count(), lines);
    println!("4. The service closed; its log has {lines} lines.");
    for server in servers {
        server.stop()?;
    }
    Ok(())
}

fn main() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("guardian-service-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let outcome = demo(&dir);
    let cleanup = std::fs::remove_dir_all(&dir);
    outcome?;
    cleanup?;
    println!(
        "\nDone: every file, connection and socket closed, {} removed.",
        dir.display()
    );
    Ok(())
}
