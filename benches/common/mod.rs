//! The measured types, each with `#[derive(Rebuild)]`, and beside each the function a
//! user would write by hand to do the same work: clone the config fields, reopen the
//! resources through the same factory in the same order, and on a failure close the
//! ones already opened (in reverse) and report the field, as the derive does.
//!
//! The hand-written functions take the *same* derived type, so both sides build the
//! same layout and differ only in the code that builds it. They are `#[inline]`, as the
//! derived methods are (without it, LLVM kept `hand_config8` out of line and returned
//! its 200-byte result through an extra copy: 1.3% more instructions than the derive).

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use guardian_core::fs::{AbsolutePath, AppendFile, Buffered, FileError, ReadFile};
use guardian_core::{CloseError, Factory, PathSegment, Rebuild, RebuildError};

/// Eight config fields of the types a config struct usually holds.
#[derive(Rebuild)]
pub struct Config8 {
    #[config]
    name: String,
    #[config]
    id: u64,
    #[config]
    tags: Vec<String>,
    #[config]
    note: Option<String>,
    #[config]
    root: PathBuf,
    #[config]
    limits: HashMap<String, u32>,
    #[config]
    verbose: bool,
    #[config]
    blob: Vec<u8>,
}

impl Config8 {
    /// A value with every field filled (heap data in every heap-owning field).
    #[must_use]
    pub fn sample() -> Self {
        Self {
            name: "tournament-42".to_owned(),
            id: 42,
            tags: vec!["blitz".to_owned(), "rated".to_owned(), "open".to_owned()],
            note: Some("round robin, 9 rounds".to_owned()),
            root: PathBuf::from("/var/lib/guardian/tournaments/42"),
            limits: [("moves", 200), ("clock", 300), ("players", 10)]
                .into_iter()
                .map(|(key, value)| (key.to_owned(), value))
                .collect(),
            verbose: true,
            blob: vec![7; 64],
        }
    }
}

/// What `Config8::rebuild` does, written by hand.
#[expect(
    clippy::unnecessary_wraps,
    reason = "the signature of `Rebuild::rebuild`, which the derive has even without resources"
)]
#[inline]
pub fn hand_config8(value: &Config8) -> Result<Config8, RebuildError> {
    Ok(Config8 {
        name: value.name.clone(),
        id: value.id,
        tags: value.tags.clone(),
        note: value.note.clone(),
        root: value.root.clone(),
        limits: value.limits.clone(),
        verbose: value.verbose,
        blob: value.blob.clone(),
    })
}

/// One file resource (the built-in `AppendFile`) beside two config fields.
#[derive(Rebuild)]
pub struct OneFile {
    #[config]
    path: AbsolutePath,
    #[config]
    name: String,
    #[resource(factory = AppendFile, from = path)]
    log: File,
}

impl OneFile {
    /// Opens `dir/one.log`.
    pub fn open(dir: &Path) -> Result<Self, FileError> {
        let path = AbsolutePath::new(dir.join("one.log"))?;
        Ok(Self {
            log: AppendFile.open(&path)?,
            path,
            name: "journal".to_owned(),
        })
    }
}

/// What `OneFile::rebuild` does, written by hand.
#[inline]
pub fn hand_one_file(value: &OneFile) -> Result<OneFile, RebuildError> {
    let log = match AppendFile.reopen(&value.path, &value.log) {
        Ok(log) => log,
        Err(error) => return Err(RebuildError::new("OneFile", "log", error)),
    };
    Ok(OneFile {
        path: value.path.clone(),
        name: value.name.clone(),
        log,
    })
}

/// Three resources of three factories (appending, reading, buffered appending).
#[derive(Rebuild)]
pub struct ThreeResources {
    #[config]
    log_path: AbsolutePath,
    #[config]
    input_path: AbsolutePath,
    #[config]
    out_path: AbsolutePath,
    #[config]
    name: String,
    #[resource(factory = AppendFile, from = log_path)]
    log: File,
    #[resource(factory = ReadFile, from = input_path)]
    input: File,
    #[resource(factory = Buffered::new(AppendFile), from = out_path)]
    out: BufWriter<File>,
}

impl ThreeResources {
    /// Opens `dir/three.log`, `dir/three.in` and `dir/three.out`.
    pub fn open(dir: &Path) -> Result<Self, FileError> {
        let log_path = AbsolutePath::new(dir.join("three.log"))?;
        let input_path = AbsolutePath::new(dir.join("three.in"))?;
        let out_path = AbsolutePath::new(dir.join("three.out"))?;
        // The input must exist before `ReadFile` can open it.
        AppendFile.close(AppendFile.open(&input_path)?)?;
        Ok(Self {
            log: AppendFile.open(&log_path)?,
            input: ReadFile.open(&input_path)?,
            out: Buffered::new(AppendFile).open(&out_path)?,
            log_path,
            input_path,
            out_path,
            name: "three".to_owned(),
        })
    }
}

/// The error of a hand-written rebuild whose `field` failed, after the rollback
/// recorded in `cleanup`: cold and out of line, as a careful hand-writer would keep it.
#[cold]
#[inline(never)]
fn failed(cleanup: CloseError, field: &'static str, error: FileError) -> RebuildError {
    let err = RebuildError::new("ThreeResources", field, error);
    if cleanup.failures().is_empty() {
        err
    } else {
        err.with_cleanup(cleanup)
    }
}

