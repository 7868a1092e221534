//! Factories for loading untrusted recipes: [`Confined`] files that are opened only
//! below a root directory, and [`ConfinedTcp`] connections made only to an
//! [`AllowList`] (feature `confine`).
//!
//! # A recipe is a capability
//!
//! Python's pickle runs the instructions in the data it loads, so unpickling untrusted
//! data runs the sender's code. serde runs no code on load: a `#[rebuild(serde)]` type
//! reads its blueprint (plain config values) and opens each resource through the
//! factory named in the source. But the recipe *chooses what gets opened*: a loaded
//! `{"path": "/home/me/.ssh/id_ed25519"}` or `{"server": "10.0.0.1:6379"}` is opened as
//! faithfully as the recipe you saved yourself. A recipe that comes from outside
//! (a file a user uploads, a message on the network) must therefore be loaded through
//! factories that can only open what you allow:
//!
//! - [`Confined<M>`](crate::confine::Confined) opens files in the access mode `M` (one of the
//!   [`fs`](crate::fs) factories: [`ReadFile`], [`ResumeReadFile`], [`AppendFile`],
//!   [`ExclusiveFile`]) only below a root directory. An absolute path, a path that
//!   climbs out with `..`, and a path that leaves through a symlink are refused with
//!   a [`FileError`] naming the path, the root and why ([`Escape`]); nothing outside
//!   the root is opened or created.
//! - [`ConfinedTcp`] connects only to the hosts and ports of an [`AllowList`]; any
//!   other address is refused before it is resolved or connected to ([`NotAllowed`]).
//! - [`OnceConfined`] holds either in a `static`, set once at startup, so that a
//!   `#[resource(factory = ...)]` can name it.
//!
//! ```
//! use guardian_core::confine::{Confined, Escape, EscapeKind, OnceConfined};
//! use guardian_core::fs::{AppendFile, FileError};
//! use guardian_core::{FromBlueprint, Rebuild};
//! use std::{fs::File, path::PathBuf};
//!
//! /// Every log a recipe may name lives below one directory, chosen at startup.
//! static LOGS: OnceConfined<Confined<AppendFile>> = OnceConfined::new();
//!
//! #[derive(Rebuild)]
//! #[rebuild(blueprint)]
//! struct MatchLogger {
//!     /// Relative to the root of `LOGS`.
//!     #[config]
//!     path: PathBuf,
//!     #[resource(factory = LOGS, from = path)]
//!     log: File,
//! }
//!
//! # let dir = std::env::temp_dir().join(format!("guardian-confine-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! LOGS.set(Confined::new(&dir, AppendFile)?)?; // once, before loading any recipe
//!
//! let logger = MatchLogger::from_blueprint(MatchLoggerBlueprint { path: "match.log".into() })?;
//! assert!(dir.join("match.log").exists());
//!
//! let Err(refused) = MatchLogger::from_blueprint(MatchLoggerBlueprint { path: "../../etc/passwd".into() })
//! else { panic!("a recipe escaped its root") };
//! let why = refused.factory_error().downcast_ref::<FileError>().and_then(Escape::of);
//! assert_eq!(why.map(Escape::kind), Some(EscapeKind::ParentDir));
//! logger.close()?;
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! With `#[rebuild(serde)]`, the same refusal is the error of `serde_json::from_str`
//! (or any format's), and its message carries the factory's: "cannot load: cannot
//! rebuild `MatchLogger`: resource field `log` failed to open: cannot open
//! ../../etc/passwd for appending: refused: `..` climbs out of the root /srv/jar".
//!
//! # Files: how the root is kept
//!
//! [`Confined::new`] opens the root directory once and keeps the descriptor (shared,
//! through an [`Arc`], by every clone of the factory). Each open resolves the recipe's
//! path *relative to that descriptor* with [`cap-std`](https://docs.rs/cap-std), which
//! lets the kernel confine the lookup where it can (`openat2` with `RESOLVE_BENEATH` on
//! Linux 5.6 and later) and otherwise resolves the path one component at a time with
//! `O_NOFOLLOW`, following a symlink only if its target is still below the root. A
//! path that would leave is refused. This is not a check on the path's
//! text, which cannot see symlinks, nor a `canonicalize` followed by an open, which a
//! symlink swapped in between defeats: the path is judged by the same lookup that
//! opens the file. A dangling symlink that points outside is refused too, so a
//! creating factory ([`AppendFile`], [`ExclusiveFile`]) never creates a file outside.
//!
//! The recipe is a plain [`Path`] (`Config = Path`, so a field is a `PathBuf`),
//! relative to the root. There is no "relative path" type that checks it when the
//! recipe is built or deserialised, on purpose: only the factory knows the root, a
//! path that looks harmless can leave through a symlink created later, and a recipe
//! edited with [`rebuild_with`](crate::FromBlueprint::rebuild_with) must be judged
//! again. So the factory judges the path at every open, and that one judgement is the
//! only one there is. `..` is allowed while it stays below the root (`a/../b`).
//!
//! What confinement does *not* cover: hard links and bind mounts inside the root that
//! point outside (they are part of the root, as its owner made it), special files
//! inside the root (opening a FIFO for reading waits for a writer), and the root
//! directory being renamed (the descriptor follows it; error messages show the path
//! it had when it was opened).
//!
//! # Connections: what the allow-list checks
//!
//! An [`AllowList`] lists `host:port` pairs, the host a DNS name or an IP address.
//! [`ConfinedTcp`] checks a [`TcpConfig`](crate::net::TcpConfig)'s address in two steps:
//!
//! 1. **As written, before anything else.** The host and port must match an entry
//!    (names without regard to ASCII case or a trailing dot; IP addresses as
//!    addresses). Nothing is resolved before this passes, so a refused recipe causes
//!    no DNS query either (a query for `secret.attacker.example` is itself a leak).
//! 2. **Every resolved address.** A listed IP address is used as it is. A listed name
//!    is resolved, and each address it resolves to is allowed only if it is a public
//!    address, or is itself on the list with that port. An internal address
//!    (loopback, private, link-local, shared, unspecified, multicast, and the same
//!    inside IPv4-mapped and NAT64 IPv6 addresses) that is not listed is skipped, so
//!    a name whose DNS answer is changed to point inside ("DNS rebinding") does not
//!    reach an internal service. If no address is left, the open is refused. To reach
//!    an internal service by name, list its addresses too.
//!
//! The connection is made to the addresses that were checked, not to a second lookup
//! of the name. Then every option of the `TcpConfig` is set, as
//! [`TcpConnect`](crate::net::TcpConnect) does.
//!
//! [`Confined`]: crate::confine::Confined
//! [`Confined::new`]: crate::confine::Confined::new
//! [`ConfinedTcp`]: crate::confine::ConfinedTcp
//! [`AllowList`]: crate::confine::AllowList
//! [`OnceConfined`]: crate::confine::OnceConfined
//! [`Escape`]: crate::confine::Escape
//! [`NotAllowed`]: crate::confine::NotAllowed
//! [`Arc`]: std::sync::Arc
//! [`Path`]: std::path::Path
//! [`ReadFile`]: crate::fs::ReadFile
//! [`ResumeReadFile`]: crate::fs::ResumeReadFile
//! [`AppendFile`]: crate::fs::AppendFile
//! [`ExclusiveFile`]: crate::fs::ExclusiveFile
//! [`FileError`]: crate::fs::FileError

