//! Files: factories that reopen a path in one access mode ([`ReadFile`],
//! [`ResumeReadFile`], [`AppendFile`], [`ExclusiveFile`]), lock exclusive writers, and
//! sync on close; [`Buffered`] puts a [`BufWriter`] over the writers.
//!
//! Each factory opens a [`File`] in one access mode from an [`AbsolutePath`], and
//! reports every failure as a [`FileError`] that names the path and the operation.
//!
//! ```
//! use guardian_core::Rebuild;
//! use guardian_core::fs::{AbsolutePath, AppendFile};
//! use guardian_core::Factory;
//! use std::{fs::File, io::Write};
//!
//! #[derive(Rebuild)]
//! struct Journal {
//!     #[config]
//!     path: AbsolutePath,
//!     #[resource(factory = AppendFile, from = path)]
//!     log: File,
//! }
//!
//! # let dir = std::env::temp_dir().join(format!("guardian-fs-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let path = AbsolutePath::new(dir.join("journal.log"))?;
//! let mut journal = Journal { log: AppendFile.open(&path)?, path };
//! let mut copy = journal.rebuild()?; // a second handle of its own, also appending
//!
//! journal.log.write_all(b"from the original\n")?;
//! copy.log.write_all(b"from the copy\n")?;
//! copy.close()?; // flushes and syncs, reports what went wrong
//! journal.close()?;
//!
//! let text = std::fs::read_to_string(dir.join("journal.log"))?;
//! assert_eq!(text, "from the original\nfrom the copy\n");
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The recipe: an absolute path
//!
//! The config of every file factory is an [`AbsolutePath`]: a path made absolute
//! (with [`std::path::absolute`]) when the config value is created, not when the file
//! is opened. A relative path is relative to the working directory *at the time of
//! the call*, and the working directory is process-global state that any thread may
//! change; a rebuild that happens after a `set_current_dir` must open the same file
//! the original did, so the recipe records where that was. The access mode is the
//! factory itself ([`AppendFile`], [`ReadFile`], ...), fixed by the type, so a field
//! can never be reopened in another mode than the one it was declared with.
//!
//! The config is a recipe for *re*opening, not a replay of the first open: no factory
//! truncates, none uses [`create_new`](std::fs::OpenOptions::create_new), so a reopen
//! never wipes what the original wrote and never fails because the file now exists.
//! To start a writer on an empty file, call [`File::set_len(0)`](std::fs::File::set_len) on
//! the handle after the first open ([`ExclusiveFile`] holds its lock by then).
//!
//! # What a reopen gives back
//!
//! | factory | resource | a reopen gives | close |
//! |---|---|---|---|
//! | [`ReadFile`] | `File`, read-only | a new handle with its own cursor at the start | drops it |
//! | [`ResumeReadFile`] | `File`, read-only | a new handle with its own cursor, starting where the live handle's cursor is | drops it |
//! | [`AppendFile`] | `File`, appending, created if missing | a new appending handle; both handles' writes all land, whole, at the end | syncs data |
//! | [`ExclusiveFile`] | `File`, writing, created if missing, exclusively locked | an error while the live handle exists: two writers would overwrite each other | syncs data, then unlocks |
//! | [`Buffered`]`(F)` | `BufWriter<File>` | `F`'s reopen, with an empty buffer | flushes, then `F`'s close |
//!
//! What a reopen does *not* give back:
//!
//! - **The same file, if the path now names another.** A reopen opens whatever is at
//!   the recorded path now. If the file was renamed, deleted or replaced since the
//!   original was opened, the copy gets the new file (or [`AppendFile`] and
//!   [`ExclusiveFile`] create a new one), not the one the live handle still has open.
//!   The path is not canonicalized: a symlink on it is followed at every open.
//! - **The live handle's cursor**, except with [`ResumeReadFile`], and then only its
//!   value at the moment of the rebuild: the two cursors are independent afterwards.
//! - **Data the live handle has not written yet.** A [`Buffered`] copy starts with an
//!   empty buffer; what the live writer buffered is written when *it* flushes.
//! - **State set on the live handle after it was opened**: its lock (which is why
//!   [`ExclusiveFile`] refuses), advisory locks you took yourself, or descriptor
//!   flags. Permissions and length belong to the file, not the handle, so both
//!   handles see them.
//!
//! # Appending is shared, writing is exclusive
//!
//! Two appending handles do not overwrite each other: the OS moves to the end of the
//! file and writes in one step for each `write` call (`O_APPEND`), so each record
//! written with one [`write_all`](std::io::Write::write_all) lands whole after the
//! others, on local file systems (NFS does not guarantee it). Through [`Buffered`], a
//! record smaller than the buffer is never split by it. So [`AppendFile`] reopens
//! freely.
//!
//! Two handles writing at their own cursors *do* overwrite each other, so
//! [`ExclusiveFile`] takes an exclusive lock ([`File::try_lock`]) when it opens, and a
//! second handle to the same file (a rebuild included) is refused with a
//! [`FileError`] that says the file is held by another handle. The lock is advisory
//! (`flock` on Unix, `LockFileEx` on Windows): it stops every handle that asks for it,
//! in this process or another, not a program that writes without asking. It is
//! released when the handle closes.
//!
//! # Closing
//!
//! [`Factory::close`] of the writing factories calls [`File::sync_data`]: the data
//! and what is needed to read it back (the length) reach the storage device, or the
//! error (a full disk, a failed write-back, a network file system's deferred error)
//! is reported. It does not force timestamps and other metadata out; call
//! [`File::sync_all`] before `close` if you need them. Syncing a special file (a
//! character device such as `/dev/null`, a pipe) is not supported by most systems and
//! fails with `EINVAL` or `ENOTSUP`; that failure is ignored for files that are not
//! regular files, where there is nothing to sync, and reported for regular files.
//! [`Buffered`] flushes its buffer first, so a write that fails late (`ENOSPC` on
//! `/dev/full`, a full disk) comes out of `close` instead of vanishing in
//! [`BufWriter`]'s `Drop`. The final `close(2)` of the descriptor happens in `File`'s
//! `Drop`, which has no way to report an error; the sync before it reports what
//! `close(2)` could.
//!
//! [`ReadFile`] and [`ResumeReadFile`] have nothing to flush and close by dropping.
//!
//! # Special files
//!
//! These factories open whatever the path names, as [`std::fs::File`] does, and leave
//! the rest to the OS: their recipes are yours, and a recipe may name a device or a
//! FIFO on purpose (a log written to `/dev/null` in tests, to a FIFO read by a log
//! shipper). What each does on Linux:
//!
//! | the path names | [`ReadFile`], [`ResumeReadFile`] | [`AppendFile`], [`ExclusiveFile`] |
//! |---|---|---|
//! | a character device (`/dev/null`, `/dev/full`, a terminal) | opens it; reads come from the device | opens it; writes go to the device (`/dev/full` fails each with `ENOSPC`); [`ExclusiveFile`] locks the device node |
//! | a FIFO | **waits** until a writer opens the other end | **waits** until a reader opens the other end |
//! | a directory | opens it; every read fails with `EISDIR` | fails with `EISDIR` |
//! | a Unix socket | fails with `ENXIO` | fails with `ENXIO` |
//!
//! Closing a writer on a device or a FIFO skips the sync the OS refuses ([Closing](#closing)),
//! and a [`ResumeReadFile`] reopen on a FIFO or a terminal fails with
//! [`FileOp::Position`]: it has no position to resume at. An open that waits cannot
//! be interrupted: a recipe that names a FIFO nobody opens blocks the rebuild for ever.
//! That is why a recipe from outside is never opened by these factories: the confined
//! factories of feature `confine` open regular files only, refuse anything else at
//! once, and never wait.
//!
//! [`ReadFile`]: crate::fs::ReadFile
//! [`ResumeReadFile`]: crate::fs::ResumeReadFile
//! [`AppendFile`]: crate::fs::AppendFile
//! [`ExclusiveFile`]: crate::fs::ExclusiveFile
//! [`Buffered`]: crate::fs::Buffered
//! [`BufWriter`]: std::io::BufWriter
//! [`File`]: std::fs::File
//! [`FileError`]: crate::fs::FileError
//! [`AbsolutePath`]: crate::fs::AbsolutePath
//! [`File::try_lock`]: std::fs::File::try_lock
//! [`File::sync_data`]: std::fs::File::sync_data
//! [`File::sync_all`]: std::fs::File::sync_all

