//! Fixed-count loops for the repeatable measurements: `benches/callgrind.sh` counts
//! the instructions of one loop under callgrind, `benches/syscalls.sh` traces the
//! system calls between marker calls with strace.
//!
//! ```text
//! loops count <config8|one_file|three_resources|composed|async_three> <derived|hand> <N>
//! loops syscalls <N>
//! loops [--bench | --test ...]     (as `cargo bench` runs it: one quick check of each case)
//! ```
//!
//! `count` builds the value and a `Vec` with room for `N` copies first, then calls
//! [`measured`] (the only function callgrind counts, with everything it calls), which
//! pushes `N` rebuilds into the `Vec`; the copies are dropped after it returns, so the
//! count covers the `N` rebuilds and nothing else.
//!
//! `async_three` is an async rebuild (`#[rebuild(async)]`, three resources whose
//! futures are ready at once) against a hand-written `async fn` doing the same work
//! with `tokio::join!`; both run on a current-thread runtime built beforehand, and
//! [`measured_async`] awaits the `N` rebuilds inside one `block_on`.

mod common;

use std::hint::black_box;
use std::path::Path;

use async_three::AsyncThree;
use common::{Composed, Config8, OneFile, Scratch, ThreeResources};
use guardian_core::{AsyncRebuild, Rebuild, RebuildError};

/// The measured loop: `out.capacity()` rebuilds of `value` with `rebuild`, kept in `out`.
#[inline(never)]
fn measured<T, F>(value: &T, out: &mut Vec<T>, rebuild: F)
where
    F: Fn(&T) -> Result<T, RebuildError>,
{
    for _ in 0..out.capacity() {
        out.push(rebuild(black_box(value)).expect("rebuild"));
    }
}

/// The measured loop of an async rebuild: `out.capacity()` rebuilds of `value`,
/// awaited one after another inside one `block_on` of the current-thread runtime.
#[inline(never)]
fn measured_async<'v, T, F, Fut>(
    runtime: &tokio::runtime::Runtime,
    value: &'v T,
    out: &mut Vec<T>,
    rebuild: F,
) where
    F: Fn(&'v T) -> Fut,
    Fut: Future<Output = Result<T, RebuildError>>,
{
    runtime.block_on(async {
        for _ in 0..out.capacity() {
            out.push(rebuild(black_box(value)).await.expect("rebuild"));
        }
    });
}

/// `count` for [`AsyncThree`]: the derived `rebuild` or the hand-written one.
fn count_async(value: &AsyncThree, n: usize, derived: bool) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    let mut out = Vec::with_capacity(n);
    if derived {
        measured_async(&runtime, value, &mut out, AsyncThree::rebuild);
    } else {
        measured_async(&runtime, value, &mut out, async_three::hand_async_three);
    }
    assert_eq!(out.len(), n);
    runtime.block_on(async {
        for copy in out {
            copy.close().await.expect("close");
        }
    });
}

/// `hand` is a function item (not a pointer), so both loops are monomorphised the same
/// way and the compiler may inline either.
fn count<T, H>(value: &T, n: usize, derived: bool, hand: H)
where
    T: Rebuild,
    H: Fn(&T) -> Result<T, RebuildError>,
{
    let mut out = Vec::with_capacity(n);
    if derived {
        measured(value, &mut out, T::rebuild);
    } else {
        measured(value, &mut out, hand);
    }
    assert_eq!(out.len(), n);
    for copy in out {
        copy.close().expect("close");
    }
}

/// A system call strace shows with this name in it, and nothing else makes:
/// `statx` (or `stat`) of a path that does not exist.
fn marker(name: &str) {
    let _ = std::fs::metadata(Path::new("/guardian-bench-marker").join(name));
}

/// The phases `benches/syscalls.sh` counts, each between its `-begin` and `-end` marker.
fn syscalls(n: usize) {
    let scratch = Scratch::new("syscalls");
    let value = OneFile::open(scratch.path()).expect("open");
    // Warm up: the allocator gets its memory here, not inside a phase.
    for _ in 0..2 {
        let warm: Vec<OneFile> = (0..n).map(|_| value.rebuild().expect("rebuild")).collect();
        drop(warm);
    }
    let mut copies: Vec<OneFile> = Vec::with_capacity(n);
    // std probes `statx` support once, at its first failure: let that happen here.
    marker("warm-up");

    marker("rebuild-derived-begin");
    for _ in 0..n {
        copies.push(black_box(&value).rebuild().expect("rebuild"));
    }
    marker("rebuild-derived-end");

    marker("drop-begin");
    copies.clear();
    marker("drop-end");

    marker("rebuild-hand-begin");
    for _ in 0..n {
        copies.push(common::hand_one_file(black_box(&value)).expect("rebuild"));
    }
    marker("rebuild-hand-end");

    marker("close-begin");
    for copy in copies.drain(..) {
        copy.close().expect("close");
    }
    marker("close-end");

    value.close().expect("close");
}

