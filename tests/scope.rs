//! `scope` and `Guard` on real files: the value is closed on every path (the body's
//! success, its error, a panic), the body's error and the close's error both reach the
//! caller, and a guard dropped without `close` closes anyway and hands a failure to
//! the close-error hook.
//!
//! A close failure is real: a buffered writer on `/dev/full` with bytes pending fails
//! to flush (`ENOSPC`). Every test counts descriptors or sets the process-wide hook,
//! so every test holds `alone()`.

use std::error::Error;
use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use guardian_core::fs::{AbsolutePath, AppendFile, Buffered, FileError};
use guardian_core::{
    CloseError, Factory, Guard, Rebuild, ScopeError, scope, set_close_error_hook,
    take_close_error_hook,
};
use guardian_suite::{TempDir, TestResult, alone, open_fd_count};

/// A buffered writer; on `/dev/full`, closing it fails to flush.
#[derive(Rebuild)]
struct Sink {
    #[config]
    path: AbsolutePath,
    #[resource(factory = Buffered::new(AppendFile), from = path)]
    out: BufWriter<File>,
}

impl Sink {
    fn open(path: &Path) -> io::Result<Self> {
        let path = AbsolutePath::new(path)?;
        Ok(Sink {
            out: Buffered::new(AppendFile).open(&path)?,
            path,
        })
    }
}

/// Two levels: a report with a journal and its sinks.
#[derive(Rebuild)]
struct Report {
    #[nested]
    journal: Sink,
    #[nested]
    sinks: Vec<Sink>,
}

impl Report {
    /// A report on real files in `dir`, with `full` sinks on `/dev/full` after them.
    fn open(dir: &Path, full: usize) -> io::Result<Self> {
        let mut sinks = vec![Sink::open(&dir.join("sink0"))?];
        for _ in 0..full {
            sinks.push(Sink::open(Path::new("/dev/full"))?);
        }
        Ok(Report {
            journal: Sink::open(&dir.join("journal"))?,
            sinks,
        })
    }

    /// Writes a line everywhere (buffered: written when closed).
    fn record(&mut self, line: &str) -> io::Result<()> {
        writeln!(self.journal.out, "{line}")?;
        for sink in &mut self.sinks {
            writeln!(sink.out, "{line}")?;
        }
        Ok(())
    }
}

/// The body's own error, with a cause, to see the chain kept whole.
#[derive(Debug)]
struct Refused(io::Error);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the report was refused")
    }
}

impl Error for Refused {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.0)
    }
}

fn refused() -> Refused {
    Refused(io::Error::other("quota exceeded"))
}

fn paths(err: &CloseError) -> Vec<String> {
    err.failures()
        .iter()
        .map(|f| f.path().to_string())
        .collect()
}

fn is_storage_full(err: &CloseError) -> bool {
    err.failures().iter().all(|failure| {
        failure
            .error()
            .downcast_ref::<FileError>()
            .is_some_and(|e| e.kind() == io::ErrorKind::StorageFull)
    })
}

/// What the test's hook heard: each error's failed paths, and whether it was during
/// a panic.
type Heard = Arc<Mutex<Vec<(Vec<String>, bool)>>>;

/// Sets a hook that records what it hears.
fn listen() -> Heard {
    let heard: Heard = Arc::default();
    let sink = Arc::clone(&heard);
    set_close_error_hook(Box::new(move |error| {
        sink.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((paths(error), std::thread::panicking()));
    }));
    heard
}

fn heard(heard: &Heard) -> Vec<(Vec<String>, bool)> {
    std::mem::take(&mut *heard.lock().unwrap_or_else(PoisonError::into_inner))
}

#[test]
fn scope_returns_the_bodys_value_and_closes_the_value() -> TestResult {
    let _alone = alone();
    let dir = TempDir::new("scope-ok")?;
    let before = open_fd_count()?;
    let report = Report::open(dir.path(), 0)?;
    assert_eq!(open_fd_count()?, before + 2);

    let lines = scope(report, |report| {
        report.record("total: 3")?;
        Ok::<_, io::Error>(1)
    })?;
    assert_eq!(lines, 1);
    assert_eq!(open_fd_count()?, before);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("journal"))?,
        "total: 3\n"
    );
    Ok(())
}