use std::error::Error;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::ops::Deref;
use std::path::{Path, PathBuf};

use crate::Factory;
use crate::shown::Shown;

/// A path made absolute when it is created: the recipe of every file factory.
///
/// [`AbsolutePath::new`] joins a relative path to the current working directory *now*
/// (with [`std::path::absolute`]), so a later [`set_current_dir`](std::env::set_current_dir)
/// does not change which file a rebuild opens. It does not touch the file system: the
/// file need not exist yet, symlinks are not resolved, and `..` components are kept
/// (on Unix), so the path opened is the path you wrote, pinned to where you were.
///
/// It is `Clone`, `Debug`, `Eq` and `Hash`, for a `#[config]` field, and dereferences
/// to [`Path`].
///
/// ```
/// use guardian_core::fs::AbsolutePath;
///
/// let path = AbsolutePath::new("data/scores.txt")?;
/// assert!(path.is_absolute());
/// assert_eq!(*path, std::env::current_dir()?.join("data/scores.txt"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AbsolutePath(PathBuf);

impl AbsolutePath {
    /// Makes `path` absolute against the current working directory, or keeps it if it
    /// already is.
    ///
    /// Fails, with a [`FileError`] of operation [`FileOp::Resolve`], if the path is
    /// empty or the working directory cannot be read.
    pub fn new(path: impl AsRef<Path>) -> Result<Self, FileError> {
        let path = path.as_ref();
        match std::path::absolute(path) {
            Ok(absolute) => Ok(Self(absolute)),
            Err(error) => Err(FileError::new(FileOp::Resolve, Some(path), error)),
        }
    }

