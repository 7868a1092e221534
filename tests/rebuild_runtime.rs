//! What a user observes of `rebuild()` and `close()` at run time: a rebuilt value owns
//! handles of its own (own descriptor, own cursor, deep-copied config), resources open
//! in declaration order and roll back in reverse, `close` goes on after failures and
//! reports every one, and rebuilding from many threads at once stays independent.

use std::error::Error as _;
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, PoisonError};

use guardian_core::{CloseFailure, Factory, Rebuild, RebuildError};
use guardian_suite::path_factories::{AppendFile, ReadFile};
use guardian_suite::{TempDir, TestResult};

const TEXT: &str = "0123456789abcdefghijklmnopqrstuvwxyz";

// ---------------------------------------------------------------------------------
// Real files
// ---------------------------------------------------------------------------------

/// Opens a file for reading and, on `reopen`, seeks the new handle to where the live
/// one is: state carried over from the live resource.
struct ResumeRead;

impl Factory for ResumeRead {
    type Config = Path;
    type Resource = File;
    type Error = io::Error;

    fn open(&self, path: &Path) -> io::Result<File> {
        File::open(path)
    }

    fn reopen(&self, path: &Path, mut live: &File) -> io::Result<File> {
        let mut file = self.open(path)?;
        file.seek(io::SeekFrom::Start(live.stream_position()?))?;
        Ok(file)
    }
}

#[derive(Rebuild)]
struct Reader {
    #[config]
    path: PathBuf,
    #[resource(factory = ReadFile, from = path)]
    file: File,
}

impl Reader {
    fn open(path: &Path) -> io::Result<Self> {
        Ok(Self {
            file: ReadFile.open(path)?,
            path: path.to_owned(),
        })
    }
}

#[derive(Rebuild)]
struct Resuming {
    #[config]
    path: PathBuf,
    #[resource(factory = ResumeRead, from = path)]
    file: File,
}

#[derive(Rebuild)]
struct Journal {
    #[config]
    path: PathBuf,
    #[config]
    title: String,
    #[config]
    tags: Vec<String>,
    #[resource(factory = AppendFile, from = path)]
    file: File,
}