use std::error::Error;
use std::fmt;
use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, OnceLock};

use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions};

use crate::Factory;
use crate::fs::{
    AbsolutePath, AppendFile, ExclusiveFile, FileError, FileOp, ReadFile, ResumeReadFile,
};
use crate::net::{NetError, NetOp, TcpConfig, TcpConnect};

mod sealed {
    /// How an access mode opens a file below a root.
    pub trait Mode {
        /// The operation named in errors.
        const OP: crate::fs::FileOp;
        /// Whether a reopen starts at the live handle's position.
        const RESUMES: bool = false;
        /// Whether an open takes the exclusive lock.
        const LOCKS: bool = false;
        /// The open options.
        fn options() -> cap_std::fs::OpenOptions;
    }

    /// A confined factory: what to say when its [`OnceConfined`](super::OnceConfined)
    /// was never set.
    pub trait Unset: crate::Factory {
        /// The error of an open before `set`.
        fn unset(config: &Self::Config) -> Self::Error;
    }
}

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

/// A factory that can be held by [`OnceConfined`]: [`Confined`] and [`ConfinedTcp`].
/// Sealed.
pub trait ConfinedFactory: sealed::Unset {}

struct Root {
    dir: Dir,
    /// The root's path when it was opened, for messages.
    path: PathBuf,
}

