//! Files: the async counterparts of [`crate::fs`]'s factories, opening
//! [`tokio::fs::File`]s.

use std::io;
use std::pin::Pin;

use ::tokio::fs::File;
use ::tokio::io::AsyncWrite;

use super::blocking::on_pool;
use crate::fs::{self, AbsolutePath, FileError, FileOp};
use crate::{AsyncFactory, Factory};

/// Opens a [`File`] for reading, on the blocking pool; a reopen gives a new handle
/// whose cursor starts at the beginning. The async counterpart of
/// [`fs::ReadFile`]: the same recipe, the same open, the same [`FileError`].
///
/// Closing drops the handle (nothing was written).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadFile;

impl AsyncFactory for ReadFile {
    type Config = AbsolutePath;
    type Resource = File;
    type Error = FileError;

    fn open(&self, path: &AbsolutePath) -> impl Future<Output = Result<File, FileError>> + Send {
        open_on_pool(fs::ReadFile, FileOp::OpenRead, path)
    }
}

/// Opens a [`File`] for reading; a reopen gives a new handle whose cursor starts where
/// the live handle's cursor is. The async counterpart of [`fs::ResumeReadFile`].
///
/// The position is read from the live handle's descriptor, after any operation tokio
/// still has in flight on it has finished ([`File::try_clone`] waits for it, and
/// gives a duplicate of the descriptor, which shares its position and is closed at
/// once). tokio's `File` reads exactly the bytes a read asks for, so after every
/// completed read that is the position of the next byte the live handle would read.
/// One case differs: a read whose future was dropped while tokio's blocking pool was
/// still reading leaves the bytes it read in the live handle's own buffer, where the
/// descriptor has already moved past them; the copy then starts after them.
///
/// ```
/// use guardian_core::AsyncFactory;
/// use guardian_core::fs::AbsolutePath;
/// use guardian_core::tokio::ResumeReadFile;
/// use tokio::io::{AsyncReadExt, AsyncSeekExt};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let manifest = AbsolutePath::new(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))?;
/// let mut live = ResumeReadFile.open(&manifest).await?;
/// live.read_exact(&mut [0; 9]).await?;
///
/// let mut copy = ResumeReadFile.reopen(&manifest, &live).await?;
/// assert_eq!(copy.stream_position().await?, 9); // continues where the live one is
/// copy.read_exact(&mut [0; 4]).await?;
/// assert_eq!(live.stream_position().await?, 9); // ... and moves on its own
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResumeReadFile;

impl AsyncFactory for ResumeReadFile {
    type Config = AbsolutePath;
    type Resource = File;
    type Error = FileError;

    fn open(&self, path: &AbsolutePath) -> impl Future<Output = Result<File, FileError>> + Send {
        open_on_pool(fs::ReadFile, FileOp::OpenRead, path)
    }

    async fn reopen(&self, path: &AbsolutePath, live: &File) -> Result<File, FileError> {
        let cursor = live
            .try_clone()
            .await
            .map_err(|error| FileError::new(FileOp::Position, Some(path), error))?
            .into_std()
            .await;
        let owned = path.clone();
        // The blocking factory's own reopen: position of `cursor`, a fresh open,
        // a seek there. `cursor` is closed when the job ends.
        let reopened = on_pool(move || fs::ResumeReadFile.reopen(&owned, &cursor)).await;
        match reopened {
            Some(file) => file.map(File::from_std),
            None => Err(shut_down(FileOp::OpenRead, Some(path.as_path()))),
        }
    }
}

