//! The file factories of `guardian_core::fs` against the real file system: separate
//! descriptors and cursors, appends from both handles, the exclusive lock, errors that
//! name the path, `/dev/full` failures out of `close()`, a changed working directory,
//! descriptor leaks, rebuilds from several threads at once, and a FIFO named by a
//! trusted recipe.

use std::error::Error as _;
use std::fs::File;
use std::io::{BufWriter, ErrorKind, Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use guardian_core::fs::{
    AbsolutePath, AppendFile, Buffered, ExclusiveFile, FileError, FileOp, ReadFile, ResumeReadFile,
};
use guardian_core::{Factory, Rebuild};
use guardian_suite::{
    TempDir, TestResult, alone, factory_error, mkfifo, open_fd_count, rebuild_error, shared, within,
};

/// Records each appending handle writes in the concurrent append test.
const RECORDS: usize = 500;

#[derive(Rebuild)]
struct Reader {
    #[config]
    path: AbsolutePath,
    #[resource(factory = ReadFile, from = path)]
    file: File,
}

#[derive(Rebuild)]
struct Resumer {
    #[config]
    path: AbsolutePath,
    #[resource(factory = ResumeReadFile, from = path)]
    file: File,
}

#[derive(Rebuild)]
struct Journal {
    #[config]
    path: AbsolutePath,
    #[resource(factory = AppendFile, from = path)]
    log: File,
}

#[derive(Rebuild)]
struct Writer {
    #[config]
    path: AbsolutePath,
    #[resource(factory = ExclusiveFile, from = path)]
    file: File,
}

#[derive(Rebuild)]
struct Sink {
    #[config]
    path: AbsolutePath,
    #[resource(factory = Buffered::new(AppendFile), from = path)]
    out: BufWriter<File>,
}

#[derive(Rebuild)]
struct LockedSink {
    #[config]
    path: AbsolutePath,
    #[resource(factory = Buffered::new(ExclusiveFile), from = path)]
    out: BufWriter<File>,
}

fn file_with(dir: &TempDir, name: &str, contents: &str) -> TestResult<AbsolutePath> {
    let path = dir.path().join(name);
    std::fs::write(&path, contents)?;
    Ok(AbsolutePath::new(path)?)
}

fn read_n(file: &mut File, n: usize) -> std::io::Result<String> {
    let mut buf = vec![0; n];
    file.read_exact(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

#[test]
fn read_rebuild_has_its_own_descriptor_and_cursor() -> TestResult {
    let _guard = shared();
    let dir = TempDir::new("fs-read")?;
    let path = file_with(&dir, "digits.txt", "0123456789")?;
    let mut original = Reader {
        file: ReadFile.open(&path)?,
        path,
    };
    assert_eq!(read_n(&mut original.file, 4)?, "0123");

    let mut copy = original.rebuild()?;
    assert_ne!(original.file.as_raw_fd(), copy.file.as_raw_fd());
    assert_eq!(copy.path, original.path);
    // The copy starts at the beginning, not where the original is.
    assert_eq!(read_n(&mut copy.file, 3)?, "012");
    // Reading the copy did not move the original, and the other way round.
    assert_eq!(read_n(&mut original.file, 3)?, "456");
    assert_eq!(read_n(&mut copy.file, 3)?, "345");
    assert_eq!(original.file.stream_position()?, 7);
    assert_eq!(copy.file.stream_position()?, 6);

    copy.close()?;
    original.close()?;
    Ok(())
}

#[test]
fn resume_rebuild_continues_at_the_live_position_then_moves_on_its_own() -> TestResult {
    let _guard = shared();
    let dir = TempDir::new("fs-resume")?;
    let path = file_with(&dir, "digits.txt", "0123456789")?;
    let mut original = Resumer {
        file: ResumeReadFile.open(&path)?,
        path,
    };
    assert_eq!(read_n(&mut original.file, 4)?, "0123");

    let mut copy = original.rebuild()?;
    assert_ne!(original.file.as_raw_fd(), copy.file.as_raw_fd());
    assert_eq!(copy.file.stream_position()?, 4);
    assert_eq!(read_n(&mut copy.file, 3)?, "456");
    // Independent from then on: the original is still at 4.
    assert_eq!(read_n(&mut original.file, 2)?, "45");
    assert_eq!(read_n(&mut copy.file, 3)?, "789");
    assert_eq!(read_n(&mut original.file, 1)?, "6");

    // A rebuild of the copy at the end of the file reads end-of-file.
    let mut at_end = copy.rebuild()?;
    let mut rest = String::new();
    at_end.file.read_to_string(&mut rest)?;
    assert_eq!(rest, "");

    at_end.close()?;
    copy.close()?;
    original.close()?;
    Ok(())
}

#[test]
fn resume_on_a_pipe_reports_the_position_error() -> TestResult {
    // Alone: spawning `mkfifo` copies this process's descriptor table into the child,
    // which holds every descriptor (and so every exclusive lock another test holds)
    // until it execs; a test that closes its writer and reopens the file in that
    // window would see the lock still held.
    let _guard = alone();
    let dir = TempDir::new("fs-fifo")?;
    let fifo = dir.path().join("pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status()?;
    assert!(made.success(), "mkfifo failed");
    // Open the write end first (read-write does not block on Linux), so opening the
    // read end does not wait for a writer.
    let _writer = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)?;
    let path = AbsolutePath::new(&fifo)?;
    let original = Resumer {
        file: ResumeReadFile.open(&path)?,
        path,
    };

    let err = rebuild_error(&original);
    assert_eq!(err.field(), "file");
    let cause = factory_error::<FileError>(&err);
    assert_eq!(cause.op(), FileOp::Position);
    assert_eq!(cause.path(), Some(fifo.as_path()));
    assert!(
        cause.to_string().contains(&fifo.display().to_string()),
        "{cause}"
    );
    original.close()?;
    Ok(())
}

#[test]
fn append_rebuild_writes_from_both_handles_all_land_whole() -> TestResult {
    let _guard = shared();
    let dir = TempDir::new("fs-append")?;
    let path = file_with(&dir, "match.log", "kept from before\n")?;
    let original = Journal {
        log: AppendFile.open(&path)?,
        path,
    };
    let copy = original.rebuild()?;
    assert_ne!(original.log.as_raw_fd(), copy.log.as_raw_fd());

    // Both handles append at once, from two threads: every record lands whole.
    std::thread::scope(|scope| {
        for (name, journal) in [("original", &original), ("copy", &copy)] {
            scope.spawn(move || {
                let mut log = &journal.log;
                for i in 0..RECORDS {
                    log.write_all(
                        format!("{name} record {i:04} ........................\n").as_bytes(),
                    )
                    .expect("append");
                }
            });
        }
    });
    copy.close()?;
    let path = original.path.clone();
    original.close()?;

    let text = std::fs::read_to_string(&path)?;
    let mut lines = text.lines();
    // A reopen never truncates.
    assert_eq!(lines.next(), Some("kept from before"));
    let mut seen = std::collections::HashSet::new();
    for line in lines {
        assert!(
            line.ends_with(" ........................"),
            "torn record: {line:?}"
        );
        assert!(seen.insert(line.to_owned()), "duplicate record: {line:?}");
    }
    for name in ["original", "copy"] {
        for i in 0..RECORDS {
            let line = format!("{name} record {i:04} ........................");
            assert!(seen.contains(&line), "missing: {line}");
        }
    }
    assert_eq!(seen.len(), 2 * RECORDS);
    Ok(())
}

#[test]
fn a_rebuild_opens_what_the_path_names_now() -> TestResult {
    let _guard = shared();
    let dir = TempDir::new("fs-moved")?;
    let path = file_with(&dir, "current.log", "")?;
    let mut original = Journal {
        log: AppendFile.open(&path)?,
        path,
    };
    let moved = dir.path().join("rotated.log");
    std::fs::rename(&*original.path, &moved)?;

    // The copy gets a new file at the recorded path; the original keeps the old one.
    let mut copy = original.rebuild()?;
    original.log.write_all(b"old\n")?;
    copy.log.write_all(b"new\n")?;
    copy.close()?;
    let path = original.path.clone();
    original.close()?;
    assert_eq!(std::fs::read_to_string(&moved)?, "old\n");
    assert_eq!(std::fs::read_to_string(&path)?, "new\n");

    // A reader whose file is gone fails to rebuild, naming the field and the path.
    let reader = Reader {
        file: ReadFile.open(&path)?,
        path: path.clone(),
    };
    std::fs::remove_file(&path)?;
    let err = rebuild_error(&reader);
    assert_eq!(err.field(), "file");
    let cause = factory_error::<FileError>(&err);
    assert_eq!(cause.op(), FileOp::OpenRead);
    assert_eq!(cause.kind(), ErrorKind::NotFound);
    assert_eq!(cause.path(), Some(path.as_path()));
    reader.close()?;
    Ok(())
}

#[test]
fn exclusive_writer_refuses_a_second_holder_and_names_the_path() -> TestResult {
    let _guard = shared();
    let dir = TempDir::new("fs-exclusive")?;
    let path = file_with(&dir, "state.bin", "previous state")?;
    let mut original = Writer {
        file: ExclusiveFile.open(&path)?,
        path: path.clone(),
    };
    // Opening never truncates.
    assert_eq!(std::fs::read_to_string(&path)?, "previous state");

    let err = rebuild_error(&original);
    assert_eq!(err.field(), "file");
    let cause = factory_error::<FileError>(&err);
    assert!(cause.is_held_by_another_handle());
    assert_eq!(cause.op(), FileOp::Lock);
    assert_eq!(cause.kind(), ErrorKind::WouldBlock);
    assert_eq!(cause.path(), Some(path.as_path()));
    // A refusal of guardian's own: the reason is in the message, and no OS error is
    // its source.
    let message = cause.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("held by another handle"), "{message}");
    assert!(cause.source().is_none());

    // Not just rebuilds: any second handle through the factory is refused.
    let second = ExclusiveFile
        .open(&path)
        .expect_err("a second exclusive writer");
    assert!(second.is_held_by_another_handle());

    // The refused rebuild did not disturb the live writer.
    original.file.write_all(b"PREVIOUS")?;
    original.close()?;
    assert_eq!(std::fs::read_to_string(&path)?, "PREVIOUS state");

    // Closing released the lock.
    let next = Writer {
        file: ExclusiveFile.open(&path)?,
        path,
    };
    next.close()?;
    Ok(())
}

#[test]
fn buffered_exclusive_writer_is_refused_too() -> TestResult {
    let _guard = shared();
    let dir = TempDir::new("fs-buffered-exclusive")?;
    let path = AbsolutePath::new(dir.path().join("state.bin"))?;
    let mut original = LockedSink {
        out: Buffered::new(ExclusiveFile).open(&path)?,
        path: path.clone(),
    };
    original.out.write_all(b"buffered")?;
    let err = rebuild_error(&original);
    assert!(factory_error::<FileError>(&err).is_held_by_another_handle());
    original.close()?; // flushes, syncs, unlocks
    assert_eq!(std::fs::read_to_string(&path)?, "buffered");
    Ok(())
}

#[test]
fn buffered_copy_starts_with_an_empty_buffer_and_both_flush_on_close() -> TestResult {
    let _guard = shared();
    let dir = TempDir::new("fs-buffered")?;
    let path = AbsolutePath::new(dir.path().join("out.txt"))?;
    let mut original = Sink {
        out: Buffered::new(AppendFile).open(&path)?,
        path: path.clone(),
    };
    original.out.write_all(b"from the original\n")?; // still in the buffer
    let mut copy = original.rebuild()?;
    assert!(copy.out.buffer().is_empty());
    assert_ne!(
        original.out.get_ref().as_raw_fd(),
        copy.out.get_ref().as_raw_fd()
    );
    copy.out.write_all(b"from the copy\n")?;
    assert_eq!(std::fs::read_to_string(&path)?, "");

    copy.close()?;
    assert_eq!(std::fs::read_to_string(&path)?, "from the copy\n");
    original.close()?;
    assert_eq!(
        std::fs::read_to_string(&path)?,
        "from the copy\nfrom the original\n"
    );
    Ok(())
}

#[test]
fn dev_full_flush_error_comes_out_of_close() -> TestResult {
    let _guard = shared();
    let path = AbsolutePath::new("/dev/full")?;
    let mut sink = Sink {
        out: Buffered::new(AppendFile).open(&path)?,
        path,
    };
    sink.out.write_all(b"a record that fits in the buffer")?;

    let err = sink.close().expect_err("flushing to /dev/full must fail");
    assert_eq!(err.type_name(), "Sink");
    assert_eq!(err.failures().len(), 1);
    let failure = &err.failures()[0];
    assert_eq!(failure.field(), "out");
    let cause = failure
        .error()
        .downcast_ref::<FileError>()
        .expect("a FileError");
    assert_eq!(cause.op(), FileOp::Flush);
    assert_eq!(cause.kind(), ErrorKind::StorageFull);
    assert_eq!(cause.path(), Some(Path::new("/dev/full")));
    // The OS's error is the cause, reachable through `source`.
    let os = cause
        .source()
        .and_then(|source| source.downcast_ref::<std::io::Error>())
        .expect("the io::Error is the source");
    assert_eq!(os.raw_os_error(), Some(28)); // ENOSPC
    // An aggregate has no single source: its message carries each failure's chain.
    assert!(err.source().is_none());
    let message = err.to_string();
    assert!(message.contains("field `out`"), "{message}");
    assert!(message.contains(&cause.to_string()), "{message}");
    assert!(message.contains(&os.to_string()), "{message}");
    Ok(())
}

#[test]
fn dev_full_unbuffered_write_fails_at_once_and_close_still_succeeds() -> TestResult {
    let _guard = shared();
    let path = AbsolutePath::new("/dev/full")?;
    let mut journal = Journal {
        log: AppendFile.open(&path)?,
        path,
    };
    let write = journal.log.write_all(b"x").expect_err("ENOSPC");
    assert_eq!(write.kind(), ErrorKind::StorageFull);
    // Nothing is pending, and syncing a character device (EINVAL) is not a failure.
    journal.close()?;
    Ok(())
}

#[test]
fn special_files_close_without_a_sync_error() -> TestResult {
    let _guard = shared();
    let path = AbsolutePath::new("/dev/null")?;
    let mut journal = Journal {
        log: AppendFile.open(&path)?,
        path: path.clone(),
    };
    journal.log.write_all(b"discarded")?;
    journal.close()?;

    let mut sink = Sink {
        out: Buffered::new(AppendFile).open(&path)?,
        path: path.clone(),
    };
    sink.out.write_all(b"discarded")?;
    sink.close()?;

    let writer = Writer {
        file: ExclusiveFile.open(&path)?,
        path,
    };
    writer.close()?;
    Ok(())
}

#[test]
fn a_trusted_recipe_may_name_a_fifo_and_its_writes_reach_the_reader() -> TestResult {
    let _guard = alone(); // spawns `mkfifo`
    let dir = TempDir::new("fs-fifo-append")?;
    let fifo = dir.path().join("pipe");
    mkfifo(&fifo)?;
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo))
    };

    // The plain factories leave a FIFO to the OS: the open waits for the reader, then
    // the writes reach it and closing skips the sync a FIFO refuses.
    let path = AbsolutePath::new(&fifo)?;
    let mut journal = Journal {
        log: AppendFile.open(&path)?,
        path,
    };
    journal.log.write_all(b"shipped\n")?;
    journal.close()?;
    let text = within(std::time::Duration::from_secs(5), move || reader.join())
        .ok_or("the reader is still waiting")?
        .map_err(|_| "the reader panicked")??;
    assert_eq!(text, "shipped\n");
    Ok(())
}

