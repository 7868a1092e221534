//! Helpers shared by the workspace's integration tests, examples and benchmarks.
//! Not published.
//!
//! - [`TestResult`]: what every test returns, so that `?` works on any error.
//! - [`shared`] and [`alone`]: the one way a test says it must run alone.
//! - [`rebuild_error`] and [`factory_error`]: the failed rebuild a test expects, and
//!   the factory's error inside it.
//! - [`open_fd_count`], [`TempDir`] and [`path_factories`]: what the tests observe
//!   and work in.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use guardian_core::{Rebuild, RebuildError};

/// What a test returns: `?` works on any error, and an `Err` fails the test with its
/// `Debug` output.
pub type TestResult<T = ()> = Result<T, Box<dyn Error>>;

/// The number of file descriptors this process has open, counted in
/// `/proc/self/fd` (Linux). The directory handle used for counting is excluded.
///
/// # Errors
/// When `/proc/self/fd` cannot be read.
pub fn open_fd_count() -> std::io::Result<usize> {
    // `read_dir` holds one descriptor of its own while iterating.
    Ok(std::fs::read_dir("/proc/self/fd")?
        .count()
        .saturating_sub(1))
}

/// A fresh directory for one test, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `$TMPDIR/guardian-<label>-<pid>-<n>`.
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub fn new(label: &str) -> std::io::Result<Self> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("guardian-{label}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }

    /// The directory's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Plain path factories for tests that exercise the derive itself (the built-in
/// `guardian_core::fs` factories take an `AbsolutePath` and sync on close; these take
/// any `Path` and do nothing more than `File::open`).
pub mod path_factories {
    use super::Path;
    use guardian_core::Factory;
    use std::fs::File;
    use std::io;

    /// Opens a file for reading.
    #[derive(Default)]
    pub struct ReadFile;

    impl Factory for ReadFile {
        type Config = Path;
        type Resource = File;
        type Error = io::Error;

        fn open(&self, path: &Path) -> io::Result<File> {
            File::open(path)
        }
    }

    /// Opens a file for appending, creating it if missing.
    #[derive(Default)]
    pub struct AppendFile;

    impl Factory for AppendFile {
        type Config = Path;
        type Resource = File;
        type Error = io::Error;

        fn open(&self, path: &Path) -> io::Result<File> {
            File::options().create(true).append(true).open(path)
        }
    }
}

/// The process-wide state tests take turns on: see [`shared`] and [`alone`].
static PROCESS: RwLock<()> = RwLock::new(());

/// Holds the process for a test that may run beside others: hold it for the whole
/// test in every test that opens a descriptor, in a test binary that has an
/// [`alone`] test.
///
/// The tests of one `tests/*.rs` file run as threads of one process, in parallel.
/// A test that counts the process's descriptors (`/proc/self/fd` is process-wide) or
/// changes process-wide state (the working directory) must not run while another
/// test opens or closes descriptors: it holds [`alone`], and every other test of the
/// same file holds `shared`, so the `alone` test runs by itself and the others run
/// in parallel. Each test file is a process of its own, so the guards order the tests
/// of one file only; a file without an `alone` test needs neither.
///
/// A test that panics poisons nothing: the next test takes the guard anyway.
pub fn shared() -> RwLockReadGuard<'static, ()> {
    PROCESS.read().unwrap_or_else(PoisonError::into_inner)
}

/// Holds the process for a test that must run by itself: one that counts the
/// process's descriptors or changes process-wide state. See [`shared`].
pub fn alone() -> RwLockWriteGuard<'static, ()> {
    PROCESS.write().unwrap_or_else(PoisonError::into_inner)
}

/// The error of a rebuild the test expects to fail.
///
/// # Panics
/// When the rebuild succeeds: the test then fails, naming the type.
#[track_caller]
#[must_use]
pub fn rebuild_error<T: Rebuild>(value: &T) -> RebuildError {
    match value.rebuild() {
        Ok(_) => panic!(
            "a rebuild of `{}` was expected to fail",
            std::any::type_name::<T>()
        ),
        Err(err) => err,
    }
}

/// The factory's error inside a [`RebuildError`], as the type the test expects
/// (`factory_error::<FileError>(&err)`).
///
/// # Panics
/// When the factory's error is of another type: the test then fails, naming both.
#[track_caller]
#[must_use]
pub fn factory_error<E: Error + 'static>(err: &RebuildError) -> &E {
    match err.factory_error().downcast_ref::<E>() {
        Some(error) => error,
        None => panic!(
            "the factory's error is not a `{}`: {:?}",
            std::any::type_name::<E>(),
            err.factory_error()
        ),
    }
}