/// Opens a [`File`] for appending, creating it if it is missing; a reopen gives a
/// second appending handle. The async counterpart of [`fs::AppendFile`].
///
/// Closing flushes (tokio's `File` writes in the background: a write that failed
/// there is reported now, as [`FileOp::Flush`]), then syncs the data on the blocking
/// pool ([`fs::AppendFile`]'s own close) and reports a failure.
///
/// ```
/// use guardian_core::AsyncFactory;
/// use guardian_core::fs::AbsolutePath;
/// use guardian_core::tokio::AppendFile;
/// use tokio::io::AsyncWriteExt;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// # let dir = std::env::temp_dir().join(format!("guardian-tokio-append-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let path = AbsolutePath::new(dir.join("journal.log"))?;
/// let mut live = AppendFile.open(&path).await?;
/// let mut copy = AppendFile.reopen(&path, &live).await?;
/// live.write_all(b"from the original\n").await?;
/// AppendFile.close(live).await?; // flushed and synced
/// copy.write_all(b"from the copy\n").await?;
/// AppendFile.close(copy).await?;
/// assert_eq!(std::fs::read_to_string(&path)?, "from the original\nfrom the copy\n");
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AppendFile;

impl AsyncFactory for AppendFile {
    type Config = AbsolutePath;
    type Resource = File;
    type Error = FileError;

    fn open(&self, path: &AbsolutePath) -> impl Future<Output = Result<File, FileError>> + Send {
        open_on_pool(fs::AppendFile, FileOp::OpenAppend, path)
    }

    fn close(&self, file: File) -> impl Future<Output = Result<(), FileError>> + Send {
        close_writer(fs::AppendFile, file)
    }
}

/// Opens a [`File`] for writing, creating it if it is missing, and takes an exclusive
/// lock on it; a second handle to the same file, a rebuild included, is refused. The
/// async counterpart of [`fs::ExclusiveFile`]: the same lock, the same refusal
/// ([`FileError::is_held_by_another_handle`]).
///
/// Closing flushes, then syncs the data on the blocking pool, then drops the handle,
/// which releases the lock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExclusiveFile;

impl AsyncFactory for ExclusiveFile {
    type Config = AbsolutePath;
    type Resource = File;
    type Error = FileError;

    fn open(&self, path: &AbsolutePath) -> impl Future<Output = Result<File, FileError>> + Send {
        open_on_pool(fs::ExclusiveFile, FileOp::OpenWrite, path)
    }

    fn close(&self, file: File) -> impl Future<Output = Result<(), FileError>> + Send {
        close_writer(fs::ExclusiveFile, file)
    }
}

/// The blocking `factory`'s open of `path`, on the blocking pool. `op` names the open
/// in the error if the runtime shut down before the pool ran it.
async fn open_on_pool<F>(factory: F, op: FileOp, path: &AbsolutePath) -> Result<File, FileError>
where
    F: Factory<Config = AbsolutePath, Resource = std::fs::File, Error = FileError> + Send + 'static,
{
    let owned = path.clone();
    match on_pool(move || factory.open(&owned)).await {
        Some(file) => file.map(File::from_std),
        None => Err(shut_down(op, Some(path.as_path()))),
    }
}

/// Flushes `file` (reporting a write tokio did in the background that failed), then
/// closes it through the blocking `factory` (which syncs it) on the blocking pool.
async fn close_writer<F>(factory: F, mut file: File) -> Result<(), FileError>
where
    F: Factory<Resource = std::fs::File, Error = FileError> + Send + 'static,
{
    let flushed = std::future::poll_fn(|cx| Pin::new(&mut file).poll_flush(cx)).await;
    // Nothing is in flight after a flush, failed or not.
    let file = file.into_std().await;
    if let Err(error) = flushed {
        // As `fs::Buffered`: the lost write is reported, and the file closed unsynced.
        return Err(FileError::new(
            FileOp::Flush,
            fs::path_of(&file).as_deref(),
            error,
        ));
    }
    let path = fs::path_of(&file);
    match on_pool(move || factory.close(file)).await {
        Some(closed) => closed,
        None => Err(shut_down(FileOp::Sync, path.as_deref())),
    }
}

/// The refusal of a call the blocking pool never ran: the runtime shut down first.
#[cold]
fn shut_down(op: FileOp, path: Option<&std::path::Path>) -> FileError {
    FileError::refused(
        op,
        path,
        io::Error::other("tokio's runtime shut down before its blocking pool started the call"),
    )
}