/// Opens files in the access mode `M` only below a root directory; the recipe is a
/// [`Path`] relative to the root.
///
/// An absolute path, a path that climbs out with `..` and a path that leaves through
/// a symlink are refused with a [`FileError`] whose message names the path, the root
/// and why; [`Escape::of`] tells which. Nothing outside the root is opened or
/// created. Other failures (a missing file, a denied permission) are reported as `M`
/// reports them, naming the file's path below the root. See the
/// [module docs](self) for how the root is kept and what is not covered.
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
///     assert!(refused.to_string().contains(&sandbox.join("jar").display().to_string()));
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
    /// Fails with a [`FileError`] of operation [`FileOp::OpenRoot`] if `root` is not
    /// a directory that can be opened.
    pub fn new(root: impl AsRef<Path>, mode: M) -> Result<Self, FileError> {
        let root = root.as_ref();
        let path = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
        match Dir::open_ambient_dir(root, ambient_authority()) {
            Ok(dir) => Ok(Self {
                root: Arc::new(Root { dir, path }),
                mode,
            }),
            Err(error) => Err(FileError::new(FileOp::OpenRoot, Some(&path), error)),
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
        let file = match self.root.dir.open_with(path, &M::options()) {
            Ok(file) => file.into_std(),
            Err(error) if is_escape(&error) => {
                return Err(self.escape(path, climbs_out(path)));
            }
            Err(error) => {
                return Err(FileError::new(
                    M::OP,
                    Some(&self.root.path.join(path)),
                    error,
                ));
            }
        };
        if M::LOCKS {
            return crate::fs::lock_exclusive(file, &self.root.path.join(path));
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
        if !M::RESUMES {
            return self.open_below(path);
        }
        let shown = || self.root.path.join(path);
        let position = {
            let mut live = live;
            live.stream_position()
                .map_err(|error| FileError::new(FileOp::Position, Some(&shown()), error))?
        };
        let mut file = self.open_below(path)?;
        match file.seek(SeekFrom::Start(position)) {
            Ok(_) => Ok(file),
            Err(error) => Err(FileError::new(FileOp::Seek, Some(&shown()), error)),
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

fn is_absolute(path: &Path) -> bool {
    path.has_root() || matches!(path.components().next(), Some(Component::Prefix(_)))
}

/// cap-std's refusal: `PermissionDenied` made by the library, not by the OS (a denied
/// permission from the OS carries its error number).
fn is_escape(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::PermissionDenied && error.raw_os_error().is_none()
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
/// `Display` reads "refused: `..` climbs out of the root /srv/jar". The refusal is
/// guardian's own, so the `FileError` around it ends its `Display` with it and has no
/// [`source`](Error::source) (the crate's [rule for errors](crate#errors)): "cannot
/// open ../../etc/passwd for appending: refused: `..` climbs out of the root /srv/jar".
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
        let root = self.root.display();
        match self.kind {
            EscapeKind::Absolute => write!(
                f,
                "refused: the path is absolute, and a confined recipe names a file relative \
                 to the root {root}"
            ),
            EscapeKind::ParentDir => write!(f, "refused: `..` climbs out of the root {root}"),
            EscapeKind::Symlink => write!(
                f,
                "refused: a symlink on the path leads out of the root {root}"
            ),
        }
    }
}

impl Error for Escape {}

/// Which hosts and ports a [`ConfinedTcp`] may connect to.
///
/// Each entry is a host, a DNS name or an IP address, and a port. See the
/// [module docs](self#connections-what-the-allow-list-checks) for the two checks:
/// the address as written, before any lookup, then every address a name resolves to
/// (public, or listed).
///
/// ```
/// use guardian_core::confine::AllowList;
///
/// let allow = AllowList::new()
///     .with_host("db.internal", 5432)
///     .with_host("10.0.0.7", 5432) // where db.internal points: internal, so listed too
///     .with_host("[::1]", 8080);
/// assert!(allow.allows("DB.internal.:5432")); // names ignore ASCII case and a final dot
/// assert!(allow.allows("[::1]:8080"));
/// assert!(!allow.allows("db.internal:22")); // another port
/// assert!(!allow.allows("evil.example:5432"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowList {
    entries: Vec<(Host, u16)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Host {
    /// Lowercase, without a trailing dot.
    Name(String),
    Ip(IpAddr),
}

impl Host {
    /// A host as written: an IP address (IPv6 in brackets or not) or a name.
    fn parse(host: &str) -> Self {
        let bare = host
            .strip_prefix('[')
            .and_then(|inner| inner.strip_suffix(']'))
            .unwrap_or(host);
        match bare.parse::<IpAddr>() {
            Ok(ip) => Host::Ip(ip),
            Err(_) => {
                let name = host.strip_suffix('.').unwrap_or(host);
                Host::Name(name.to_ascii_lowercase())
            }
        }
    }
}

impl AllowList {
    /// An empty list: allows nothing.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Allows `host` (a DNS name, or an IP address: `"10.0.0.7"`, `"::1"`, `"[::1]"`)
    /// on `port`.
    #[must_use]
    pub fn with_host(mut self, host: &str, port: u16) -> Self {
        self.entries.push((Host::parse(host), port));
        self
    }

    /// Allows the address `address` (an IP address and a port).
    #[must_use]
    pub fn with_addr(mut self, address: SocketAddr) -> Self {
        self.entries.push((Host::Ip(address.ip()), address.port()));
        self
    }

    /// Whether `address` (`"host:port"`, as in a [`TcpConfig`]) is on the list as
    /// written: the first check, made without any lookup. A listed name may still be
    /// refused when it resolves only to internal addresses that are not listed.
    #[must_use]
    pub fn allows(&self, address: &str) -> bool {
        split(address).is_some_and(|(host, port)| self.lists(&host, port))
    }

    fn lists(&self, host: &Host, port: u16) -> bool {
        self.entries
            .iter()
            .any(|(listed, listed_port)| *listed_port == port && listed == host)
    }

    /// Checks `address` as written, resolves it (only if it passed), and returns the
    /// resolved addresses that are allowed; refuses, with a [`NetError`] of operation
    /// [`NetOp::Connect`] holding a [`NotAllowed`], if it is not listed or no
    /// resolved address is left. A failed lookup is a [`NetOp::Resolve`] error.
    ///
    /// ```
    /// use guardian_core::confine::{AllowList, NotAllowed, NotAllowedKind};
    ///
    /// let allow = AllowList::new().with_host("127.0.0.1", 8080).with_host("localhost", 8080);
    /// assert_eq!(allow.resolve("127.0.0.1:8080")?, ["127.0.0.1:8080".parse()?]);
    ///
    /// let refused = allow.resolve("127.0.0.1:22").unwrap_err();
    /// assert_eq!(NotAllowed::of(&refused).unwrap().kind(), NotAllowedKind::NotListed);
    ///
    /// // `localhost` is listed, but of its loopback addresses only 127.0.0.1 is.
    /// assert!(allow.resolve("localhost:8080")?.iter().all(|a| a.ip().is_loopback() && a.is_ipv4()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resolve(&self, address: &str) -> Result<Vec<SocketAddr>, NetError> {
        let refuse = |kind, resolved| {
            NetError::refused(
                NetOp::Connect,
                address,
                io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    NotAllowed { kind, resolved },
                ),
            )
        };
        let Some((host, port)) = split(address) else {
            return Err(refuse(NotAllowedKind::NotListed, Vec::new()));
        };
        if !self.lists(&host, port) {
            return Err(refuse(NotAllowedKind::NotListed, Vec::new()));
        }
        let name = match host {
            // A listed address, used as it is: nothing to resolve.
            Host::Ip(ip) => return Ok(vec![SocketAddr::new(ip, port)]),
            Host::Name(name) => name,
        };
        let resolved: Vec<SocketAddr> = (name.as_str(), port)
            .to_socket_addrs()
            .map_err(|error| NetError::new(NetOp::Resolve, address, error))?
            .collect();
        let allowed: Vec<SocketAddr> = resolved
            .iter()
            .copied()
            .filter(|resolved| {
                self.lists(&Host::Ip(resolved.ip()), resolved.port()) || !is_internal(resolved.ip())
            })
            .collect();
        if allowed.is_empty() && !resolved.is_empty() {
            return Err(refuse(NotAllowedKind::ResolvedInternal, resolved));
        }
        Ok(allowed)
    }
}

/// `host:port` split as `ToSocketAddrs for str` does: a socket address, or else a
/// host and a port after the last `:`.
fn split(address: &str) -> Option<(Host, u16)> {
    if let Ok(socket) = address.parse::<SocketAddr>() {
        return Some((Host::Ip(socket.ip()), socket.port()));
    }
    let (host, port) = address.rsplit_once(':')?;
    Some((Host::parse(host), port.parse().ok()?))
}

/// Whether `ip` is an address a public name should never lead to.
fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal_v4(v4);
            }
            let segments = v6.segments();
            // NAT64's well-known prefix 64:ff9b::/96 embeds an IPv4 address.
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                // Truncation intended: the low 32 bits are the embedded address.
                #[allow(clippy::cast_possible_truncation)]
                return is_internal_v4(Ipv4Addr::from_bits(v6.to_bits() as u32));
            }
            v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
                // Site-local fec0::/10 (deprecated) and ::/96 (IPv4-compatible, deprecated).
                || segments[0] & 0xffc0 == 0xfec0
                || segments[..6] == [0; 6]
        }
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0 // "this network"
        || (a == 100 && b & 0xc0 == 64) // shared address space (carrier-grade NAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || a >= 240 // reserved
}

