//! The async factories of `guardian_core::tokio` against the real file system and real
//! sockets on 127.0.0.1, on tokio's multi-threaded runtime: fresh descriptors, the
//! cursor restored, the exclusive lock, options set again, closes that flush, sync
//! and shut down and report what failed, liveness checks; `Blocking` runs every call
//! of its factory off the executor, keeps the blocking factory's `reopen`, and
//! serves SQLite; every future is `Send` (checked by `tokio::spawn`).
#![cfg(feature = "tokio")]

use std::error::Error as _;
use std::io::{self, Read, Seek};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::ThreadId;
use std::time::Duration;

use guardian_core::fs::{AbsolutePath, FileError, FileOp};
use guardian_core::net::{NetError, NetOp, TcpConfig};
use guardian_core::tokio::{
    AppendFile, Blocking, BlockingCell, BlockingOp, ExclusiveFile, ReadFile, ResumeReadFile,
    TcpConnect, UnixConnect,
};
use guardian_core::{AsyncFactory, Factory};
use guardian_suite::{TempDir, TestResult, alone, open_fd_count, runtime, shared};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The multi-threaded runtime every test runs on (two workers, as many as this
/// machine has cores).
/// A file in `dir` holding `text`, as the recipe of the factories.
fn file_with(dir: &TempDir, name: &str, text: &str) -> TestResult<AbsolutePath> {
    let path = AbsolutePath::new(dir.path().join(name))?;
    std::fs::write(&path, text)?;
    Ok(path)
}

/// The (device, inode) of an open descriptor, from the OS.
fn identity(fd: &impl AsRawFd) -> io::Result<(u64, u64)> {
    let meta = std::fs::metadata(format!("/proc/self/fd/{}", fd.as_raw_fd()))?;
    Ok((meta.dev(), meta.ino()))
}

/// Every future of the factories is `Send`: `tokio::spawn` accepts it, which it does
/// only for `Send + 'static` futures (a compile-time check; running it is a bonus).
#[test]
fn every_future_is_send_and_spawns_on_the_multi_threaded_runtime() -> TestResult {
    let _shared = shared();
    let dir = TempDir::new("tokio-send")?;
    let path = file_with(&dir, "send.txt", "send")?;
    runtime()?.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let server = TcpConfig::from(listener.local_addr()?);
        let opened = tokio::spawn({
            let (path, server) = (path.clone(), server.clone());
            async move {
                let file = AppendFile.open(&path).await?;
                let copy = AppendFile.reopen(&path, &file).await?;
                AppendFile.close(copy).await?;
                AppendFile.close(file).await?;
                let mut stream = TcpConnect.open(&server).await?;
                let copy = TcpConnect.reopen(&server, &stream).await?;
                TcpConnect.check(&mut stream).await?;
                TcpConnect.close(copy).await?;
                TcpConnect.close(stream).await?;
                let blocking = Blocking::new(guardian_core::fs::ReadFile);
                let mut cell = blocking.open(&path).await?;
                let copy = blocking.reopen(&path, &cell).await?;
                blocking.check(&mut cell).await?;
                blocking.close(copy).await?;
                blocking.close(cell).await?;
                Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
            }
        });
        opened
            .await?
            .map_err(|error| -> Box<dyn std::error::Error> { error })
    })
}

#[test]
fn read_file_reopens_a_fresh_descriptor_with_its_own_cursor() -> TestResult {
    let _shared = shared();
    let dir = TempDir::new("tokio-read")?;
    let path = file_with(&dir, "scores.txt", "ada 3\ngrace 2\n")?;
    runtime()?.block_on(async {
        let mut live = ReadFile.open(&path).await?;
        let mut head = [0; 6];
        live.read_exact(&mut head).await?;

        let mut copy = ReadFile.reopen(&path, &live).await?;
        // Another descriptor of the same file...
        assert_ne!(live.as_raw_fd(), copy.as_raw_fd());
        assert_eq!(identity(&live)?, identity(&copy)?);
        // ... and another open file description: its cursor is its own, at the start
        // (a duplicate of the descriptor would share the live one's, at 6).
        let mut text = String::new();
        copy.read_to_string(&mut text).await?;
        assert_eq!(text, "ada 3\ngrace 2\n");
        assert_eq!(live.stream_position().await?, 6);
        ReadFile.close(copy).await?;
        ReadFile.close(live).await?;
        Ok(())
    })
}