#[test]
fn open_errors_name_the_path_and_the_operation() -> TestResult {
    let _guard = shared();
    let dir = TempDir::new("fs-errors")?;
    let missing_dir = dir.path().join("no-such-dir");
    let path = AbsolutePath::new(missing_dir.join("file.txt"))?;
    let shown = path.display().to_string();

    let cases: [(Result<File, FileError>, FileOp); 4] = [
        (ReadFile.open(&path), FileOp::OpenRead),
        (ResumeReadFile.open(&path), FileOp::OpenRead),
        (AppendFile.open(&path), FileOp::OpenAppend),
        (ExclusiveFile.open(&path), FileOp::OpenWrite),
    ];
    for (result, op) in cases {
        let err = result.expect_err("the directory does not exist");
        assert_eq!(err.op(), op);
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(err.path(), Some(path.as_path()));
        // The message names the path; the OS's error is the source, not repeated.
        let message = err.to_string();
        let os = err
            .source()
            .and_then(|source| source.downcast_ref::<std::io::Error>())
            .expect("the io::Error is the source");
        assert_eq!(os.kind(), ErrorKind::NotFound);
        assert!(message.contains(&shown), "{message}");
        assert!(!message.contains(&os.to_string()), "{message}");
        // Usable where an io::Error is expected: the same kind, the same message, the
        // same chain, and the FileError inside.
        let io: std::io::Error = err.into();
        assert_eq!(io.kind(), ErrorKind::NotFound);
        assert_eq!(io.to_string(), message);
        let inner = io.get_ref().and_then(|e| e.downcast_ref::<FileError>());
        assert_eq!(inner.map(FileError::op), Some(op));
        let cause = io
            .source()
            .and_then(|source| source.downcast_ref::<std::io::Error>());
        assert_eq!(cause.map(std::io::Error::kind), Some(ErrorKind::NotFound));
    }

    let buffered = Buffered::new(AppendFile)
        .open(&path)
        .expect_err("missing dir");
    assert_eq!(buffered.op(), FileOp::OpenAppend);

    let empty = AbsolutePath::new("").expect_err("an empty path has no absolute form");
    assert_eq!(empty.op(), FileOp::Resolve);
    assert_eq!(empty.path(), Some(Path::new("")));
    assert!(empty.source().is_some());
    Ok(())
}