/// Why a [`ConfinedTcp`] (or [`AllowList::resolve`]) refused an address: the
/// [`io_error`](NetError::io_error) inside the refusal's [`NetError`] (of kind
/// `PermissionDenied`), found with [`NotAllowed::of`].
///
/// `Display` reads "refused: it is not on the allow-list", or for a listed name
/// "refused: it resolved only to internal addresses that are not on the allow-list:
/// 127.0.0.1:6379". The refusal is guardian's own, so the `NetError` around it names
/// the address as written, ends its `Display` with the refusal and has no
/// [`source`](Error::source) (the crate's [rule for errors](crate#errors)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotAllowed {
    kind: NotAllowedKind,
    resolved: Vec<SocketAddr>,
}

/// Why an address was refused; see [`NotAllowed::kind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NotAllowedKind {
    /// The host and port, as written, are not on the list (nothing was resolved).
    NotListed,
    /// The name is listed, but every address it resolved to is internal and not
    /// listed (nothing was connected to).
    ResolvedInternal,
}

impl NotAllowed {
    /// The refusal inside `error`, if `error` is one.
    #[must_use]
    pub fn of(error: &NetError) -> Option<&NotAllowed> {
        error.io_error().get_ref()?.downcast_ref()
    }

    /// Why the address was refused.
    #[must_use]
    pub fn kind(&self) -> NotAllowedKind {
        self.kind
    }