#[test]
fn the_bodys_error_and_the_close_error_both_reach_the_caller() -> TestResult {
    let _alone = alone();
    let dir = TempDir::new("scope-both")?;
    let before = open_fd_count()?;
    let report = Report::open(dir.path(), 2)?;

    let err = scope(report, |report| {
        report.record("total: 3").map_err(Refused)?;
        Err::<(), _>(refused())
    })
    .err()
    .ok_or("both fail")?;
    assert_eq!(open_fd_count()?, before, "closed although the body failed");

    let body = err.body_error().ok_or("the body's error is kept")?;
    assert_eq!(body.0.to_string(), "quota exceeded");
    let close = err.close_error().ok_or("the close's error is kept")?;
    assert_eq!(paths(close), ["sinks[2].out", "sinks[1].out"]);
    assert!(is_storage_full(close));
    assert!(matches!(err, ScopeError::Both { .. }));

    // An aggregate: both, each with its whole chain, and no single source.
    let text = err.to_string();
    assert!(
        text.starts_with(
            "the scope's body failed, and so did closing its value: the report was refused: \
             quota exceeded; cannot close `Report`: field `sinks[2].out`: cannot flush"
        ),
        "{text}"
    );
    assert!(err.source().is_none());
    let (body, close) = err.into_parts();
    assert!(body.is_some() && close.is_some());
    Ok(())
}

#[test]
fn one_failure_alone_is_transparent() -> TestResult {
    let _alone = alone();
    let dir = TempDir::new("scope-one")?;
    let before = open_fd_count()?;

    // The body's error alone: its message, its cause.
    let err = scope(Report::open(dir.path(), 0)?, |_| Err::<(), _>(refused()))
        .err()
        .ok_or("the body fails")?;
    assert!(matches!(err, ScopeError::Body(_)));
    assert_eq!(err.to_string(), "the report was refused");
    assert_eq!(
        err.source().map(ToString::to_string).as_deref(),
        Some("quota exceeded")
    );
    assert!(err.close_error().is_none());
    assert_eq!(open_fd_count()?, before);

    // The close's error alone: the body's result is dropped, the error is the close's.
    let err = scope(Report::open(dir.path(), 1)?, |report| {
        report.record("lost")?;
        Ok::<_, io::Error>("a result resting on lost data")
    })
    .err()
    .ok_or("closing fails")?;
    let close = err.close_error().ok_or("a close error")?;
    assert_eq!(err.to_string(), close.to_string());
    assert!(
        err.to_string()
            .starts_with("cannot close `Report`: field `sinks[1].out`: ")
    );
    assert!(err.source().is_none());
    assert!(err.into_body_error().is_none());
    assert_eq!(open_fd_count()?, before);
    Ok(())
}

#[test]
fn a_panic_in_the_body_still_closes_and_the_hook_hears_the_failure() -> TestResult {
    let _alone = alone();
    let dir = TempDir::new("scope-panic")?;
    let before = open_fd_count()?;
    let listening = listen();

    let report = Report::open(dir.path(), 1)?;
    let unwound = catch_unwind(AssertUnwindSafe(|| {
        scope(report, |report| -> io::Result<()> {
            report.record("before the panic")?;
            panic!("the body panics");
        })
    }));
    let _ = take_close_error_hook();
    assert!(unwound.is_err(), "the panic goes on");
    assert_eq!(open_fd_count()?, before, "closed on the way out");
    assert_eq!(
        heard(&listening),
        [(vec!["sinks[1].out".to_owned()], true)],
        "the hook heard the close failure, during the panic"
    );
    // The real file's line was flushed by the close.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("journal"))?,
        "before the panic\n"
    );
    Ok(())
}

#[test]
fn a_guard_closes_explicitly_and_returns_the_error() -> TestResult {
    let _alone = alone();
    let dir = TempDir::new("guard-close")?;
    let before = open_fd_count()?;
    let listening = listen();

    let mut guard = Guard::new(Report::open(dir.path(), 1)?);
    guard.record("through DerefMut")?;
    assert_eq!(guard.sinks.len(), 2, "through Deref");
    let err = guard.close().err().ok_or("sinks[1] fails")?;
    assert_eq!(paths(&err), ["sinks[1].out"]);
    assert_eq!(open_fd_count()?, before);
    let _ = take_close_error_hook();
    assert!(
        heard(&listening).is_empty(),
        "an explicit close reports to the caller only"
    );
    Ok(())
}