fn read_n(file: &mut File, n: usize) -> io::Result<String> {
    let mut buf = vec![0; n];
    file.read_exact(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn text_file(dir: &TempDir) -> io::Result<PathBuf> {
    let path = dir.path().join("text");
    std::fs::write(&path, TEXT)?;
    Ok(path)
}

#[test]
fn rebuilt_file_has_its_own_descriptor() -> TestResult {
    let dir = TempDir::new("rt-fd")?;
    let original = Reader::open(&text_file(&dir)?)?;
    let copy = original.rebuild()?;
    assert_ne!(original.file.as_raw_fd(), copy.file.as_raw_fd());
    assert_eq!(copy.path, original.path);
    copy.close()?;
    original.close()?;
    Ok(())
}

#[test]
fn rebuilt_file_has_its_own_cursor() -> TestResult {
    let dir = TempDir::new("rt-cursor")?;
    let mut original = Reader::open(&text_file(&dir)?)?;
    assert_eq!(read_n(&mut original.file, 4)?, "0123");

    // The default `reopen` opens afresh: the copy starts at offset 0, not at 4.
    let mut copy = original.rebuild()?;
    assert_eq!(read_n(&mut original.file, 4)?, "4567");
    assert_eq!(
        read_n(&mut copy.file, 4)?,
        "0123",
        "the original's read moved the copy"
    );
    assert_eq!(read_n(&mut copy.file, 4)?, "4567");
    assert_eq!(
        read_n(&mut original.file, 4)?,
        "89ab",
        "the copy's read moved the original"
    );
    copy.close()?;
    original.close()?;
    Ok(())
}

/// The double booking the library avoids: `try_clone` duplicates the descriptor but
/// both share one open file description, hence one cursor.
#[test]
fn try_clone_shares_the_cursor() -> TestResult {
    let dir = TempDir::new("rt-try-clone")?;
    let mut original = Reader::open(&text_file(&dir)?)?;
    let mut dup = original.file.try_clone()?;
    assert_ne!(original.file.as_raw_fd(), dup.as_raw_fd());
    assert_eq!(read_n(&mut original.file, 4)?, "0123");
    assert_eq!(read_n(&mut dup, 4)?, "4567", "try_clone's cursor is shared");
    assert_eq!(read_n(&mut original.file, 4)?, "89ab");

    // The rebuilt copy is the contrast: from 0, whatever the other two did.
    let mut copy = original.rebuild()?;
    assert_eq!(read_n(&mut copy.file, 4)?, "0123");
    drop(dup);
    copy.close()?;
    original.close()?;
    Ok(())
}

#[test]
fn appends_from_both_handles_all_land() -> TestResult {
    let dir = TempDir::new("rt-append")?;
    let path = dir.path().join("journal");
    let mut original = Journal {
        file: AppendFile.open(&path)?,
        path,
        title: "game".into(),
        tags: vec![],
    };
    let mut copy = original.rebuild()?;
    for i in 0..100 {
        writeln!(original.file, "original {i}")?;
        writeln!(copy.file, "copy {i}")?;
    }
    let path = original.path.clone();
    copy.close()?;
    original.close()?;

    let text = std::fs::read_to_string(&path)?;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 200, "a write overwrote another");
    for i in 0..100 {
        assert!(lines.contains(&format!("original {i}").as_str()));
        assert!(lines.contains(&format!("copy {i}").as_str()));
    }
    Ok(())
}

#[test]
fn config_is_deep_copied() -> TestResult {
    let dir = TempDir::new("rt-config")?;
    let path = dir.path().join("journal");
    let original = Journal {
        file: AppendFile.open(&path)?,
        path,
        title: "Opera game".into(),
        tags: vec!["1858".into(), "Paris".into()],
    };
    let mut copy = original.rebuild()?;
    assert_eq!(copy.title, original.title);
    assert_eq!(copy.tags, original.tags);

    copy.title.push_str(" (what if)");
    copy.tags.push("branch".into());
    copy.tags[0].push('!');
    copy.path.push("elsewhere");
    assert_eq!(original.title, "Opera game");
    assert_eq!(original.tags, ["1858", "Paris"]);
    assert_eq!(original.path, dir.path().join("journal"));
    copy.close()?;
    original.close()?;
    Ok(())
}

/// `rebuild` calls `reopen` (here: resume at the live position), not `open`.
#[test]
fn rebuild_calls_reopen_with_the_live_resource() -> TestResult {
    let dir = TempDir::new("rt-reopen")?;
    let path = text_file(&dir)?;
    let mut original = Resuming {
        file: ResumeRead.open(&path)?,
        path,
    };
    assert_eq!(read_n(&mut original.file, 5)?, "01234");
    let mut copy = original.rebuild()?;
    assert_ne!(copy.file.as_raw_fd(), original.file.as_raw_fd());
    assert_eq!(
        read_n(&mut copy.file, 3)?,
        "567",
        "reopen's seek was not honoured"
    );
    // Carried over, but still independent.
    assert_eq!(read_n(&mut original.file, 3)?, "567");
    assert_eq!(read_n(&mut copy.file, 3)?, "89a");
    copy.close()?;
    original.close()?;
    Ok(())
}

#[test]
fn eight_threads_rebuild_one_shared_value() -> TestResult {
    const THREADS: usize = 8;
    let dir = TempDir::new("rt-threads")?;
    let original = Reader::open(&text_file(&dir)?)?;
    let start = Barrier::new(THREADS);
    let copies = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| -> io::Result<(Reader, String)> {
                    let shared: &Reader = &original;
                    start.wait();
                    let mut copy = shared.rebuild().map_err(io::Error::other)?;
                    let mut text = String::new();
                    copy.file.read_to_string(&mut text)?;
                    Ok((copy, text))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("a rebuilding thread panicked"))
            .collect::<io::Result<Vec<_>>>()
    })?;

    // Every copy read the whole file from 0: no cursor was shared.
    assert!(copies.iter().all(|(_, text)| text == TEXT));
    // All alive at once, so distinct descriptors mean distinct handles.
    let mut fds: Vec<_> = copies
        .iter()
        .map(|(copy, _)| copy.file.as_raw_fd())
        .collect();
    fds.push(original.file.as_raw_fd());
    fds.sort_unstable();
    fds.dedup();
    assert_eq!(fds.len(), THREADS + 1);
    for (copy, _) in copies {
        copy.close()?;
    }
    original.close()?;
    Ok(())
}