#[test]
fn absolute_path_is_made_absolute_once() -> TestResult {
    let _guard = shared();
    let relative = AbsolutePath::new("some/dir/../file.txt")?;
    assert!(relative.is_absolute());
    assert_eq!(
        *relative,
        std::env::current_dir()?.join("some/dir/../file.txt")
    );
    let absolute = AbsolutePath::new("/etc/hostname")?;
    assert_eq!(absolute.as_path(), Path::new("/etc/hostname"));
    Ok(())
}

/// Puts the working directory back when dropped, also when an assertion fails.
struct RestoreCwd(PathBuf);

impl Drop for RestoreCwd {
    fn drop(&mut self) {
        let _ = std::env::set_current_dir(&self.0);
    }
}

#[test]
fn a_changed_working_directory_does_not_change_what_a_rebuild_opens() -> TestResult {
    let _guard = alone();
    let _restore = RestoreCwd(std::env::current_dir()?);
    let first = TempDir::new("fs-cwd-first")?;
    let second = TempDir::new("fs-cwd-second")?;
    std::fs::write(first.path().join("data.txt"), "first")?;
    std::fs::write(second.path().join("data.txt"), "second")?;

    std::env::set_current_dir(first.path())?;
    let path = AbsolutePath::new("data.txt")?; // relative, pinned to `first` now
    let mut reader = Reader {
        file: ReadFile.open(&path)?,
        path: path.clone(),
    };
    let mut journal = Journal {
        log: AppendFile.open(&path)?,
        path,
    };

    std::env::set_current_dir(second.path())?;
    let mut reader_copy = reader.rebuild()?;
    let mut journal_copy = journal.rebuild()?;
    let mut text = String::new();
    reader_copy.file.read_to_string(&mut text)?;
    assert_eq!(text, "first");
    journal_copy.log.write_all(b" appended")?;
    journal.log.write_all(b" twice")?;

    reader_copy.close()?;
    journal_copy.close()?;
    journal.close()?;
    text.clear();
    reader.file.read_to_string(&mut text)?;
    assert_eq!(text, "first appended twice");
    reader.close()?;
    assert_eq!(
        std::fs::read_to_string(second.path().join("data.txt"))?,
        "second"
    );
    Ok(())
}