fn run(case: &str, variant: &str, n: usize) {
    let derived = match variant {
        "derived" => true,
        "hand" => false,
        _ => panic!("variant: derived or hand, not {variant}"),
    };
    match case {
        "config8" => count(&Config8::sample(), n, derived, common::hand_config8),
        "one_file" => {
            let scratch = Scratch::new("count-one");
            let value = OneFile::open(scratch.path()).expect("open");
            count(&value, n, derived, common::hand_one_file);
            value.close().expect("close");
        }
        "three_resources" => {
            let scratch = Scratch::new("count-three");
            let value = ThreeResources::open(scratch.path()).expect("open");
            count(&value, n, derived, common::hand_three_resources);
            value.close().expect("close");
        }
        "composed" => {
            let scratch = Scratch::new("count-composed");
            let value = Composed::open(scratch.path()).expect("open");
            count(&value, n, derived, common::hand_composed);
            value.close().expect("close");
        }
        "async_three" => {
            let scratch = Scratch::new("count-async");
            let value = AsyncThree::open(scratch.path()).expect("open");
            count_async(&value, n, derived);
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a current-thread runtime");
            runtime.block_on(value.close()).expect("close");
        }
        _ => {
            panic!("case: config8, one_file, three_resources, composed or async_three, not {case}")
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["count", case, variant, n] => run(case, variant, n.parse().expect("N")),
        ["syscalls", n] => syscalls(n.parse().expect("N")),
        // `cargo bench` (`--bench`) and its quick check (`-- --test`): run every
        // case a few times, time nothing.
        _ => {
            for case in [
                "config8",
                "one_file",
                "three_resources",
                "composed",
                "async_three",
            ] {
                for variant in ["derived", "hand"] {
                    run(case, variant, 3);
                }
            }
            syscalls(3);
            println!(
                "loops: 10 cases and the syscall phases ran (counted by benches/callgrind.sh and benches/syscalls.sh)"
            );
        }
    }
}

/// The async case: a derived async type and the function a user would write by hand
/// to do the same work.
mod async_three {
    use std::fs::File;
    use std::path::Path;

    use guardian_core::fs::{AbsolutePath, AppendFile, FileError};
    use guardian_core::{CloseError, Factory, Rebuild, RebuildError};
    /// An async factory whose futures are ready at once: `AppendFile`'s open, in the
    /// first poll. It measures what the async glue costs around the same work as
    /// `ThreeResources` (not a factory to use in a service: it opens on the executor).
    #[derive(Clone, Copy)]
    pub struct ReadyAppend;

    impl guardian_core::AsyncFactory for ReadyAppend {
        type Config = AbsolutePath;
        type Resource = File;
        type Error = FileError;

        async fn open(&self, path: &AbsolutePath) -> Result<File, FileError> {
            AppendFile.open(path)
        }

        async fn close(&self, file: File) -> Result<(), FileError> {
            AppendFile.close(file)
        }
    }

    /// Three resources opened at once through ready futures.
    #[derive(Rebuild)]
    #[rebuild(async)]
    pub struct AsyncThree {
        #[config]
        a_path: AbsolutePath,
        #[config]
        b_path: AbsolutePath,
        #[config]
        c_path: AbsolutePath,
        #[config]
        name: String,
        #[resource(factory = ReadyAppend, from = a_path)]
        a: File,
        #[resource(factory = ReadyAppend, from = b_path)]
        b: File,
        #[resource(factory = ReadyAppend, from = c_path)]
        c: File,
    }

    impl AsyncThree {
        /// Opens `dir/async-a.log`, `dir/async-b.log` and `dir/async-c.log`.
        pub fn open(dir: &Path) -> Result<Self, FileError> {
            let a_path = AbsolutePath::new(dir.join("async-a.log"))?;
            let b_path = AbsolutePath::new(dir.join("async-b.log"))?;
            let c_path = AbsolutePath::new(dir.join("async-c.log"))?;
            Ok(Self {
                a: AppendFile.open(&a_path)?,
                b: AppendFile.open(&b_path)?,
                c: AppendFile.open(&c_path)?,
                a_path,
                b_path,
                c_path,
                name: "async".to_owned(),
            })
        }
    }

    /// The error of one failed open in a hand-written async rebuild: cold and out of line.
    #[cold]
    #[inline(never)]
    fn async_failed(field: &'static str, error: FileError) -> RebuildError {
        RebuildError::new("AsyncThree", field, error)
    }

    /// The rollback of a hand-written async rebuild: every failure, then what opened
    /// closed in reverse, its failures kept. Cold and out of line.
    #[cold]
    #[inline(never)]
    async fn async_rollback(
        a: Result<File, FileError>,
        b: Result<File, FileError>,
        c: Result<File, FileError>,
    ) -> RebuildError {
        let mut error: Option<RebuildError> = None;
        let mut opened = Vec::new();
        for (field, result) in [("a", a), ("b", b), ("c", c)] {
            match result {
                Ok(file) => opened.push((field, file)),
                Err(cause) => {
                    let failed = async_failed(field, cause);
                    error = Some(match error {
                        Some(error) => error.and(failed),
                        None => failed,
                    });
                }
            }
        }
        let mut cleanup = CloseError::new("AsyncThree");
        for (field, file) in opened.into_iter().rev() {
            if let Err(close) = guardian_core::AsyncFactory::close(&ReadyAppend, file).await {
                cleanup.push(field, close);
            }
        }
        match error {
            Some(error) => error.with_cleanup(cleanup),
            None => RebuildError::new("AsyncThree", "", std::io::Error::other("no failure")),
        }
    }

    /// What `AsyncThree::rebuild` does, written by hand: the three reopens at once
    /// (`tokio::join!`), and on a failure every failure reported after closing what
    /// opened, in reverse.
    #[inline]
    pub async fn hand_async_three(value: &AsyncThree) -> Result<AsyncThree, RebuildError> {
        use guardian_core::AsyncFactory as _;
        let (a, b, c) = tokio::join!(
            ReadyAppend.reopen(&value.a_path, &value.a),
            ReadyAppend.reopen(&value.b_path, &value.b),
            ReadyAppend.reopen(&value.c_path, &value.c),
        );
        match (a, b, c) {
            (Ok(a), Ok(b), Ok(c)) => Ok(AsyncThree {
                a_path: value.a_path.clone(),
                b_path: value.b_path.clone(),
                c_path: value.c_path.clone(),
                name: value.name.clone(),
                a,
                b,
                c,
            }),
            (a, b, c) => Err(async_rollback(a, b, c).await),
        }
    }
}