// ---------------------------------------------------------------------------------
// A scripted factory that records every call, and fails where it is told to
// ---------------------------------------------------------------------------------

/// The shared record of one test: what the probes did, and where they must fail.
#[derive(Default)]
struct Script {
    log: Mutex<Vec<String>>,
    next_id: AtomicUsize,
    fail_open: Mutex<Vec<&'static str>>,
    fail_close: Mutex<Vec<&'static str>>,
}

impl Script {
    fn new() -> Arc<Self> {
        Arc::default()
    }

    fn record(&self, line: String) {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line);
    }

    /// The calls recorded since the last `take`.
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.log.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn fail_open(&self, name: &'static str) {
        self.fail_open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(name);
    }

    fn fail_close(&self, name: &'static str) {
        self.fail_close
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(name);
    }

    fn heal(&self) {
        self.fail_open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.fail_close
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn fails(list: &Mutex<Vec<&'static str>>, name: &str) -> bool {
        list.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&name)
    }
}

/// A factory named after the field it serves. Its resources are numbered (`a#1`), so
/// the log shows which handle each call saw.
struct Probe(&'static str);

/// A probe's resource: not `Clone`, known by its number.
struct Handle {
    id: usize,
    script: Arc<Script>,
}

#[derive(Debug, PartialEq, Eq)]
struct ProbeError {
    probe: &'static str,
    action: &'static str,
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "probe {} failed to {}", self.probe, self.action)
    }
}

impl std::error::Error for ProbeError {}

impl Probe {
    fn try_open(&self, script: &Arc<Script>) -> Result<Handle, ProbeError> {
        if Script::fails(&script.fail_open, self.0) {
            return Err(ProbeError {
                probe: self.0,
                action: "open",
            });
        }
        let id = script.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        Ok(Handle {
            id,
            script: Arc::clone(script),
        })
    }
}

impl Factory for Probe {
    type Config = Arc<Script>;
    type Resource = Handle;
    type Error = ProbeError;

    fn open(&self, script: &Arc<Script>) -> Result<Handle, ProbeError> {
        let opened = self.try_open(script);
        match &opened {
            Ok(handle) => script.record(format!("open {}#{}", self.0, handle.id)),
            Err(_) => script.record(format!("open {} -> failed", self.0)),
        }
        opened
    }

    fn reopen(&self, script: &Arc<Script>, live: &Handle) -> Result<Handle, ProbeError> {
        let opened = self.try_open(script);
        match &opened {
            Ok(handle) => script.record(format!(
                "reopen {0}#{1} -> {0}#{2}",
                self.0, live.id, handle.id
            )),
            Err(_) => script.record(format!("reopen {}#{} -> failed", self.0, live.id)),
        }
        opened
    }

    fn close(&self, handle: Handle) -> Result<(), ProbeError> {
        let script = &handle.script;
        script.record(format!("close {}#{}", self.0, handle.id));
        if Script::fails(&script.fail_close, self.0) {
            return Err(ProbeError {
                probe: self.0,
                action: "close",
            });
        }
        Ok(())
    }
}

/// Three resources with a config field between them.
#[derive(Rebuild)]
struct Three {
    #[config]
    script: Arc<Script>,
    #[resource(factory = Probe("a"), from = script)]
    a: Handle,
    #[config]
    label: String,
    #[resource(factory = Probe("b"), from = script)]
    b: Handle,
    #[resource(factory = Probe("c"), from = script)]
    c: Handle,
}

impl Three {
    /// Opens `a#1`, `b#2`, `c#3` and clears the log.
    fn open(script: &Arc<Script>) -> Result<Self, ProbeError> {
        let three = Self {
            a: Probe("a").open(script)?,
            label: "three".into(),
            b: Probe("b").open(script)?,
            c: Probe("c").open(script)?,
            script: Arc::clone(script),
        };
        script.take();
        Ok(three)
    }
}