    /// For [`NotAllowedKind::ResolvedInternal`], what the name resolved to.
    #[must_use]
    pub fn resolved(&self) -> &[SocketAddr] {
        &self.resolved
    }
}

impl fmt::Display for NotAllowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            NotAllowedKind::NotListed => f.write_str("refused: it is not on the allow-list"),
            NotAllowedKind::ResolvedInternal => {
                f.write_str(
                    "refused: it resolved only to internal addresses that are not on the \
                     allow-list: ",
                )?;
                for (i, address) in self.resolved.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{address}")?;
                }
                Ok(())
            }
        }
    }
}

impl Error for NotAllowed {}

/// Connects a [`TcpStream`] from a [`TcpConfig`], as
/// [`TcpConnect`] does, but only to an address its
/// [`AllowList`] allows; anything else is refused before it is resolved or connected
/// to.
///
/// See [`AllowList::resolve`] for the check, and the
/// [module docs](self#connections-what-the-allow-list-checks) for how DNS is handled.
/// Every option of the config is set on the new stream; closing shuts it down, as
/// `TcpConnect` does. Cloning is cheap and shares the list.
///
/// ```
/// use guardian_core::Factory;
/// use guardian_core::confine::{AllowList, ConfinedTcp, NotAllowed};
/// use guardian_core::net::TcpConfig;
/// use std::net::TcpListener;
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let server = listener.local_addr()?;
/// let connect = ConfinedTcp::new(AllowList::new().with_addr(server));
///
/// let stream = connect.open(&TcpConfig::from(server))?;
/// connect.close(stream)?;
///
/// let refused = connect.open(&TcpConfig::new("127.0.0.1:22")).unwrap_err();
/// assert!(NotAllowed::of(&refused).is_some());
/// assert_eq!(refused.to_string(), "cannot connect to 127.0.0.1:22: refused: it is not on the allow-list");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct ConfinedTcp {
    allow: Arc<AllowList>,
}