    /// The absolute path.
    #[must_use]
    pub fn as_path(&self) -> &Path {
        &self.0
    }

    /// Takes the absolute path out.
    #[must_use]
    pub fn into_path_buf(self) -> PathBuf {
        self.0
    }
}

impl Deref for AbsolutePath {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

/// An `AbsolutePath` field feeds a factory whose recipe is a [`Path`]
/// (`#[resource(factory = ..., from = path)]` lends the field through `Borrow`). It
/// compares and hashes as the `Path` it holds.
impl std::borrow::Borrow<Path> for AbsolutePath {
    fn borrow(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for AbsolutePath {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl From<AbsolutePath> for PathBuf {
    fn from(path: AbsolutePath) -> PathBuf {
        path.0
    }
}

/// Written as the path it holds (a string; a path that is not UTF-8 cannot be written
/// by most formats, and serde says so).
#[cfg(feature = "serde")]
impl serde::Serialize for AbsolutePath {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// Read back only as an absolute path: a saved `AbsolutePath` was written absolute,
/// and a relative one (from a hand-written or tampered recipe) is refused rather than
/// resolved against the loading process's working directory, which would silently
/// pick another file than the one saved. Use [`AbsolutePath::new`] in your own code
/// to pin a relative path on purpose.
#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for AbsolutePath {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let path = PathBuf::deserialize(deserializer)?;
        if path.is_absolute() {
            Ok(Self(path))
        } else {
            Err(serde::de::Error::custom(format_args!(
                "the path {} is relative: a saved AbsolutePath must be absolute (a relative one would be resolved against the loading process's working directory)",
                Shown(&path.to_string_lossy())
            )))
        }
    }
}

/// Opens a file for reading; a reopen gives a new handle whose cursor starts at the
/// beginning, independent of the live handle's.
///
/// Closing drops the handle (nothing was written).
///
/// ```
/// use guardian_core::Factory;
/// use guardian_core::fs::{AbsolutePath, ReadFile};
/// use std::io::Read;
///
/// let manifest = AbsolutePath::new(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))?;
/// let mut live = ReadFile.open(&manifest)?;
/// let mut first = [0; 9];
/// live.read_exact(&mut first)?;
///
/// let mut copy = ReadFile.reopen(&manifest, &live)?;
/// let mut again = [0; 9];
/// copy.read_exact(&mut again)?; // its own cursor, from the start
/// assert_eq!(first, again);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadFile;

impl Factory for ReadFile {
    type Config = AbsolutePath;
    type Resource = File;
    type Error = FileError;

    fn open(&self, path: &AbsolutePath) -> Result<File, FileError> {
        open_file(OpenOptions::new().read(true), FileOp::OpenRead, path)
    }
}

/// Opens a file for reading; a reopen gives a new handle whose cursor starts where
/// the live handle's cursor is, and is independent of it from then on.
///
/// The position is the live handle's byte offset ([`Seek::stream_position`]) at the
/// moment of the rebuild. If the file has become shorter than that, reads on the copy
/// return end-of-file. Closing drops the handle.
///
/// ```
/// use guardian_core::Factory;
/// use guardian_core::fs::{AbsolutePath, ResumeReadFile};
/// use std::io::{Read, Seek};
///
/// let manifest = AbsolutePath::new(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))?;
/// let mut live = ResumeReadFile.open(&manifest)?;
/// live.read_exact(&mut [0; 9])?;
///
/// let mut copy = ResumeReadFile.reopen(&manifest, &live)?;
/// assert_eq!(copy.stream_position()?, 9); // continues where the live one is
/// copy.read_exact(&mut [0; 4])?;
/// assert_eq!(live.stream_position()?, 9); // ... and moves on its own
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResumeReadFile;

impl Factory for ResumeReadFile {
    type Config = AbsolutePath;
    type Resource = File;
    type Error = FileError;

    fn open(&self, path: &AbsolutePath) -> Result<File, FileError> {
        ReadFile.open(path)
    }

    fn reopen(&self, path: &AbsolutePath, live: &File) -> Result<File, FileError> {
        resume_at(live, path, || ReadFile.open(path))
    }
}

/// Opens a file for appending, creating it if it is missing; a reopen gives a second
/// appending handle, and the writes of both all land, whole, at the end of the file.
///
/// Never truncates. Closing syncs the data ([`File::sync_data`]) and reports a failure.
/// See the [module docs](self) for why appending is safe to share.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AppendFile;

impl Factory for AppendFile {
    type Config = AbsolutePath;
    type Resource = File;
    type Error = FileError;

    fn open(&self, path: &AbsolutePath) -> Result<File, FileError> {
        open_file(
            OpenOptions::new().append(true).create(true),
            FileOp::OpenAppend,
            path,
        )
    }

    fn close(&self, file: File) -> Result<(), FileError> {
        sync(&file)
    }
}

/// Opens a file for writing, creating it if it is missing, and takes an exclusive lock
/// on it; a second handle to the same file, a rebuild included, is refused.
///
/// Two writers with their own cursors overwrite each other's bytes, so this factory
/// makes the double booking an error instead: [`File::try_lock`] never waits, and a
/// file held by another handle gives a [`FileError`] of operation [`FileOp::Lock`]
/// whose message names the path and says so
/// ([`is_held_by_another_handle`](FileError::is_held_by_another_handle)). Rebuilding a
/// value that holds an `ExclusiveFile` therefore fails while the value exists; close
/// it first, then open a new one.
///
/// Never truncates (call [`File::set_len(0)`](File::set_len) after opening to start
/// empty: the lock is held by then). Closing syncs the data, then drops the handle,
/// which releases the lock, so the next holder sees every byte.
///
/// ```
/// use guardian_core::Factory;
/// use guardian_core::fs::{AbsolutePath, ExclusiveFile};
///
/// # let dir = std::env::temp_dir().join(format!("guardian-excl-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let path = AbsolutePath::new(dir.join("state.bin"))?;
/// let writer = ExclusiveFile.open(&path)?;
///
/// let refused = ExclusiveFile.reopen(&path, &writer).unwrap_err();
/// assert!(refused.is_held_by_another_handle());
/// assert!(refused.to_string().contains("held by another handle"));
///
/// ExclusiveFile.close(writer)?; // releases the lock
/// let next = ExclusiveFile.open(&path)?;
/// # ExclusiveFile.close(next)?;
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExclusiveFile;

impl Factory for ExclusiveFile {
    type Config = AbsolutePath;
    type Resource = File;
    type Error = FileError;

    fn open(&self, path: &AbsolutePath) -> Result<File, FileError> {
        let file = open_file(
            OpenOptions::new().write(true).create(true).truncate(false),
            FileOp::OpenWrite,
            path,
        )?;
        lock_exclusive(file, path)
    }

    fn close(&self, file: File) -> Result<(), FileError> {
        sync(&file)
    }
}

/// Wraps a writing file factory ([`AppendFile`], [`ExclusiveFile`]) so that the
/// resource is a [`BufWriter<File>`], and makes `close` flush it.
///
/// A `BufWriter` flushes in `Drop` and throws the error away; closing through this
/// factory flushes first and reports a failure as a [`FileError`] of operation
/// [`FileOp::Flush`] (the buffered data is then discarded, not retried), then closes
/// the file through the inner factory (which syncs it).
///
/// A reopen is the inner factory's reopen, in a writer with an empty buffer: what the
/// live writer has buffered stays in it.
///
/// ```
/// use guardian_core::{Factory, Rebuild};
/// use guardian_core::fs::{AbsolutePath, AppendFile, Buffered, FileError};
/// use std::{fs::File, io::{BufWriter, Write}};
///
/// #[derive(Rebuild)]
/// struct Sink {
///     #[config]
///     path: AbsolutePath,
///     #[resource(factory = Buffered::new(AppendFile), from = path)]
///     out: BufWriter<File>,
/// }
///
/// let path = AbsolutePath::new("/dev/full")?; // every write fails with ENOSPC
/// let mut sink = Sink { out: Buffered::new(AppendFile).open(&path)?, path };
/// sink.out.write_all(b"buffered, not written yet")?;
///
/// let err = sink.close().unwrap_err(); // the flush error is not lost in `Drop`
/// let failure = &err.failures()[0];
/// assert_eq!(failure.field(), "out");
/// let file_error = failure.error().downcast_ref::<FileError>().unwrap();
/// assert_eq!(file_error.kind(), std::io::ErrorKind::StorageFull);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Buffered<F> {
    inner: F,
    capacity: Option<usize>,
}

impl<F> Buffered<F> {
    /// Buffers the files of `inner` with [`BufWriter`]'s default capacity.
    pub const fn new(inner: F) -> Self {
        Self {
            inner,
            capacity: None,
        }
    }