#[test]
fn resume_read_file_reopens_at_the_live_cursor_then_moves_on_its_own() -> TestResult {
    // Alone: it counts the process's descriptors.
    let _alone = alone();
    let dir = TempDir::new("tokio-resume")?;
    let path = file_with(&dir, "moves.txt", "e4 e5 Nf3 Nc6 Bb5")?;
    runtime()?.block_on(async {
        let mut live = ResumeReadFile.open(&path).await?;
        live.read_exact(&mut [0; 6]).await?;

        let mut copy = ResumeReadFile.reopen(&path, &live).await?;
        assert_ne!(live.as_raw_fd(), copy.as_raw_fd());
        let mut rest = String::new();
        copy.read_to_string(&mut rest).await?;
        assert_eq!(rest, "Nf3 Nc6 Bb5");
        // The copy's reads did not move the live cursor.
        let mut next = [0; 3];
        live.read_exact(&mut next).await?;
        assert_eq!(&next, b"Nf3");

        // A cursor moved by a seek is followed too.
        live.seek(io::SeekFrom::Start(3)).await?;
        let mut copy = ResumeReadFile.reopen(&path, &live).await?;
        assert_eq!(copy.stream_position().await?, 3);

        // The position is read from a duplicate descriptor, closed at once.
        let before = open_fd_count()?;
        let again = ResumeReadFile.reopen(&path, &live).await?;
        assert_eq!(open_fd_count()?, before + 1);
        drop(again);
        ResumeReadFile.close(live).await?;
        Ok(())
    })
}

#[test]
fn append_file_reopens_a_second_appender_and_close_syncs_both_writes() -> TestResult {
    let _shared = shared();
    let dir = TempDir::new("tokio-append")?;
    let path = AbsolutePath::new(dir.path().join("journal.log"))?;
    runtime()?.block_on(async {
        let mut live = AppendFile.open(&path).await?; // created
        let mut copy = AppendFile.reopen(&path, &live).await?;
        assert_ne!(live.as_raw_fd(), copy.as_raw_fd());
        live.write_all(b"from the original\n").await?;
        copy.write_all(b"from the copy\n").await?;
        live.write_all(b"the original again\n").await?;
        // tokio writes in the background: `close` flushes before it syncs.
        AppendFile.close(live).await?;
        AppendFile.close(copy).await?;
        let text = std::fs::read_to_string(&path)?;
        assert_eq!(
            text,
            "from the original\nfrom the copy\nthe original again\n"
        );
        Ok(())
    })
}

#[test]
fn a_write_that_failed_in_the_background_comes_out_of_close() -> TestResult {
    let _shared = shared();
    runtime()?.block_on(async {
        // Every write to /dev/full fails with ENOSPC; tokio's `write_all` returns
        // before the write is made, so the failure is only seen by a flush.
        let full = AbsolutePath::new("/dev/full")?;
        let mut file = AppendFile.open(&full).await?;
        file.write_all(b"never stored").await?;
        let err = AppendFile.close(file).await.unwrap_err();
        assert_eq!(err.op(), FileOp::Flush);
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
        assert_eq!(err.path(), Some(std::path::Path::new("/dev/full")));

        // Nothing written: the sync of a character device is not a failure.
        let quiet = AppendFile.open(&full).await?;
        AppendFile.close(quiet).await?;
        Ok(())
    })
}

