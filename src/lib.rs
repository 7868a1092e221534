//! Helpers shared by the workspace's integration tests, examples and benchmarks.
//! Not published.

use std::path::PathBuf;

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
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