    /// Buffers the files of `inner` with a buffer of `capacity` bytes.
    pub const fn with_capacity(capacity: usize, inner: F) -> Self {
        Self {
            inner,
            capacity: Some(capacity),
        }
    }

    /// The wrapped factory.
    pub const fn inner(&self) -> &F {
        &self.inner
    }

    fn wrap(&self, file: File) -> BufWriter<File> {
        match self.capacity {
            Some(capacity) => BufWriter::with_capacity(capacity, file),
            None => BufWriter::new(file),
        }
    }
}

impl<F> Factory for Buffered<F>
where
    F: Factory<Resource = File, Error = FileError>,
{
    type Config = F::Config;
    type Resource = BufWriter<File>;
    type Error = FileError;

    fn open(&self, config: &F::Config) -> Result<BufWriter<File>, FileError> {
        self.inner.open(config).map(|file| self.wrap(file))
    }

    fn reopen(
        &self,
        config: &F::Config,
        live: &BufWriter<File>,
    ) -> Result<BufWriter<File>, FileError> {
        self.inner
            .reopen(config, live.get_ref())
            .map(|file| self.wrap(file))
    }

    /// The inner factory's check of the file; the buffer is not flushed.
    fn check(&self, writer: &mut BufWriter<File>) -> Result<(), FileError> {
        self.inner.check(writer.get_mut())
    }

    fn close(&self, mut writer: BufWriter<File>) -> Result<(), FileError> {
        let flushed = writer.flush();
        // `into_parts` hands back the unwritten bytes instead of retrying them in
        // `Drop`: after a failed flush they are reported lost, not written twice.
        let (file, _unwritten) = writer.into_parts();
        match flushed {
            Ok(()) => self.inner.close(file),
            Err(error) => Err(FileError::new(
                FileOp::Flush,
                path_of(&file).as_deref(),
                error,
            )),
        }
    }
}

/// What a file factory was doing when it failed; see [`FileError::op`].
///
/// The confined factories of feature `confine` report the operation of their access
/// mode (opening for appending, taking the lock, ...); a root directory they cannot
/// open is a `confine::RootError` of its own, not an operation of this list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileOp {
    /// Making a path absolute ([`AbsolutePath::new`]).
    Resolve,
    /// Opening for reading ([`ReadFile`], [`ResumeReadFile`]).
    OpenRead,
    /// Opening for appending ([`AppendFile`]).
    OpenAppend,
    /// Opening for writing ([`ExclusiveFile`]).
    OpenWrite,
    /// Taking the exclusive lock ([`ExclusiveFile`]).
    Lock,
    /// Reading the live handle's position ([`ResumeReadFile`]).
    Position,
    /// Moving the new handle to the live handle's position ([`ResumeReadFile`]).
    Seek,
    /// Writing out a buffer ([`Buffered`]).
    Flush,
    /// Syncing data to the storage device (closing a writer).
    Sync,
}

/// A file factory failed: the operation, the path, and the [`io::Error`].
///
/// It follows the crate's [rule for errors](crate#errors): `Display` says what failed,
/// "cannot open /var/log/app.log for appending", and [`source`](Error::source) is the
/// `io::Error` that says why, "Permission denied (os error 13)". Code reads the
/// `io::Error` with [`io_error`](FileError::io_error) and [`kind`](FileError::kind).
///
/// A refusal of guardian's own has no cause below it, so `Display` ends with the reason
/// and `source` is `None`; [`io_error`](FileError::io_error) still gives an `io::Error`
/// of the right kind, made by guardian, that holds the reason:
///
/// - [`ExclusiveFile`] finds the file's lock held by another handle: "cannot lock
///   /srv/state.bin for exclusive writing: it is held by another handle", kind
///   `WouldBlock` ([`is_held_by_another_handle`](FileError::is_held_by_another_handle)).
///   The OS reports a held lock as a plain "would block" (std's
///   [`TryLockError::WouldBlock`](std::fs::TryLockError::WouldBlock) carries no OS
///   error), so there is no OS error to chain.
/// - A confined factory (feature `confine`) refuses a path that leaves its root or
///   names something other than a regular file, kind `PermissionDenied`, with a
///   `confine::Escape` inside the `io::Error`, or refuses every path until it is set.
///
/// The path is the recipe's path for opening (for a confined factory, as the recipe
/// wrote it, relative to the root), and for closing the path the OS reports for the
/// open descriptor (from `/proc/self/fd` on Linux; `None` where that is not
/// available).
///
/// `Display` is safe to log whatever the path holds: control characters (a newline
/// that would forge a log line) are escaped and a path longer than about 150
/// characters is cut in the middle with `…`; [`path`](FileError::path) has it exactly.
#[derive(Debug)]
pub struct FileError {
    op: FileOp,
    path: Option<PathBuf>,
    source: io::Error,
    /// Guardian refused on its own: `source` holds guardian's reason, which `Display`
    /// shows and `Error::source` does not return.
    refused: bool,
}

impl FileError {
    /// `op` on `path` failed because of `source`, which the OS (or a library) reported.
    #[cold]
    pub(crate) fn new(op: FileOp, path: Option<&Path>, source: io::Error) -> Self {
        Self {
            op,
            path: path.map(Path::to_path_buf),
            source,
            refused: false,
        }
    }

