//! No descriptor leaks: thousands of `rebuild` + `close` cycles, and thousands of
//! rebuilds that fail on their 2nd or 3rd resource, leave `/proc/self/fd` as it was.
//! A failed rebuild must close what it had opened, through `Factory::close`, in
//! reverse order, even when one of those closes fails.
//!
//! Descriptor counts are process-wide, so every test here holds `alone()`, and this
//! file is a test binary of its own.

use std::error::Error as _;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use guardian_core::{CloseFailure, Factory, Rebuild};
use guardian_suite::path_factories::{AppendFile, ReadFile};
use guardian_suite::{TempDir, TestResult, alone, open_fd_count};

const CYCLES: usize = 2_000;

/// Opens `/dev/null`, from no config.
struct DevNull;

impl Factory for DevNull {
    type Config = ();
    type Resource = File;
    type Error = io::Error;

    fn open(&self, (): &()) -> io::Result<File> {
        File::open("/dev/null")
    }
}

/// Three real files; `second` and `third` fail to reopen once their file is removed.
#[derive(Rebuild)]
struct Session {
    #[config]
    first_path: PathBuf,
    #[config]
    second_path: PathBuf,
    #[config]
    third_path: PathBuf,
    #[resource(factory = AppendFile, from = first_path)]
    first: File,
    #[resource(factory = ReadFile, from = second_path)]
    second: File,
    #[resource(factory = ReadFile, from = third_path)]
    third: File,
    #[resource(factory = DevNull)]
    sink: File,
}

impl Session {
    fn open(dir: &Path) -> io::Result<Self> {
        let [first_path, second_path, third_path] =
            ["first", "second", "third"].map(|n| dir.join(n));
        std::fs::write(&second_path, "second")?;
        std::fs::write(&third_path, "third")?;
        Ok(Self {
            first: AppendFile.open(&first_path)?,
            second: ReadFile.open(&second_path)?,
            third: ReadFile.open(&third_path)?,
            sink: DevNull.open(&())?,
            first_path,
            second_path,
            third_path,
        })
    }
}

#[test]
fn rebuild_close_cycles_release_every_descriptor() -> TestResult {
    let _alone = alone();
    let dir = TempDir::new("leak-cycles")?;
    let session = Session::open(dir.path())?;
    let before = open_fd_count()?;
    for i in 0..CYCLES {
        let copy = session.rebuild()?;
        if i == 0 {
            // The count sees the copy's four handles: the check below can fail.
            assert_eq!(open_fd_count()?, before + 4);
        }
        copy.close()?;
    }
    assert_eq!(open_fd_count()?, before);
    session.close()?;
    assert_eq!(open_fd_count()?, before - 4);
    Ok(())
}

fn failed_rebuilds_release(removed: &str, field: &str) -> TestResult {
    let _alone = alone();
    let dir = TempDir::new("leak-failed")?;
    let session = Session::open(dir.path())?;
    std::fs::remove_file(dir.path().join(removed))?;
    let before = open_fd_count()?;
    for _ in 0..CYCLES {
        let err = session
            .rebuild()
            .err()
            .expect("the removed file cannot be reopened");
        assert_eq!(err.field(), field);
        let source = err.source().and_then(|s| s.downcast_ref::<io::Error>());
        assert_eq!(source.map(io::Error::kind), Some(io::ErrorKind::NotFound));
    }
    assert_eq!(open_fd_count()?, before);
    session.close()?;
    Ok(())
}

#[test]
fn failed_rebuilds_at_the_second_resource_release_the_first() -> TestResult {
    failed_rebuilds_release("second", "second")
}

#[test]
fn failed_rebuilds_at_the_third_resource_release_the_first_two() -> TestResult {
    failed_rebuilds_release("third", "third")
}

// ---------------------------------------------------------------------------------
// A counting factory: real descriptors, and a ledger of every call in order
// ---------------------------------------------------------------------------------

/// What the counted factories did, and where they must fail.
#[derive(Default)]
struct Ledger {
    calls: Mutex<Vec<String>>,
    fail_open: Mutex<Option<&'static str>>,
    fail_close: Mutex<Option<&'static str>>,
}

