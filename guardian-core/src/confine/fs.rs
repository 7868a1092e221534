//! The file side of confinement: [`Confined`] opens files in an access mode
//! ([`ConfinedMode`]) only below a root directory, and says why it refused a path
//! ([`Escape`]) or could not open its root ([`RootError`]). See the
//! [module docs](crate::confine).

use std::error::Error;
use std::fmt;
use std::fs::File;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions};

use super::{ConfinedFactory, sealed, unset_error};
use crate::Factory;
use crate::fs::{
    AbsolutePath, AppendFile, ExclusiveFile, FileError, FileOp, ReadFile, ResumeReadFile,
};
use crate::shown::Shown;

/// An access mode a [`Confined`] factory can open files in: [`ReadFile`],
/// [`ResumeReadFile`], [`AppendFile`] or [`ExclusiveFile`]. Sealed.
///
/// A confined factory opens, reopens and closes exactly as its mode does (see the
/// [`fs`](crate::fs) module: appending handles share, exclusive writers lock, writers
/// sync on close), only resolved below the root.
pub trait ConfinedMode:
    sealed::Mode + Factory<Config = AbsolutePath, Resource = File, Error = FileError>
{
}

impl sealed::Mode for ReadFile {
    const OP: FileOp = FileOp::OpenRead;
    fn options() -> OpenOptions {
        let mut options = OpenOptions::new();
        options.read(true);
        options
    }
}
impl ConfinedMode for ReadFile {}

impl sealed::Mode for ResumeReadFile {
    const OP: FileOp = FileOp::OpenRead;
    const RESUMES: bool = true;
    fn options() -> OpenOptions {
        ReadFile::options()
    }
}
impl ConfinedMode for ResumeReadFile {}

impl sealed::Mode for AppendFile {
    const OP: FileOp = FileOp::OpenAppend;
    fn options() -> OpenOptions {
        let mut options = OpenOptions::new();
        options.append(true).create(true);
        options
    }
}
impl ConfinedMode for AppendFile {}

impl sealed::Mode for ExclusiveFile {
    const OP: FileOp = FileOp::OpenWrite;
    const LOCKS: bool = true;
    fn options() -> OpenOptions {
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(false);
        options
    }
}
impl ConfinedMode for ExclusiveFile {}

struct Root {
    dir: Dir,
    /// The root's path when it was opened, for messages.
    path: PathBuf,
}

/// Opens files in the access mode `M` only below a root directory; the recipe is a
/// [`Path`] relative to the root.
///
/// An absolute path, a path that climbs out with `..` and a path that leaves through
/// a symlink are refused with a [`FileError`] whose message names the path and why
/// (the root is in [`Escape::root`]); [`Escape::of`] tells which. Nothing outside the
/// root is opened or created. Only regular files are opened: a FIFO, a socket, a
/// device or a directory is refused at once, without waiting for a FIFO's other end
/// ([special files](crate::confine#special-files)). Other failures (a missing file, a
/// denied permission) are reported as `M` reports them, naming the path as the recipe
/// wrote it, relative to the root. See the [module docs](crate::confine) for how the
/// root is kept, what is not covered, and what an error message reveals.
///
/// Cloning is cheap and shares the root's descriptor; [`with_mode`](Confined::with_mode)
/// gives a factory of another mode over the same root.
///
/// ```
/// use guardian_core::Factory;
/// use guardian_core::confine::{Confined, Escape, EscapeKind};
/// use guardian_core::fs::{AppendFile, ReadFile};
/// use std::{io::{Read, Write}, path::Path};
///
/// # let sandbox = std::env::temp_dir().join(format!("guardian-confined-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(sandbox.join("jar"))?;
/// let logs = Confined::new(sandbox.join("jar"), AppendFile)?;
/// let mut log = logs.open(Path::new("match.log"))?; // creates jar/match.log
/// log.write_all(b"e4 e5\n")?;
/// logs.close(log)?; // syncs, as `AppendFile` does
///
/// let mut text = String::new();
/// logs.with_mode(ReadFile).open(Path::new("match.log"))?.read_to_string(&mut text)?;
/// assert_eq!(text, "e4 e5\n");
///
/// for (path, why) in [
///     ("/etc/passwd", EscapeKind::Absolute),
///     ("../jar/../../etc/passwd", EscapeKind::ParentDir),
/// ] {
///     let refused = logs.open(Path::new(path)).unwrap_err();
///     assert_eq!(Escape::of(&refused).map(Escape::kind), Some(why));
///     assert_eq!(Escape::of(&refused).map(Escape::root), Some(logs.root()));
///     // The message names the recipe's path, never the root's (it may reach the sender).
///     assert!(!refused.to_string().contains(&sandbox.display().to_string()));
/// }
/// # std::fs::remove_dir_all(&sandbox)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Confined<M> {
    root: Arc<Root>,
    mode: M,
}