    /// Guardian refused `op` on `path`; `reason` is its own `io::Error`, whose message
    /// ends the `Display`.
    #[cold]
    pub(crate) fn refused(op: FileOp, path: Option<&Path>, reason: io::Error) -> Self {
        Self {
            refused: true,
            ..Self::new(op, path, reason)
        }
    }

    /// What was being done.
    #[must_use]
    pub fn op(&self) -> FileOp {
        self.op
    }

    /// The file's path: `None` only when closing on a system that cannot tell the
    /// path of an open descriptor.
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The underlying I/O error: the OS's, or for a refusal guardian's own.
    #[must_use]
    pub fn io_error(&self) -> &io::Error {
        &self.source
    }

    /// The kind of the underlying I/O error (`StorageFull` for `ENOSPC`,
    /// `WouldBlock` for a file locked by another handle).
    #[must_use]
    pub fn kind(&self) -> io::ErrorKind {
        self.source.kind()
    }

    /// Takes the underlying I/O error out.
    #[must_use]
    pub fn into_io_error(self) -> io::Error {
        self.source
    }

    /// Whether [`ExclusiveFile`] was refused because another handle holds the file's
    /// lock.
    #[must_use]
    pub fn is_held_by_another_handle(&self) -> bool {
        self.refused && self.op == FileOp::Lock && self.kind() == io::ErrorKind::WouldBlock
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = match &self.path {
            Some(path) => Shown(&path.to_string_lossy()).to_string(),
            None => String::from("an open file (its path is unknown on this system)"),
        };
        match self.op {
            FileOp::Resolve => write!(f, "cannot make {path} absolute")?,
            FileOp::OpenRead => write!(f, "cannot open {path} for reading")?,
            FileOp::OpenAppend => write!(f, "cannot open {path} for appending")?,
            FileOp::OpenWrite => write!(f, "cannot open {path} for writing")?,
            FileOp::Lock => write!(f, "cannot lock {path} for exclusive writing")?,
            FileOp::Position => write!(f, "cannot read the position of the live handle of {path}")?,
            FileOp::Seek => write!(f, "cannot seek {path} to the live handle's position")?,
            FileOp::Flush => write!(f, "cannot flush {path}")?,
            FileOp::Sync => write!(f, "cannot sync {path}")?,
        }
        if self.refused {
            write!(f, ": {}", self.source)?;
        }
        Ok(())
    }
}

impl Error for FileError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        if self.refused {
            // Guardian's reason is already in `Display`; nothing below failed.
            None
        } else {
            Some(&self.source)
        }
    }
}

