//! Helpers shared by the workspace's integration tests, examples and benchmarks.
//! Not published.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

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

/// Runs the tests that take it one at a time within a test binary: descriptor counts
/// are process-wide, and tests run as parallel threads.
pub fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}