fn probe_error<'e>(err: &'e (dyn std::error::Error + 'static)) -> &'e ProbeError {
    err.downcast_ref::<ProbeError>()
        .expect("the factory's error is kept as is")
}

fn source_of(err: &RebuildError) -> &ProbeError {
    probe_error(err.source().expect("a RebuildError has a source"))
}

#[test]
fn rebuild_reopens_in_declaration_order() -> TestResult {
    let script = Script::new();
    let original = Three::open(&script)?;
    let copy = original.rebuild()?;
    assert_eq!(
        script.take(),
        [
            "reopen a#1 -> a#4",
            "reopen b#2 -> b#5",
            "reopen c#3 -> c#6"
        ]
    );
    assert_eq!((copy.a.id, copy.b.id, copy.c.id), (4, 5, 6));
    assert_eq!(copy.label, "three");
    assert!(Arc::ptr_eq(&copy.script, &script));
    copy.close()?;
    original.close()?;
    Ok(())
}

#[test]
fn first_resource_failing_closes_nothing() -> TestResult {
    let script = Script::new();
    let original = Three::open(&script)?;
    script.fail_open("a");
    let err = original.rebuild().err().expect("`a` must fail");
    assert_eq!(script.take(), ["reopen a#1 -> failed"]);
    assert_eq!(err.field(), "a");
    assert!(err.cleanup().is_none());
    script.heal();
    original.close()?;
    Ok(())
}

#[test]
fn second_resource_failing_closes_the_first() -> TestResult {
    let script = Script::new();
    let original = Three::open(&script)?;
    script.fail_open("b");
    let err = original.rebuild().err().expect("`b` must fail");
    assert_eq!(
        script.take(),
        ["reopen a#1 -> a#4", "reopen b#2 -> failed", "close a#4"]
    );
    assert_eq!(err.field(), "b");
    assert_eq!(err.type_name(), "Three");
    assert_eq!(err.variant(), None);
    assert_eq!(
        source_of(&err),
        &ProbeError {
            probe: "b",
            action: "open"
        }
    );
    assert!(err.cleanup().is_none());
    assert_eq!(
        err.to_string(),
        "cannot rebuild `Three`: resource field `b` failed to open"
    );
    let boxed = err.into_factory_error();
    assert!(boxed.downcast_ref::<ProbeError>().is_some());
    Ok(())
}

#[test]
fn third_resource_failing_closes_the_others_in_reverse() -> TestResult {
    let script = Script::new();
    let original = Three::open(&script)?;
    script.fail_open("c");
    let err = original.rebuild().err().expect("`c` must fail");
    assert_eq!(
        script.take(),
        [
            "reopen a#1 -> a#4",
            "reopen b#2 -> b#5",
            "reopen c#3 -> failed",
            "close b#5",
            "close a#4",
        ]
    );
    assert_eq!(err.field(), "c");
    assert_eq!(source_of(&err).probe, "c");

    // The original was not touched by the rollback, and rebuilds again once healed.
    script.heal();
    let copy = original.rebuild()?;
    assert_eq!((copy.a.id, copy.b.id, copy.c.id), (6, 7, 8));
    copy.close()?;
    script.take();
    original.close()?;
    assert_eq!(script.take(), ["close c#3", "close b#2", "close a#1"]);
    Ok(())
}

#[test]
fn rollback_close_failures_are_kept_in_cleanup() -> TestResult {
    let script = Script::new();
    let original = Three::open(&script)?;
    script.fail_open("c");
    script.fail_close("a");
    script.fail_close("b");
    let err = original.rebuild().err().expect("`c` must fail");
    // `b` failing to close does not stop `a` from being closed.
    assert_eq!(
        script.take(),
        [
            "reopen a#1 -> a#4",
            "reopen b#2 -> b#5",
            "reopen c#3 -> failed",
            "close b#5",
            "close a#4",
        ]
    );
    assert_eq!(err.field(), "c");
    assert_eq!(source_of(&err).action, "open");
    let cleanup = err
        .cleanup()
        .expect("the rollback's close failures are kept");
    let failed: Vec<_> = cleanup.failures().iter().map(CloseFailure::field).collect();
    assert_eq!(failed, ["b", "a"]);
    for failure in cleanup.failures() {
        let error = probe_error(failure.error());
        assert_eq!((error.probe, error.action), (failure.field(), "close"));
    }
    let message = err.to_string();
    assert!(
        message.contains("resource field `c` failed to open"),
        "{message}"
    );
    assert!(
        message.contains("field `b`: probe b failed to close"),
        "{message}"
    );
    assert!(
        message.contains("field `a`: probe a failed to close"),
        "{message}"
    );
    script.heal();
    original.close()?;
    Ok(())
}

#[test]
fn close_goes_in_reverse_declaration_order() -> TestResult {
    let script = Script::new();
    Three::open(&script)?.close()?;
    assert_eq!(script.take(), ["close c#3", "close b#2", "close a#1"]);
    Ok(())
}

#[test]
fn close_goes_on_after_failures_and_reports_each() -> TestResult {
    let script = Script::new();
    let three = Three::open(&script)?;
    script.fail_close("a");
    script.fail_close("c");
    let err = three.close().expect_err("`a` and `c` must fail");
    assert_eq!(script.take(), ["close c#3", "close b#2", "close a#1"]);
    assert_eq!(err.type_name(), "Three");
    assert_eq!(err.variant(), None);
    let failed: Vec<_> = err.failures().iter().map(CloseFailure::field).collect();
    assert_eq!(failed, ["c", "a"]);
    for failure in err.failures() {
        assert_eq!(probe_error(failure.error()).probe, failure.field());
    }
    assert_eq!(
        err.to_string(),
        "cannot close `Three`: field `c`: probe c failed to close; field `a`: probe a failed to close"
    );
    assert!(err.source().is_none());
    Ok(())
}

#[derive(Rebuild)]
enum Link {
    Offline,
    Pair {
        #[config]
        script: Arc<Script>,
        #[resource(factory = Probe("a"), from = script)]
        a: Handle,
        #[resource(factory = Probe("b"), from = script)]
        b: Handle,
    },
    Single(
        #[config] Arc<Script>,
        #[resource(factory = Probe("single"), from = 0)] Handle,
    ),
}

#[test]
fn enum_errors_name_the_variant() -> TestResult {
    let script = Script::new();
    let pair = Link::Pair {
        a: Probe("a").open(&script)?,
        b: Probe("b").open(&script)?,
        script: Arc::clone(&script),
    };
    script.take();
    script.fail_open("b");
    let err = pair.rebuild().err().expect("`b` must fail");
    assert_eq!(
        script.take(),
        ["reopen a#1 -> a#3", "reopen b#2 -> failed", "close a#3"]
    );
    assert_eq!(
        (err.type_name(), err.variant(), err.field()),
        ("Link", Some("Pair"), "b")
    );
    assert_eq!(
        err.to_string(),
        "cannot rebuild `Link::Pair`: resource field `b` failed to open"
    );

    script.fail_close("a");
    let err = pair.close().expect_err("`a` must fail to close");
    assert_eq!(script.take(), ["close b#2", "close a#1"]);
    assert_eq!(err.variant(), Some("Pair"));
    assert_eq!(
        err.to_string(),
        "cannot close `Link::Pair`: field `a`: probe a failed to close"
    );
    Ok(())
}

#[test]
fn enum_tuple_variant_fields_are_named_by_index() -> TestResult {
    let script = Script::new();
    let single = Link::Single(Arc::clone(&script), Probe("single").open(&script)?);
    script.take();

    let copy = single.rebuild()?;
    assert!(matches!(&copy, Link::Single(_, handle) if handle.id == 2));
    copy.close()?;
    assert_eq!(
        script.take(),
        ["reopen single#1 -> single#2", "close single#2"]
    );

    script.fail_open("single");
    let err = single.rebuild().err().expect("`single` must fail");
    assert_eq!((err.variant(), err.field()), (Some("Single"), "1"));
    script.fail_close("single");
    let err = single.close().expect_err("`single` must fail to close");
    assert_eq!(err.failures()[0].field(), "1");
    assert_eq!(err.variant(), Some("Single"));
    Ok(())
}

#[test]
fn enum_variant_without_resources() -> TestResult {
    let copy = Link::Offline.rebuild()?;
    assert!(matches!(copy, Link::Offline));
    copy.close()?;
    Ok(())
}