impl From<FileError> for io::Error {
    /// An `io::Error` of the same kind that wraps the `FileError`, for `?` in functions
    /// that return `io::Result`: its `Display` is the `FileError`'s (what failed), its
    /// [`source`](Error::source) the `FileError`'s (the OS's error), and
    /// [`get_ref`](io::Error::get_ref) downcasts back to the `FileError`.
    fn from(error: FileError) -> io::Error {
        io::Error::new(error.kind(), error)
    }
}

fn open_file(options: &OpenOptions, op: FileOp, path: &AbsolutePath) -> Result<File, FileError> {
    options
        .open(path.as_path())
        .map_err(|error| FileError::new(op, Some(path.as_path()), error))
}

/// Opens a new handle with `open` and moves it to where `live`'s cursor is: the reopen
/// of [`ResumeReadFile`], and of a confined factory in that mode. `path` names the file
/// in errors: [`FileOp::Position`] if `live`'s position cannot be read (a pipe),
/// [`FileOp::Seek`] if the new handle cannot be moved there.
pub(crate) fn resume_at(
    live: &File,
    path: &Path,
    open: impl FnOnce() -> Result<File, FileError>,
) -> Result<File, FileError> {
    let position = {
        // `Seek` is implemented for `&File`: reading the position needs no `&mut`.
        let mut live = live;
        live.stream_position()
            .map_err(|error| FileError::new(FileOp::Position, Some(path), error))?
    };
    let mut file = open()?;
    match file.seek(SeekFrom::Start(position)) {
        Ok(_) => Ok(file),
        Err(error) => Err(FileError::new(FileOp::Seek, Some(path), error)),
    }
}