#[test]
fn exclusive_file_holds_the_lock_refuses_a_second_handle_and_releases_on_close() -> TestResult {
    let _shared = shared();
    let dir = TempDir::new("tokio-exclusive")?;
    let path = AbsolutePath::new(dir.path().join("state.bin"))?;
    runtime()?.block_on(async {
        let mut writer = ExclusiveFile.open(&path).await?;
        // The OS's view: another open of the file cannot take the lock.
        let probe = std::fs::File::open(&path)?;
        assert!(matches!(
            probe.try_lock(),
            Err(std::fs::TryLockError::WouldBlock)
        ));

        let refused = ExclusiveFile.reopen(&path, &writer).await.unwrap_err();
        assert!(refused.is_held_by_another_handle());
        assert_eq!(refused.op(), FileOp::Lock);
        assert!(refused.source().is_none(), "a refusal of guardian's own");

        writer.write_all(b"position 1").await?;
        ExclusiveFile.close(writer).await?;
        probe.try_lock()?; // released
        probe.unlock()?;
        assert_eq!(std::fs::read(&path)?, b"position 1");
        let next = ExclusiveFile.open(&path).await?;
        ExclusiveFile.close(next).await?;
        Ok(())
    })
}

#[test]
fn file_errors_are_the_blocking_factories_errors() -> TestResult {
    let _shared = shared();
    runtime()?.block_on(async {
        let missing = AbsolutePath::new("/nonexistent/guardian/scores.txt")?;
        let err = ReadFile.open(&missing).await.unwrap_err();
        let blocking = guardian_core::fs::ReadFile.open(&missing).unwrap_err();
        assert_eq!(err.op(), blocking.op());
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert_eq!(err.to_string(), blocking.to_string());
        assert_eq!(err.path(), Some(missing.as_path()));
        let err = AppendFile.open(&missing).await.unwrap_err();
        assert_eq!(err.op(), FileOp::OpenAppend);
        Ok(())
    })
}

async fn accept_peer(listener: &TcpListener) -> io::Result<tokio::net::TcpStream> {
    Ok(listener.accept().await?.0)
}

#[test]
fn tcp_reopen_is_a_second_connection_with_every_option_set_again() -> TestResult {
    let _shared = shared();
    runtime()?.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        for nodelay in [true, false] {
            let config = TcpConfig::from(listener.local_addr()?)
                .with_nodelay(nodelay)
                .with_connect_timeout(Some(Duration::from_secs(5)));
            let mut live = TcpConnect.open(&config).await?;
            let mut copy = TcpConnect.reopen(&config, &live).await?;
            let mut first = accept_peer(&listener).await?;
            let mut second = accept_peer(&listener).await?;
            // Two connections: two local ports, two peers on the server.
            assert_ne!(live.local_addr()?, copy.local_addr()?);
            assert_eq!(first.peer_addr()?, live.local_addr()?);
            assert_eq!(second.peer_addr()?, copy.local_addr()?);
            // The option, read back from the OS, on both.
            assert_eq!(live.nodelay()?, nodelay);
            assert_eq!(copy.nodelay()?, nodelay);
            // Bytes of one connection do not reach the other.
            copy.write_all(b"copy").await?;
            live.write_all(b"live").await?;
            let mut got = [0; 4];
            second.read_exact(&mut got).await?;
            assert_eq!(&got, b"copy");
            first.read_exact(&mut got).await?;
            assert_eq!(&got, b"live");

            // Closing shuts down both directions: the peer reads end-of-stream.
            TcpConnect.close(copy).await?;
            assert_eq!(second.read(&mut got).await?, 0);
            TcpConnect.close(live).await?;
            assert_eq!(first.read(&mut got).await?, 0);
        }
        Ok(())
    })
}