impl<M> Confined<M> {
    /// Opens the directory `root` (made absolute for messages, symlinks on it
    /// followed: the root is yours, not the recipe's) and makes a factory of mode
    /// `mode` below it.
    ///
    /// Fails with a [`RootError`] if `root` is not a directory that can be opened.
    pub fn new(root: impl AsRef<Path>, mode: M) -> Result<Self, RootError> {
        let root = root.as_ref();
        let path = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
        match Dir::open_ambient_dir(root, ambient_authority()) {
            Ok(dir) => Ok(Self {
                root: Arc::new(Root { dir, path }),
                mode,
            }),
            Err(source) => Err(RootError { path, source }),
        }
    }

    /// A factory of mode `mode` over the same root (the descriptor is shared).
    #[must_use]
    pub fn with_mode<N>(&self, mode: N) -> Confined<N> {
        Confined {
            root: Arc::clone(&self.root),
            mode,
        }
    }

    /// The root directory's path, as it was when the factory was made.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root.path
    }

    /// The access mode.
    #[must_use]
    pub fn mode(&self) -> &M {
        &self.mode
    }
}

impl<M: ConfinedMode> Confined<M> {
    fn open_below(&self, path: &Path) -> Result<File, FileError> {
        if is_absolute(path) {
            return Err(self.escape(path, EscapeKind::Absolute));
        }
        let mut options = M::options();
        without_waiting(&mut options);
        let file = match self.root.dir.open_with(path, &options) {
            Ok(file) => file.into_std(),
            Err(error) if is_escape(&error) => {
                return Err(self.escape(path, climbs_out(path)));
            }
            Err(error) if names_no_file(&error) => {
                return Err(self.escape(path, EscapeKind::NotAFile));
            }
            Err(error) => {
                return Err(FileError::new(M::OP, Some(path), error));
            }
        };
        // The type is read from the descriptor that was opened, not from the path, so
        // a FIFO swapped in after a check cannot slip through. Dropping `file` on a
        // refusal closes it.
        match file.metadata() {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => return Err(self.escape(path, EscapeKind::NotAFile)),
            Err(error) => {
                return Err(FileError::new(M::OP, Some(path), error));
            }
        }
        if let Err(error) = blocking_again(&file) {
            return Err(FileError::new(M::OP, Some(path), error));
        }
        if M::LOCKS {
            return crate::fs::lock_exclusive(file, path);
        }
        Ok(file)
    }

    #[cold]
    fn escape(&self, path: &Path, kind: EscapeKind) -> FileError {
        let escape = Escape {
            root: self.root.path.clone(),
            kind,
        };
        FileError::refused(
            M::OP,
            Some(path),
            io::Error::new(io::ErrorKind::PermissionDenied, escape),
        )
    }
}

impl<M: Clone> Clone for Confined<M> {
    fn clone(&self) -> Self {
        self.with_mode(self.mode.clone())
    }
}

// Written by hand, not derived: it shows the root's path, not the shared descriptor
// (`Arc<Root>` and cap-std's `Dir`) a derive would print.
impl<M: fmt::Debug> fmt::Debug for Confined<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Confined")
            .field("root", &self.root.path)
            .field("mode", &self.mode)
            .finish()
    }
}

impl<M: ConfinedMode> Factory for Confined<M> {
    type Config = Path;
    type Resource = File;
    type Error = FileError;

    fn open(&self, path: &Path) -> Result<File, FileError> {
        self.open_below(path)
    }

    fn reopen(&self, path: &Path, live: &File) -> Result<File, FileError> {
        if M::RESUMES {
            crate::fs::resume_at(live, path, || self.open_below(path))
        } else {
            self.open_below(path)
        }
    }