impl Ledger {
    fn record(&self, call: String) {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(call);
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.calls.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn set(slot: &Mutex<Option<&'static str>>, name: Option<&'static str>) {
        *slot.lock().unwrap_or_else(PoisonError::into_inner) = name;
    }

    fn is(slot: &Mutex<Option<&'static str>>, name: &str) -> bool {
        *slot.lock().unwrap_or_else(PoisonError::into_inner) == Some(name)
    }
}

/// Opens `/dev/null` (a real descriptor) and records each open and close.
struct Counted(&'static str);

/// A counted resource: the descriptor, and the ledger its close is recorded in.
struct Tracked {
    _file: File,
    ledger: Arc<Ledger>,
}

impl Factory for Counted {
    type Config = Arc<Ledger>;
    type Resource = Tracked;
    type Error = io::Error;

    fn open(&self, ledger: &Arc<Ledger>) -> io::Result<Tracked> {
        if Ledger::is(&ledger.fail_open, self.0) {
            ledger.record(format!("open {} failed", self.0));
            return Err(io::Error::other(format!("{} refused to open", self.0)));
        }
        ledger.record(format!("open {}", self.0));
        Ok(Tracked {
            _file: File::open("/dev/null")?,
            ledger: Arc::clone(ledger),
        })
    }

    fn close(&self, tracked: Tracked) -> io::Result<()> {
        let ledger = Arc::clone(&tracked.ledger);
        drop(tracked);
        ledger.record(format!("close {}", self.0));
        if Ledger::is(&ledger.fail_close, self.0) {
            return Err(io::Error::other(format!("{} refused to close", self.0)));
        }
        Ok(())
    }
}

#[derive(Rebuild)]
struct Counters {
    #[config]
    ledger: Arc<Ledger>,
    #[resource(factory = Counted("a"), from = ledger)]
    a: Tracked,
    #[resource(factory = Counted("b"), from = ledger)]
    b: Tracked,
    #[resource(factory = Counted("c"), from = ledger)]
    c: Tracked,
}

impl Counters {
    fn open() -> io::Result<Self> {
        let ledger = Arc::new(Ledger::default());
        let counters = Self {
            a: Counted("a").open(&ledger)?,
            b: Counted("b").open(&ledger)?,
            c: Counted("c").open(&ledger)?,
            ledger,
        };
        counters.ledger.take();
        Ok(counters)
    }
}

/// Fails `CYCLES` rebuilds at `failing`, checking the calls of every one and the
/// descriptor count after all of them.
fn counted_rollbacks(
    failing: &'static str,
    failing_close: Option<&'static str>,
    expected: &[&str],
) -> TestResult {
    let _alone = alone();
    let counters = Counters::open()?;
    Ledger::set(&counters.ledger.fail_open, Some(failing));
    Ledger::set(&counters.ledger.fail_close, failing_close);
    let before = open_fd_count()?;
    for _ in 0..CYCLES {
        let err = counters.rebuild().err().expect("the rebuild must fail");
        assert_eq!(err.field(), failing);
        assert_eq!(counters.ledger.take(), expected);
        let cleanup: Vec<_> = err
            .cleanup()
            .map(|c| c.failures().iter().map(CloseFailure::field).collect())
            .unwrap_or_default();
        assert_eq!(cleanup, Vec::from_iter(failing_close));
    }
    assert_eq!(open_fd_count()?, before);
    Ledger::set(&counters.ledger.fail_close, None);
    counters.close()?;
    assert_eq!(open_fd_count()?, before - 3);
    Ok(())
}

#[test]
fn counted_rollback_at_the_second_resource() -> TestResult {
    counted_rollbacks("b", None, &["open a", "open b failed", "close a"])
}

#[test]
fn counted_rollback_at_the_third_resource() -> TestResult {
    counted_rollbacks(
        "c",
        None,
        &["open a", "open b", "open c failed", "close b", "close a"],
    )
}

#[test]
fn counted_rollback_goes_on_after_a_failed_close() -> TestResult {
    counted_rollbacks(
        "c",
        Some("b"),
        &["open a", "open b", "open c failed", "close b", "close a"],
    )
}

#[test]
fn close_failures_still_release_every_descriptor() -> TestResult {
    let _alone = alone();
    let before = open_fd_count()?;
    for _ in 0..CYCLES {
        let counters = Counters::open()?;
        Ledger::set(&counters.ledger.fail_close, Some("c"));
        let ledger = Arc::clone(&counters.ledger);
        let err = counters.close().expect_err("`c` must fail to close");
        assert_eq!(err.failures().len(), 1);
        assert_eq!(err.failures()[0].field(), "c");
        assert_eq!(ledger.take(), ["close c", "close b", "close a"]);
    }
    assert_eq!(open_fd_count()?, before);
    Ok(())
}