impl ConfinedTcp {
    /// A factory that connects only where `allow` allows.
    #[must_use]
    pub fn new(allow: AllowList) -> Self {
        Self {
            allow: Arc::new(allow),
        }
    }

    /// The allow-list.
    #[must_use]
    pub fn allow_list(&self) -> &AllowList {
        &self.allow
    }
}

impl Factory for ConfinedTcp {
    type Config = TcpConfig;
    type Resource = TcpStream;
    type Error = NetError;

    fn open(&self, config: &TcpConfig) -> Result<TcpStream, NetError> {
        let target = config.address();
        let addresses = self.allow.resolve(target)?;
        crate::net::connect_any(config, addresses)
    }

    fn close(&self, stream: TcpStream) -> Result<(), NetError> {
        TcpConnect.close(stream)
    }
}

impl sealed::Unset for ConfinedTcp {
    #[cold]
    fn unset(config: &TcpConfig) -> NetError {
        NetError::refused(NetOp::Connect, config.address(), unset_error())
    }
}
impl ConfinedFactory for ConfinedTcp {}

#[cold]
fn unset_error() -> io::Error {
    io::Error::other(
        "refused: this confined factory has not been set (call `OnceConfined::set` at \
         startup, before loading recipes)",
    )
}

/// A confined factory ([`Confined`] or [`ConfinedTcp`]) in a `static`, set once at
/// startup: what a `#[resource(factory = ...)]` names.
///
/// `factory = EXPR` is evaluated every time the resource is opened, reopened or
/// closed, and cannot return an error, while a confined factory is made at run time
/// (the root is opened, the list is read from your settings) and can fail. So make it
/// once, where errors can be handled, and put it here; the derive names the static.
/// Until it is set, every open is refused with an error that says so (no panic).
///
/// ```
/// use guardian_core::confine::{AllowList, ConfinedTcp, OnceConfined};
/// use guardian_core::net::TcpConfig;
/// use guardian_core::{FromBlueprint, Rebuild};
/// use std::net::{TcpListener, TcpStream};
///
/// static UPSTREAM: OnceConfined<ConfinedTcp> = OnceConfined::new();
///
/// #[derive(Rebuild)]
/// #[rebuild(blueprint)]
/// struct Client {
///     #[config]
///     server: TcpConfig,
///     #[resource(factory = UPSTREAM, from = server)]
///     stream: TcpStream,
/// }
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let server = TcpConfig::from(listener.local_addr()?);
///
/// let Err(early) = Client::from_blueprint(ClientBlueprint { server: server.clone() }) else {
///     panic!("connected before the allow-list was set");
/// };
/// assert!(early.factory_error().to_string().contains("has not been set"));
///
/// UPSTREAM.set(ConfinedTcp::new(AllowList::new().with_addr(listener.local_addr()?)))?;
/// let client = Client::from_blueprint(ClientBlueprint { server })?;
/// client.close()?;
/// assert!(UPSTREAM.set(ConfinedTcp::new(AllowList::new())).is_err()); // set once
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct OnceConfined<F> {
    cell: OnceLock<F>,
}