    fn close(&self, file: File) -> Result<(), FileError> {
        self.mode.close(file)
    }
}

impl<M: ConfinedMode> sealed::Unset for Confined<M> {
    #[cold]
    fn unset(path: &Path) -> FileError {
        FileError::refused(M::OP, Some(path), unset_error())
    }
}
impl<M: ConfinedMode> ConfinedFactory for Confined<M> {}

/// [`Confined::new`] could not open the root directory.
///
/// An error of its own, not a [`FileError`]: it comes from making the factory, at
/// startup, and never from an open, which is what a `FileError`'s operations
/// describe. It follows the crate's [rule for errors](crate#errors): `Display` says
/// what failed, "cannot open the root directory /srv/jar", and
/// [`source`](Error::source) is the OS's error.
///
/// ```
/// use guardian_core::confine::Confined;
/// use guardian_core::fs::ReadFile;
/// use std::error::Error;
///
/// let missing = std::env::temp_dir().join("guardian-no-such-root");
/// let err = Confined::new(&missing, ReadFile).unwrap_err();
/// assert_eq!(err.path(), missing);
/// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
/// assert!(err.source().is_some());
/// ```
#[derive(Debug)]
pub struct RootError {
    path: PathBuf,
    source: io::Error,
}

impl RootError {
    /// The root directory's path, made absolute.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The OS's error.
    #[must_use]
    pub fn io_error(&self) -> &io::Error {
        &self.source
    }

    /// The kind of the OS's error (`NotFound`, `NotADirectory`, `PermissionDenied`).
    #[must_use]
    pub fn kind(&self) -> io::ErrorKind {
        self.source.kind()
    }

    /// Takes the OS's error out.
    #[must_use]
    pub fn into_io_error(self) -> io::Error {
        self.source
    }
}

impl fmt::Display for RootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.to_string_lossy();
        write!(f, "cannot open the root directory {}", Shown(&path))
    }
}

impl Error for RootError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

impl From<RootError> for io::Error {
    /// An `io::Error` of the same kind that wraps the `RootError`, for `?` in functions
    /// that return `io::Result`.
    fn from(error: RootError) -> io::Error {
        io::Error::new(error.kind(), error)
    }
}

fn is_absolute(path: &Path) -> bool {
    path.has_root() || matches!(path.components().next(), Some(Component::Prefix(_)))
}

/// cap-std's refusal: `PermissionDenied` made by the library, not by the OS (a denied
/// permission from the OS carries its error number).
fn is_escape(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::PermissionDenied && error.raw_os_error().is_none()
}

/// Asks the OS not to wait while opening, so that a FIFO opens at once (for reading)
/// or fails at once (for writing, when no reader has it open) instead of blocking
/// until another process opens its other end, and a terminal device cannot become
/// the process's controlling terminal before it is refused.
#[cfg(unix)]
fn without_waiting(options: &mut OpenOptions) {
    use cap_std::fs::OpenOptionsExt;
    use rustix::fs::OFlags;
    options.custom_flags((OFlags::NONBLOCK | OFlags::NOCTTY).bits().cast_signed());
}

#[cfg(not(unix))]
fn without_waiting(_: &mut OpenOptions) {}

/// Clears the `O_NONBLOCK` that [`without_waiting`] set, once the descriptor is known
/// to be a regular file: the caller gets the same blocking file as from the `fs`
/// factories.
#[cfg(unix)]
fn blocking_again(file: &File) -> io::Result<()> {
    use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};
    let flags = fcntl_getfl(file)?;
    fcntl_setfl(file, flags - OFlags::NONBLOCK)?;
    Ok(())
}

#[cfg(not(unix))]
fn blocking_again(_: &File) -> io::Result<()> {
    Ok(())
}

/// The OS's answer to opening something that is not a regular file: `ENXIO` (a FIFO
/// opened for writing without waiting while no reader has it, a Unix socket, a device
/// without a driver) or `EISDIR` (a directory opened for writing).
fn names_no_file(error: &io::Error) -> bool {
    #[cfg(unix)]
    if error.raw_os_error() == Some(rustix::io::Errno::NXIO.raw_os_error()) {
        return true;
    }
    error.kind() == io::ErrorKind::IsADirectory
}