#[test]
fn tcp_refuses_the_timeouts_a_tokio_stream_cannot_have() -> TestResult {
    let _shared = shared();
    runtime()?.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        for (config, option) in [
            (
                TcpConfig::from(address).with_read_timeout(Some(Duration::from_secs(1))),
                "the read timeout",
            ),
            (
                TcpConfig::from(address).with_write_timeout(Some(Duration::from_secs(1))),
                "the write timeout",
            ),
        ] {
            let err = TcpConnect.open(&config).await.unwrap_err();
            assert_eq!(err.op(), NetOp::Configure(option));
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            assert!(err.source().is_none(), "a refusal of guardian's own");
            assert!(err.to_string().contains("tokio::time::timeout"), "{err}");
        }
        // Refused before connecting: the server saw nobody.
        let nobody = tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
        assert!(nobody.is_err(), "a refused config connected");

        let zero = TcpConfig::from(address).with_connect_timeout(Some(Duration::ZERO));
        let err = TcpConnect.open(&zero).await.unwrap_err();
        assert_eq!(
            (err.op(), err.kind()),
            (NetOp::Connect, io::ErrorKind::InvalidInput)
        );
        Ok(())
    })
}

#[test]
fn tcp_errors_name_the_address_and_the_operation() -> TestResult {
    let _shared = shared();
    runtime()?.block_on(async {
        // A port nothing listens on: bound, then released.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let config = TcpConfig::new(format!("127.0.0.1:{port}"));
        let err: NetError = TcpConnect.open(&config).await.unwrap_err();
        assert_eq!(err.op(), NetOp::Connect);
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        assert_eq!(err.target(), format!("127.0.0.1:{port}"));
        // The blocking factory says the same.
        let blocking = guardian_core::net::TcpConnect.open(&config).unwrap_err();
        assert_eq!(err.to_string(), blocking.to_string());

        let err = TcpConnect
            .open(&TcpConfig::new("no port here"))
            .await
            .unwrap_err();
        assert_eq!(err.op(), NetOp::Resolve);
        Ok(())
    })
}

#[test]
fn tcp_check_passes_a_live_connection_and_fails_one_the_peer_closed() -> TestResult {
    let _shared = shared();
    runtime()?.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let config = TcpConfig::from(listener.local_addr()?);
        let mut stream = TcpConnect.open(&config).await?;
        let mut peer = accept_peer(&listener).await?;
        TcpConnect.check(&mut stream).await?; // nothing to read: alive
        peer.write_all(b"unread").await?;
        tokio::time::sleep(Duration::from_millis(20)).await;
        TcpConnect.check(&mut stream).await?; // data waiting: alive, and not consumed
        let mut got = [0; 6];
        stream.read_exact(&mut got).await?;
        assert_eq!(&got, b"unread");

        drop(peer); // the server hangs up
        let mut failed = None;
        for _ in 0..200 {
            if let Err(err) = TcpConnect.check(&mut stream).await {
                failed = Some(err);
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let err = failed.ok_or("the check never saw the peer's end-of-stream")?;
        assert_eq!(err.op(), NetOp::Check);
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(err.to_string().contains("the peer closed it"), "{err}");
        TcpConnect.close(stream).await?;
        Ok(())
    })
}

#[test]
fn unix_reopen_is_a_second_connection_and_close_shuts_it_down() -> TestResult {
    let _shared = shared();
    let dir = TempDir::new("tokio-unix")?;
    let path = AbsolutePath::new(dir.path().join("server.sock"))?;
    runtime()?.block_on(async {
        let listener = tokio::net::UnixListener::bind(&path)?;
        let live = UnixConnect.open(&path).await?;
        let mut copy = UnixConnect.reopen(&path, &live).await?;
        let (mut first, _) = listener.accept().await?;
        let (mut second, _) = listener.accept().await?;
        copy.write_all(b"copy").await?;
        let mut got = [0; 4];
        second.read_exact(&mut got).await?;
        assert_eq!(&got, b"copy");
        UnixConnect.close(copy).await?;
        assert_eq!(second.read(&mut got).await?, 0);
        UnixConnect.close(live).await?;
        assert_eq!(first.read(&mut got).await?, 0);

        let missing = AbsolutePath::new(dir.path().join("nobody.sock"))?;
        let err = UnixConnect.open(&missing).await.unwrap_err();
        assert_eq!(err.op(), NetOp::Connect);
        assert_eq!(err.target(), missing.display().to_string());
        Ok(())
    })
}