/// Work that gives up with `?`-style early return: the guard is dropped.
fn give_up_early(dir: &Path) -> io::Result<()> {
    let mut guard = Guard::new(Report::open(dir, 2)?);
    guard.record("pending")?;
    Err(io::Error::other("gave up"))
}

#[test]
fn a_dropped_guard_closes_and_hands_a_failure_to_the_hook() -> TestResult {
    let _alone = alone();
    let dir = TempDir::new("guard-drop")?;
    let before = open_fd_count()?;
    let listening = listen();

    assert!(give_up_early(dir.path()).is_err());
    assert_eq!(open_fd_count()?, before, "closed when dropped");
    assert_eq!(
        heard(&listening),
        [(
            vec!["sinks[2].out".to_owned(), "sinks[1].out".to_owned()],
            false
        )]
    );

    // A value that closes cleanly calls no hook.
    drop(Guard::new(Report::open(dir.path(), 0)?));
    assert!(heard(&listening).is_empty());
    assert_eq!(open_fd_count()?, before);

    // `take_close_error_hook` hands our hook back (it still records) and puts the
    // default back.
    let ours = take_close_error_hook();
    ours(&CloseError::new("Report"));
    assert_eq!(heard(&listening), [(Vec::new(), false)]);
    Ok(())
}

#[test]
fn into_inner_disarms_the_guard() -> TestResult {
    let _alone = alone();
    let dir = TempDir::new("guard-inner")?;
    let before = open_fd_count()?;
    let listening = listen();

    let mut guard = Guard::new(Report::open(dir.path(), 1)?);
    guard.record("pending")?;
    let report = guard.into_inner();
    assert_eq!(open_fd_count()?, before + 3, "not closed");
    assert!(heard(&listening).is_empty());
    let err = report.close().err().ok_or("sinks[1] fails")?;
    assert_eq!(paths(&err), ["sinks[1].out"]);
    assert_eq!(open_fd_count()?, before);
    let _ = take_close_error_hook();
    assert!(heard(&listening).is_empty());
    Ok(())
}

/// With feature `tracing`, the default hook emits an error event that a subscriber
/// sees (and, with none, writes the line to stderr: `tests/close_hook.rs`).
#[cfg(feature = "tracing")]
mod events {
    use super::{Guard, Report, TempDir, TestResult, alone, take_close_error_hook};
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex, PoisonError};
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Level, Metadata, Subscriber};

    /// An event: level, target and fields.
    type Seen = (Level, String, BTreeMap<String, String>);

    /// A subscriber that keeps every event.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<Seen>>>);

    struct Fields<'a>(&'a mut BTreeMap<String, String>);

    impl Visit for Fields<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.0.insert(field.name().to_owned(), format!("{value:?}"));
        }
        fn record_str(&mut self, field: &Field, value: &str) {
            self.0.insert(field.name().to_owned(), value.to_owned());
        }
    }

    impl Subscriber for Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut fields = BTreeMap::new();
            event.record(&mut Fields(&mut fields));
            let meta = event.metadata();
            self.0.lock().unwrap_or_else(PoisonError::into_inner).push((
                *meta.level(),
                meta.target().to_owned(),
                fields,
            ));
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    #[test]
    fn the_default_hook_emits_an_error_event() -> TestResult {
        let _alone = alone();
        let dir = TempDir::new("guard-tracing")?;
        let _ = take_close_error_hook(); // the default
        let capture = Capture::default();
        tracing::subscriber::with_default(capture.clone(), || -> TestResult {
            let mut guard = Guard::new(Report::open(dir.path(), 1)?);
            guard.record("pending")?;
            drop(guard);
            Ok(())
        })?;
        let seen = std::mem::take(&mut *capture.0.lock().unwrap_or_else(PoisonError::into_inner));
        assert_eq!(seen.len(), 1, "{seen:?}");
        let (level, target, fields) = &seen[0];
        assert_eq!(*level, Level::ERROR);
        assert_eq!(target, "guardian_core");
        assert_eq!(fields["type_name"], "Report");
        assert_eq!(fields["failures"], "1");
        assert!(
            fields["error"].starts_with("cannot close `Report`: field `sinks[1].out`: "),
            "{fields:?}"
        );
        assert_eq!(
            fields["message"],
            "a value was dropped without close(), and closing it failed"
        );
        Ok(())
    }
}