#[derive(Rebuild)]
struct Pair {
    #[config]
    input: AbsolutePath,
    #[config]
    output: AbsolutePath,
    #[resource(factory = ResumeReadFile, from = input)]
    reader: File,
    #[resource(factory = Buffered::new(AppendFile), from = input)]
    log: BufWriter<File>,
    #[resource(factory = ExclusiveFile, from = output)]
    writer: File,
}

#[test]
fn ten_thousand_failed_rebuilds_leak_no_descriptor() -> TestResult {
    let _guard = alone();
    let dir = TempDir::new("fs-leaks")?;
    let input = file_with(&dir, "input.txt", "some input")?;
    let output = AbsolutePath::new(dir.path().join("output.bin"))?;
    let pair = Pair {
        reader: ResumeReadFile.open(&input)?,
        log: Buffered::new(AppendFile).open(&input)?,
        writer: ExclusiveFile.open(&output)?,
        input,
        output,
    };

    let before = open_fd_count()?;
    for _ in 0..10_000 {
        // `reader` and `log` open, `writer` is refused: both are closed again.
        let err = rebuild_error(&pair);
        assert_eq!(err.field(), "writer");
        assert!(err.cleanup().is_none(), "{err}");
    }
    assert_eq!(open_fd_count()?, before);

    // Refused opens leak nothing either.
    for _ in 0..10_000 {
        let err = ExclusiveFile.open(&pair.output).expect_err("held");
        assert!(err.is_held_by_another_handle());
    }
    assert_eq!(open_fd_count()?, before);

    pair.close()?;
    assert_eq!(open_fd_count()?, before - 3);
    Ok(())
}