/// Runs `work` on a thread of its own and waits at most `limit` for it: the answer,
/// or `None` if it has not returned by then (the thread is left behind, still
/// blocked). A test of something that must not block calls it, so that a regression
/// fails the test instead of hanging the suite.
pub fn within<T: Send + 'static>(
    limit: std::time::Duration,
    work: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = send.send(work());
    });
    receive.recv_timeout(limit).ok()
}

/// Makes a FIFO at `path` with the `mkfifo` command. Spawning copies the process's
/// descriptor table into the child until it execs: hold [`alone`] around it in a test
/// binary whose tests take exclusive locks.
///
/// # Errors
/// When `mkfifo` cannot be run or fails.
pub fn mkfifo(path: &Path) -> std::io::Result<()> {
    let status = std::process::Command::new("mkfifo").arg(path).status()?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "mkfifo {} failed: {status}",
            path.display()
        )))
    }
}

/// Whether this process runs as root (it owns `/proc/self`): what a test needs to make
/// device nodes or network namespaces. CI runs as root.
#[must_use]
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

/// The multi-threaded tokio runtime the async tests run on, with two workers (CI's
/// machines have two cores).
///
/// # Errors
/// When the runtime cannot be built.
#[cfg(feature = "tokio")]
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

/// The PostgreSQL server next to which the `#[ignore]`d tests run
/// (`GUARDIAN_PG_URL`), and what they observe of it.
#[cfg(feature = "postgres")]
pub mod pg {
    use guardian_core::postgres::PostgresConfig;

    use crate::TestResult;

    /// How to run the tests that need a server.
    pub const RUN_WITH_A_SERVER: &str = "bash .ci/with-postgres cargo test --all-features --tests -- --ignored --skip inside_a_network_namespace";

    /// The server under test, with an `application_name` of this test's own
    /// ([`app_name`]). Only `#[ignore]`d tests call this: they run when asked for
    /// (`-- --ignored`), and then a missing server fails them.
    ///
    /// # Errors
    /// When `GUARDIAN_PG_URL` is not set or is not a connection string.
    pub fn server(test: &str) -> TestResult<PostgresConfig> {
        let Ok(url) = std::env::var("GUARDIAN_PG_URL") else {
            return Err(format!(
                "GUARDIAN_PG_URL is not set: this test needs a PostgreSQL server; run `{RUN_WITH_A_SERVER}`"
            )
            .into());
        };
        let config: PostgresConfig = url.parse()?;
        Ok(config.with_application_name(&app_name(test)))
    }

    /// An `application_name` (and table name) no other test or run uses: the test's
    /// name and this process's id.
    #[must_use]
    pub fn app_name(test: &str) -> String {
        format!("guardian_{test}_{}", std::process::id())
    }

    /// Async sessions: a watcher of the others, and what it sees.
    #[cfg(feature = "tokio-postgres")]
    pub mod session {
        use std::time::Duration;

        use guardian_core::AsyncFactory;
        use guardian_core::postgres::PostgresConfig;
        use guardian_core::tokio::{Postgres, PostgresSession};

        use crate::TestResult;

        /// A session that watches the others, under a name of its own.
        ///
        /// # Errors
        /// When the session cannot be opened.
        pub async fn observer(db: &PostgresConfig) -> TestResult<PostgresSession> {
            let mut driver = db.driver().clone();
            driver.application_name("guardian_observer");
            Ok(Postgres::no_tls()
                .open(&PostgresConfig::new(driver))
                .await?)
        }

        /// The server's sessions named `app`, waiting (up to 10 s) for the count to
        /// reach `expected`: a closed session leaves `pg_stat_activity` a moment
        /// after its server process exits.
        ///
        /// # Errors
        /// When the query fails.
        pub async fn sessions_named(
            watcher: &PostgresSession,
            app: &str,
            expected: i64,
        ) -> TestResult<i64> {
            let mut n = -1;
            for _ in 0..1000 {
                n = watcher
                    .client()
                    .query_one(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                        &[&app],
                    )
                    .await?
                    .get(0);
                if n == expected {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Ok(n)
        }

        /// The process id of the session's server process.
        ///
        /// # Errors
        /// When the query fails.
        pub async fn pid(session: &PostgresSession) -> TestResult<i32> {
            Ok(session
                .client()
                .query_one("SELECT pg_backend_pid()", &[])
                .await?
                .get(0))
        }
    }
}