/// Takes `file`'s exclusive lock without waiting; a lock held by another handle is a
/// refusal of operation [`FileOp::Lock`] and kind `WouldBlock`, naming `path`. On an
/// error the file is dropped, so a refused open leaks no descriptor.
pub(crate) fn lock_exclusive(file: File, path: &Path) -> Result<File, FileError> {
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(FileError::refused(
            FileOp::Lock,
            Some(path),
            io::Error::new(io::ErrorKind::WouldBlock, "it is held by another handle"),
        )),
        Err(std::fs::TryLockError::Error(error)) => {
            Err(FileError::new(FileOp::Lock, Some(path), error))
        }
    }
}

/// `sync_data`, ignoring "not supported" from files that are not regular files.
fn sync(file: &File) -> Result<(), FileError> {
    match file.sync_data() {
        Ok(()) => Ok(()),
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
            ) && !is_regular_file(file) =>
        {
            Ok(())
        }
        Err(error) => Err(FileError::new(
            FileOp::Sync,
            path_of(file).as_deref(),
            error,
        )),
    }
}

fn is_regular_file(file: &File) -> bool {
    // When the type cannot be read, treat it as regular: report, don't hide.
    file.metadata()
        .map_or(true, |meta| meta.file_type().is_file())
}

/// The path the OS reports for an open file, for error messages.
#[cold]
pub(crate) fn path_of(file: &File) -> Option<PathBuf> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = file;
        None
    }
}