#[test]
fn rebuilds_from_eight_threads_at_once() -> TestResult {
    let _guard = shared();
    let dir = TempDir::new("fs-threads")?;
    let path = file_with(&dir, "shared.log", "0123456789")?;
    let mut resumer = Resumer {
        file: ResumeReadFile.open(&path)?,
        path: path.clone(),
    };
    assert_eq!(read_n(&mut resumer.file, 2)?, "01");
    let journal = Journal {
        log: AppendFile.open(&path)?,
        path,
    };

    let (continued, journals) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| (resumer.rebuild(), journal.rebuild())))
            .collect();
        let mut continued = Vec::new();
        let mut journals = Vec::new();
        for worker in workers {
            let (r, j) = worker.join().expect("no panic");
            continued.push(r);
            journals.push(j);
        }
        (continued, journals)
    });
    let mut continued = continued.into_iter().collect::<Result<Vec<_>, _>>()?;
    let mut journals = journals.into_iter().collect::<Result<Vec<_>, _>>()?;

    // Every copy has a descriptor of its own.
    let mut fds: Vec<_> = continued
        .iter()
        .map(|r| r.file.as_raw_fd())
        .chain(journals.iter().map(|j| j.log.as_raw_fd()))
        .chain([resumer.file.as_raw_fd(), journal.log.as_raw_fd()])
        .collect();
    fds.sort_unstable();
    fds.dedup();
    assert_eq!(fds.len(), 18);

    for copy in &mut continued {
        assert_eq!(read_n(&mut copy.file, 3)?, "234");
    }
    for (i, copy) in journals.iter_mut().enumerate() {
        copy.log.write_all(format!("\ncopy {i}").as_bytes())?;
    }
    for copy in journals {
        copy.close()?;
    }
    for copy in continued {
        copy.close()?;
    }
    let text = std::fs::read_to_string(&journal.path)?;
    for i in 0..8 {
        assert!(text.contains(&format!("\ncopy {i}")), "{text}");
    }
    assert_eq!(text.lines().count(), 9);
    journal.close()?;
    resumer.close()?;
    Ok(())
}