/// Why a relative path that cap-std refused left the root: its `..` components climb
/// above it, or else a symlink on it leads out. Only for the message: the decision is
/// cap-std's.
fn climbs_out(path: &Path) -> EscapeKind {
    let mut depth = 0_usize;
    for component in path.components() {
        match component {
            Component::ParentDir => match depth.checked_sub(1) {
                Some(up) => depth = up,
                None => return EscapeKind::ParentDir,
            },
            Component::Normal(_) => depth += 1,
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    EscapeKind::Symlink
}

/// Why a [`Confined`] factory refused a path: the [`io_error`](FileError::io_error)
/// inside a refusal's [`FileError`] (of kind `PermissionDenied`), found with
/// [`Escape::of`].
///
/// `Display` reads "refused: `..` climbs out of the root", without the root's path,
/// which [`root`](Escape::root) gives: a message may reach whoever sent the recipe
/// ([what a message reveals](crate::confine#what-an-error-message-reveals)). The
/// refusal is guardian's own, so the `FileError` around it ends its `Display` with it
/// and has no [`source`](Error::source) (the crate's [rule for errors](crate#errors)):
/// "cannot open ../../etc/passwd for appending: refused: `..` climbs out of the root".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Escape {
    root: PathBuf,
    kind: EscapeKind,
}

/// Why a path was refused; see [`Escape::kind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EscapeKind {
    /// The path is absolute (or, on Windows, has a drive or UNC prefix): a confined
    /// recipe names a file relative to the root.
    Absolute,
    /// Its `..` components climb above the root.
    ParentDir,
    /// A symlink on the path (a directory on the way, or the file itself, dangling
    /// or not) leads out of the root.
    Symlink,
    /// The path names something other than a regular file: a FIFO, a Unix socket, a
    /// device or a directory. A device node reaches past the root whatever its path,
    /// and a FIFO would make the open wait for another process, so a confined factory
    /// opens regular files only (see the [module docs](crate::confine#special-files)).
    NotAFile,
}

impl Escape {
    /// The refusal inside `error`, if `error` is one.
    ///
    /// ```
    /// use guardian_core::Factory;
    /// use guardian_core::confine::{Confined, Escape, EscapeKind};
    /// use guardian_core::fs::ReadFile;
    ///
    /// let here = Confined::new(env!("CARGO_MANIFEST_DIR"), ReadFile)?;
    /// let refused = here.open("/etc/passwd".as_ref()).unwrap_err();
    /// let escape = Escape::of(&refused).unwrap();
    /// assert_eq!(escape.kind(), EscapeKind::Absolute);
    /// assert_eq!(escape.root(), here.root());
    ///
    /// let missing = here.open("no-such-file".as_ref()).unwrap_err();
    /// assert!(Escape::of(&missing).is_none()); // not a refusal: just not there
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn of(error: &FileError) -> Option<&Escape> {
        error.io_error().get_ref()?.downcast_ref()
    }

    /// Why the path was refused.
    #[must_use]
    pub fn kind(&self) -> EscapeKind {
        self.kind
    }

    /// The root the path had to stay below.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl fmt::Display for Escape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the root's path: a message may reach whoever sent the recipe, and the
        // root is in `root()` for your logs (see the module docs).
        f.write_str(match self.kind {
            EscapeKind::Absolute => {
                "refused: the path is absolute, and a confined recipe names a file relative \
                 to the root"
            }
            EscapeKind::ParentDir => "refused: `..` climbs out of the root",
            EscapeKind::Symlink => "refused: a symlink on the path leads out of the root",
            EscapeKind::NotAFile => {
                "refused: it is not a regular file, and a confined factory opens only regular \
                 files"
            }
        })
    }
}

impl Error for Escape {}

#[cfg(test)]
mod tests {
    use super::{EscapeKind, climbs_out};
    use std::path::Path;

    #[test]
    fn a_refusal_says_whether_dot_dot_climbs_out() {
        for (path, kind) in [
            ("..", EscapeKind::ParentDir),
            ("a/../..", EscapeKind::ParentDir),
            ("./../a", EscapeKind::ParentDir),
            ("a/b/../../../c", EscapeKind::ParentDir),
            ("link/x", EscapeKind::Symlink),
            ("a/../link/../b", EscapeKind::Symlink),
        ] {
            assert_eq!(climbs_out(Path::new(path)), kind, "{path}");
        }
    }
}