impl<F> OnceConfined<F> {
    /// An empty slot, for a `static`.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            cell: OnceLock::new(),
        }
    }

    /// Sets the factory, once; a second call is refused with [`AlreadySet`] and
    /// leaves the first factory in place.
    pub fn set(&self, factory: F) -> Result<&F, AlreadySet> {
        self.cell.set(factory).map_err(|_| AlreadySet)?;
        self.cell.get().ok_or(AlreadySet)
    }

    /// The factory, once set.
    #[must_use]
    pub fn get(&self) -> Option<&F> {
        self.cell.get()
    }
}

impl<F> Default for OnceConfined<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: fmt::Debug> fmt::Debug for OnceConfined<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OnceConfined")
            .field(&self.cell.get())
            .finish()
    }
}

impl<F: ConfinedFactory> Factory for OnceConfined<F> {
    type Config = F::Config;
    type Resource = F::Resource;
    type Error = F::Error;

    fn open(&self, config: &F::Config) -> Result<F::Resource, F::Error> {
        match self.cell.get() {
            Some(factory) => factory.open(config),
            None => Err(F::unset(config)),
        }
    }

    fn reopen(&self, config: &F::Config, live: &F::Resource) -> Result<F::Resource, F::Error> {
        match self.cell.get() {
            Some(factory) => factory.reopen(config, live),
            None => Err(F::unset(config)),
        }
    }

    fn close(&self, resource: F::Resource) -> Result<(), F::Error> {
        match self.cell.get() {
            Some(factory) => factory.close(resource),
            // Nothing could have been opened through it; drop what we were given.
            None => {
                drop(resource);
                Ok(())
            }
        }
    }
}

/// [`OnceConfined::set`] was called on a slot that already holds a factory (a refusal,
/// without a [`source`](Error::source): the crate's [rule for errors](crate#errors)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlreadySet;

impl fmt::Display for AlreadySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("this confined factory is already set; it is set once, at startup")
    }
}

impl Error for AlreadySet {}

#[cfg(test)]
mod tests {
    use super::{EscapeKind, Host, climbs_out, is_internal, split};
    use std::net::IpAddr;
    use std::path::Path;

    #[test]
    fn internal_addresses_are_the_ones_a_public_name_must_not_lead_to() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "192.0.0.8",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "fec0::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "::127.0.0.1",
        ] {
            let ip: IpAddr = internal.parse().unwrap();
            assert!(is_internal(ip), "{internal} should be internal");
        }
        for public in [
            "1.1.1.1",
            "93.184.216.34",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            let ip: IpAddr = public.parse().unwrap();
            assert!(!is_internal(ip), "{public} should be public");
        }
    }

    #[test]
    fn addresses_split_as_std_resolves_them() {
        let ip = |s: &str| Host::Ip(s.parse().unwrap());
        let name = |s: &str| Host::Name(s.to_owned());
        assert_eq!(split("10.0.0.7:80"), Some((ip("10.0.0.7"), 80)));
        assert_eq!(split("[::1]:80"), Some((ip("::1"), 80)));
        assert_eq!(split("::1:80"), Some((ip("::1"), 80)));
        assert_eq!(
            split("DB.Internal.:5432"),
            Some((name("db.internal"), 5432))
        );
        assert_eq!(split("127.1:80"), Some((name("127.1"), 80)));
        assert_eq!(split("db.internal"), None);
        assert_eq!(split("db.internal:http"), None);
        assert_eq!(split("db.internal:65536"), None);
    }

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