/// A blocking factory that records the thread of every call, and fails to reopen
/// when asked to.
#[derive(Clone)]
struct Recording {
    threads: Arc<Mutex<Vec<(&'static str, ThreadId)>>>,
}

impl Recording {
    fn record(&self, call: &'static str) {
        self.threads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((call, std::thread::current().id()));
    }
}

impl Factory for Recording {
    type Config = str;
    type Resource = String;
    type Error = io::Error;

    fn open(&self, name: &str) -> io::Result<String> {
        self.record("open");
        Ok(format!("{name}#1"))
    }

    fn reopen(&self, name: &str, live: &String) -> io::Result<String> {
        self.record("reopen");
        if name == "refuse" {
            return Err(io::Error::other(format!("{live} refuses")));
        }
        Ok(format!("{live}+"))
    }

    fn check(&self, resource: &mut String) -> io::Result<()> {
        self.record("check");
        resource.push('!');
        Ok(())
    }

    fn close(&self, resource: String) -> io::Result<()> {
        self.record("close");
        drop(resource);
        Ok(())
    }
}

/// Every call of a `Blocking` factory runs off the executor: on the current-thread
/// runtime, whose only executor thread is this test's, none runs on this thread.
#[test]
fn blocking_calls_its_factory_on_the_blocking_pool_never_on_the_executor() -> TestResult {
    let _shared = shared();
    let recording = Recording {
        threads: Arc::default(),
    };
    let blocking = Blocking::new(recording.clone());
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let executor = std::thread::current().id();
    current.block_on(async {
        let mut live = blocking.open("db").await?;
        let mut copy = blocking.reopen("db", &live).await?;
        blocking.check(&mut copy).await?;
        // The reopen got the live resource, and the check's change is in the cell.
        assert_eq!(copy.call(|s| s.clone()).await?, "db#1+!");
        let err = blocking.reopen("refuse", &live).await.unwrap_err();
        assert_eq!(err.op(), BlockingOp::Reopen);
        assert_eq!(err.to_string(), "db#1 refuses"); // transparent: the factory's words
        blocking.check(&mut live).await?;
        blocking.close(copy).await?;
        blocking.close(live).await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    let calls = recording
        .threads
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let names: Vec<&str> = calls.iter().map(|(call, _)| *call).collect();
    assert_eq!(
        names,
        [
            "open", "reopen", "check", "reopen", "check", "close", "close"
        ]
    );
    for (call, thread) in calls {
        assert_ne!(thread, executor, "{call} ran on the executor thread");
    }
    Ok(())
}

#[test]
fn blocking_keeps_the_blocking_factorys_reopen() -> TestResult {
    let _shared = shared();
    let dir = TempDir::new("tokio-blocking-resume")?;
    let path = file_with(&dir, "moves.txt", "e4 e5 Nf3 Nc6")?;
    runtime()?.block_on(async {
        let factory = Blocking::new(guardian_core::fs::ResumeReadFile);
        let live = factory.open(&path).await?;
        live.call(|file| file.read_exact(&mut [0; 6])).await??;
        let copy = factory.reopen(&path, &live).await?;
        let (position, rest) = copy
            .call(|file| -> io::Result<(u64, String)> {
                let position = file.stream_position()?;
                let mut rest = String::new();
                file.read_to_string(&mut rest)?;
                Ok((position, rest))
            })
            .await??;
        assert_eq!((position, rest.as_str()), (6, "Nf3 Nc6"));
        // The live cursor did not move.
        assert_eq!(live.call(Seek::stream_position).await??, 6);

        // The factory's error, through the cell's error.
        let missing = AbsolutePath::new(dir.path().join("missing.txt"))?;
        let err = factory.open(&missing).await.unwrap_err();
        let cause: &FileError = err.factory_error().ok_or("the factory's error")?;
        assert_eq!(cause.op(), FileOp::OpenRead);
        factory.close(copy).await?;
        factory.close(live).await?;
        Ok(())
    })
}

/// A resource that logs its close.
#[derive(Clone)]
struct Logged;
impl Factory for Logged {
    type Config = ();
    type Resource = Arc<Mutex<Vec<&'static str>>>;
    type Error = io::Error;
    fn open(&self, (): &()) -> io::Result<Self::Resource> {
        Ok(Arc::default())
    }
    fn close(&self, log: Self::Resource) -> io::Result<()> {
        log.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push("close");
        Ok(())
    }
}

/// `close` waits for the calls in flight on the cell, then closes the resource.
#[test]
fn blocking_close_waits_for_the_call_in_flight() -> TestResult {
    let _shared = shared();
    runtime()?.block_on(async {
        let log = Arc::new(Mutex::new(Vec::new()));
        let cell = BlockingCell::new(Arc::clone(&log));
        let slow = cell.call(|log| {
            std::thread::sleep(Duration::from_millis(100));
            log.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push("call");
        });
        // Started, then abandoned: the call goes on on the pool.
        assert!(
            tokio::time::timeout(Duration::from_millis(10), slow)
                .await
                .is_err()
        );

        Blocking::new(Logged).close(cell).await?;
        assert_eq!(
            *log.lock().unwrap_or_else(PoisonError::into_inner),
            ["call", "close"]
        );
        Ok(())
    })
}

/// SQLite serves an async type through `Blocking`: a connection is not `Sync`, the
/// cell is; SQLite's own reopen (and its refusal of a hollow copy) is kept.
#[cfg(feature = "sqlite")]
#[test]
fn blocking_serves_sqlite_with_its_reopen_and_its_refusals() -> TestResult {
    use guardian_core::sqlite::{Sqlite, SqliteConfig, SqliteError};
    use guardian_core::tokio::BlockingError;

    fn is_sync<T: Sync>(_: &T) {}

    let _shared = shared();
    let dir = TempDir::new("tokio-sqlite")?;
    runtime()?.block_on(async {
        let factory = Blocking::new(Sqlite);
        let config = SqliteConfig::new(dir.path().join("league.db"))?;
        let mut live = factory.open(&config).await?;
        is_sync(&live);
        live.call(|db| {
            db.execute_batch("CREATE TABLE games(id INTEGER); INSERT INTO games VALUES (1);")
        })
        .await??;
        let copy = factory.reopen(&config, &live).await?;
        let games: i64 = copy
            .call(|db| db.query_row("SELECT count(*) FROM games", [], |row| row.get(0)))
            .await??;
        assert_eq!(games, 1);
        // Two connections: the copy's transaction is not the live one's.
        copy.call(|db| db.execute_batch("BEGIN; INSERT INTO games VALUES (2);"))
            .await??;
        let seen: i64 = live
            .call(|db| db.query_row("SELECT count(*) FROM games", [], |row| row.get(0)))
            .await??;
        assert_eq!(seen, 1);
        copy.call(|db| db.execute_batch("ROLLBACK")).await??;
        factory.check(&mut live).await?;

        let private = SqliteConfig::new(":memory:")?;
        let memory = factory.open(&private).await?;
        let err: BlockingError<SqliteError> = factory.reopen(&private, &memory).await.unwrap_err();
        let cause = err.factory_error().ok_or("SQLite's refusal")?;
        assert!(cause.is_hollow_copy(), "{cause}");
        factory.close(memory).await?;
        factory.close(copy).await?;
        factory.close(live).await?;
        Ok(())
    })
}