/// What `ThreeResources::rebuild` does, written by hand: reopen in declaration order,
/// and on a failure close what was opened, in reverse, recording every close failure.
#[inline]
pub fn hand_three_resources(value: &ThreeResources) -> Result<ThreeResources, RebuildError> {
    let log = match AppendFile.reopen(&value.log_path, &value.log) {
        Ok(log) => log,
        Err(error) => return Err(failed(CloseError::new("ThreeResources"), "log", error)),
    };
    let input = match ReadFile.reopen(&value.input_path, &value.input) {
        Ok(input) => input,
        Err(error) => {
            let mut cleanup = CloseError::new("ThreeResources");
            if let Err(close) = AppendFile.close(log) {
                cleanup.push("log", close);
            }
            return Err(failed(cleanup, "input", error));
        }
    };
    let out = match Buffered::new(AppendFile).reopen(&value.out_path, &value.out) {
        Ok(out) => out,
        Err(error) => {
            let mut cleanup = CloseError::new("ThreeResources");
            if let Err(close) = ReadFile.close(input) {
                cleanup.push("input", close);
            }
            if let Err(close) = AppendFile.close(log) {
                cleanup.push("log", close);
            }
            return Err(failed(cleanup, "out", error));
        }
    };
    Ok(ThreeResources {
        log_path: value.log_path.clone(),
        input_path: value.input_path.clone(),
        out_path: value.out_path.clone(),
        name: value.name.clone(),
        log,
        input,
        out,
    })
}

/// One shard of [`Composed`]: an input file beside its config.
#[derive(Rebuild)]
pub struct Shard {
    #[config]
    path: AbsolutePath,
    #[config]
    id: u32,
    #[resource(factory = ReadFile, from = path)]
    input: File,
}

/// A composed type: a log of its own type, a `Vec` of three shards and an optional
/// cache, all `#[nested]`: seven descriptors over three levels.
#[derive(Rebuild)]
pub struct Composed {
    #[config]
    name: String,
    #[nested]
    log: OneFile,
    #[nested]
    shards: Vec<Shard>,
    #[nested]
    cache: Option<OneFile>,
}

impl Composed {
    /// Opens `dir/one.log` (the log and the cache) and three shard inputs.
    pub fn open(dir: &Path) -> Result<Self, FileError> {
        let mut shards = Vec::new();
        for id in 0..3 {
            let path = AbsolutePath::new(dir.join(format!("shard{id}.in")))?;
            AppendFile.close(AppendFile.open(&path)?)?;
            shards.push(Shard {
                input: ReadFile.open(&path)?,
                path,
                id,
            });
        }
        Ok(Self {
            name: "service".to_owned(),
            log: OneFile::open(dir)?,
            shards,
            cache: Some(OneFile::open(dir)?),
        })
    }
}

/// What `Shard::rebuild` does, written by hand.
#[inline]
fn hand_shard(value: &Shard) -> Result<Shard, RebuildError> {
    let input = match ReadFile.reopen(&value.path, &value.input) {
        Ok(input) => input,
        Err(error) => return Err(RebuildError::new("Shard", "input", error)),
    };
    Ok(Shard {
        path: value.path.clone(),
        id: value.id,
        input,
    })
}

/// The error of a hand-written `Composed` rebuild whose nested `field` (at `index`
/// in `shards`, if given) failed, after closing what was rebuilt: cold and out of
/// line, with the same paths the derive gives.
#[cold]
#[inline(never)]
fn composed_failed(
    opened: (Option<OneFile>, Vec<Shard>),
    field: &'static str,
    index: Option<usize>,
    error: RebuildError,
) -> RebuildError {
    let (log, shards) = opened;
    let mut cleanup = CloseError::new("Composed");
    for (i, shard) in shards.into_iter().enumerate().rev() {
        if let Err(inner) = shard.close() {
            let mut at = CloseError::new("Composed");
            at.push_nested(PathSegment::Index(i), inner);
            cleanup.push_nested(PathSegment::Field("shards"), at);
        }
    }
    if let Some(log) = log
        && let Err(inner) = log.close()
    {
        cleanup.push_nested(PathSegment::Field("log"), inner);
    }
    let error = match index {
        Some(index) => error.within(PathSegment::Index(index)),
        None => error,
    };
    error
        .within(PathSegment::Field(field))
        .of_type("Composed", None)
        .with_cleanup(cleanup)
}

/// What `Composed::rebuild` does, written by hand: the log, each shard in order, the
/// cache; on a failure, close what was rebuilt, in reverse.
#[inline]
pub fn hand_composed(value: &Composed) -> Result<Composed, RebuildError> {
    let log = match hand_one_file(&value.log) {
        Ok(log) => log,
        Err(error) => return Err(composed_failed((None, Vec::new()), "log", None, error)),
    };
    let mut shards = Vec::with_capacity(value.shards.len());
    for (index, shard) in value.shards.iter().enumerate() {
        match hand_shard(shard) {
            Ok(copy) => shards.push(copy),
            Err(error) => {
                return Err(composed_failed(
                    (Some(log), shards),
                    "shards",
                    Some(index),
                    error,
                ));
            }
        }
    }
    let cache = match &value.cache {
        Some(cache) => match hand_one_file(cache) {
            Ok(copy) => Some(copy),
            Err(error) => {
                return Err(composed_failed((Some(log), shards), "cache", None, error));
            }
        },
        None => None,
    };
    Ok(Composed {
        name: value.name.clone(),
        log,
        shards,
        cache,
    })
}

/// A scratch directory for the benchmark's files, removed on drop.
pub struct Scratch(PathBuf);

impl Scratch {
    /// Creates `$TMPDIR/guardian-bench-<name>-<pid>`.
    ///
    /// # Panics
    ///
    /// If the directory cannot be created.
    #[must_use]
    pub fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("guardian-bench-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the scratch directory");
        Self(dir)
    }

    /// The directory.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
