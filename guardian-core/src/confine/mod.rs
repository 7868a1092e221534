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
//!   a [`FileError`] naming the path and why ([`Escape`]); nothing outside
//!   the root is opened or created. Only regular files are opened: a FIFO, socket,
//!   device or directory is refused at once ([special files](#special-files)).
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
//! ../../etc/passwd for appending: refused: `..` climbs out of the root".
//!
//! # Loading in two steps
//!
//! `serde_json::from_str::<MatchLogger>(text)` opens the file while it deserialises,
//! so two things are lost in one step, and both come back in two:
//!
//! - **The typed error.** serde carries a load's error as text, and some formats
//!   drop even that (postcard reports every custom error as "Serde Deserialization
//!   Error"). Deserialise the blueprint first, then call
//!   [`from_blueprint`](crate::FromBlueprint::from_blueprint): a refusal is a
//!   [`RebuildError`](crate::RebuildError) that names the field and holds the
//!   factory's error, whose [`Escape`] or [`NotAllowed`] code can read.
//! - **Nothing is opened until the whole input has parsed.** In one step, the file
//!   of `{"path": "x.log"} junk` is opened (below the root) before `serde_json` finds
//!   the trailing text and fails; the opened value is then dropped without being
//!   closed. Parsing the blueprint first fails with nothing opened.
//!
//! ```
//! # use guardian_core::confine::{Confined, OnceConfined};
//! # use guardian_core::fs::AppendFile;
//! # use guardian_core::{FromBlueprint, Rebuild};
//! # use std::{fs::File, path::PathBuf};
//! # static LOGS: OnceConfined<Confined<AppendFile>> = OnceConfined::new();
//! # #[derive(Rebuild)]
//! # #[rebuild(blueprint)]
//! # struct MatchLogger {
//! #     #[config]
//! #     path: PathBuf,
//! #     #[resource(factory = LOGS, from = path)]
//! #     log: File,
//! # }
//! # fn parse(_: &str) -> Result<MatchLoggerBlueprint, Box<dyn std::error::Error>> {
//! #     Ok(MatchLoggerBlueprint { path: "../../etc/passwd".into() })
//! # }
//! # let dir = std::env::temp_dir().join(format!("guardian-two-step-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! # LOGS.set(Confined::new(&dir, AppendFile)?)?;
//! # let untrusted = "";
//! // With `#[rebuild(serde)]` the blueprint is `Deserialize`:
//! // `let blueprint: MatchLoggerBlueprint = serde_json::from_str(untrusted)?;`
//! let blueprint = parse(untrusted)?; // step 1: the whole input parses, nothing opened
//! match MatchLogger::from_blueprint(blueprint) {
//!     // step 2: opens
//!     Ok(logger) => logger.close()?,
//!     Err(refused) => {
//!         eprintln!("recipe refused: {refused}"); // for your logs; the sender gets less
//!         assert_eq!(refused.field(), "log");
//!     }
//! }
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Files: how the root is kept
//!
//! [`Confined::new`] opens the root directory once and keeps the descriptor (shared,
//! through an [`Arc`], by every clone of the factory). A root that cannot be opened
//! fails there, at startup, with a [`RootError`]: not a [`FileError`], whose operations
//! are those of the file factories, because no factory was opening anything yet. Each open resolves the recipe's
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
//! point outside (they are part of the root, as its owner made it), and the root
//! directory being renamed (the descriptor follows it).
//!
//! # Special files
//!
//! A confined factory opens **regular files only**. A FIFO, a Unix socket, a device
//! node or a directory inside the root (or reached through a symlink that stays
//! inside) is refused with [`EscapeKind::NotAFile`], in every mode and at once: anyone
//! who can make a FIFO in the root could otherwise stall every load (opening a FIFO
//! waits for its other end), and a device node reaches past the root whatever its
//! path.
//!
//! The file is opened with `O_NONBLOCK` (and `O_NOCTTY`), its type is read from the
//! descriptor that was opened (`fstat`, not a check of the path that a swapped file
//! could slip past), anything but a regular file is closed and refused, and then
//! `O_NONBLOCK` is cleared: the `File` you get blocks as the [`fs`](crate::fs)
//! factories' do. A FIFO opened for writing while nobody reads it fails at the OS with
//! `ENXIO`, as does a socket; that, and `EISDIR` for a directory opened for writing,
//! is the same refusal. Two things the check on the descriptor cannot avoid, because
//! the open comes first: opening a device node runs the device's open (a tape may
//! rewind, a serial line raise its control lines; only root can make a device node,
//! with `mknod`), and a process waiting to write to a FIFO sees a reader come and go.
//! On a regular file, `O_NONBLOCK` changes one thing: where another process holds a
//! lease on it (`F_SETLEASE`), the open fails with `WouldBlock` at once instead of
//! waiting for the lease to be broken.
//!
//! # What an error message reveals
//!
//! The `Display` of a confined factory's error is written for your logs, and is safe
//! to write there: one line, whatever the recipe held. Text from the recipe (the path,
//! the address) has its control characters escaped (`\n`, `\u{1b}`, and the invisible
//! characters that reorder text) and is cut in the middle with `…` past about 150
//! characters; the exact text is in [`FileError::path`] and [`NetError::target`].
//!
//! A message shows the recipe's own text, what was being done, and why. It does
//! **not** show the root's path (an open that fails names the path as the recipe
//! wrote it, relative to the root) or the addresses a listed name resolved to: those
//! are in [`Escape::root`] and [`NotAllowed::resolved`], for code and for your logs.
//! The exception is closing, whose error names the file's real path as the OS reports
//! it: closing is your code's business, not the recipe's.
//!
//! Still, a message tells the sender of a recipe something: the OS's error below a
//! failed open says whether a path exists below the root (`NotFound`, a refusal,
//! `PermissionDenied`), and a refusal that a listed name resolved only to internal
//! addresses says where its DNS points. So a server does not send the message back to
//! whoever sent the recipe: it answers with a fixed text ("recipe refused") and logs
//! the details.
//!
//! # Connections: what the allow-list checks
//!
//! An [`AllowList`] lists `host:port` pairs, the host a DNS name or an IP address.
//! [`ConfinedTcp`] checks a [`TcpConfig`](crate::net::TcpConfig)'s address in two steps:
//!
//! 1. **As written, before anything else.** The host and port must match an entry
//!    (names without regard to ASCII case or a trailing dot; IP addresses as
//!    addresses; an IPv6 address's zone, `fe80::1%eth0`, as part of it: a listed
//!    scoped address connects through its interface). Nothing is resolved before this passes, so a refused recipe causes
//!    no DNS query either (a query for `secret.attacker.example` is itself a leak).
//! 2. **Every resolved address.** A listed IP address is used as it is. A listed name
//!    is resolved, and each address it resolves to is allowed only if it is a public
//!    address, or is itself on the list with that port. An
//!    [internal address](#internal-addresses) that is not listed is skipped, so a
//!    name whose DNS answer is changed to point inside ("DNS rebinding") does not
//!    reach an internal service. If no address is left, the open is refused. To reach
//!    an internal service by name, list its addresses too.
//!
//! The connection is made to the addresses that were checked, not to a second lookup
//! of the name, in turn until one accepts, all within one
//! [connect deadline](crate::confine::ConfinedTcp::with_connect_deadline) (10 seconds
//! unless set; each attempt gets the recipe's connect timeout or the time left,
//! whichever is shorter), so a DNS answer of many addresses that never answer cannot
//! stall a load. Then every option of the `TcpConfig` is set, as
//! [`TcpConnect`](crate::net::TcpConnect) does.
//!
//! ## Internal addresses
//!
//! An address is internal if IANA's special-purpose address registries
//! ([IPv4](https://www.iana.org/assignments/iana-ipv4-special-registry/),
//! [IPv6](https://www.iana.org/assignments/iana-ipv6-special-registry/)) say its
//! block is not globally reachable, and in the few cases below where this crate is
//! stricter. Transcribed from the registries as they stood in 2025: the newest IPv4
//! row is `192.0.0.10/32` (2017-02, with the RFC 8880 update of 2020-09), the newest
//! IPv6 row `100:0:0:1::/64` (RFC 9780, 2025-04). A block IANA adds later is judged by
//! the rules of this table until the table is updated; in IPv6, anything outside
//! `2000::/3` is internal already.
//!
//! | block | registry's name | globally reachable, per the registry | here |
//! |---|---|---|---|
//! | `0.0.0.0/8` (with `0.0.0.0/32`) | "This network" | no | internal |
//! | `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16` | Private-Use | no | internal |
//! | `100.64.0.0/10` | Shared Address Space | no | internal |
//! | `127.0.0.0/8` | Loopback | no | internal |
//! | `169.254.0.0/16` | Link Local (cloud metadata services) | no | internal |
//! | `192.0.0.0/24` (with `/29`, `.8`, `.170`, `.171`) | IETF Protocol Assignments | no | internal |
//! | `192.0.0.9/32`, `192.0.0.10/32` | PCP anycast, TURN anycast | yes | **internal**: an anycast address reaches the nearest server, the local network's |
//! | `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24` | Documentation | no | internal |
//! | `192.31.196.0/24`, `192.175.48.0/24` | AS112 | yes | public |
//! | `192.52.193.0/24` | AMT | yes | public |
//! | `192.88.99.0/24` (with `192.88.99.2/32`) | Deprecated 6to4 relay anycast, 6a44 relay | none (terminated), no | internal |
//! | `198.18.0.0/15` | Benchmarking | no | internal |
//! | `240.0.0.0/4` (with `255.255.255.255/32`) | Reserved, Limited Broadcast | no | internal |
//! | `224.0.0.0/4` | not in the registry: multicast | | internal |
//! | `::1/128`, `::/128` | Loopback, Unspecified | no | internal |
//! | `::ffff:0:0/96` | IPv4-mapped | no | **as the IPv4 address it embeds**: a connection to it is a connection to that address |
//! | `64:ff9b::/96` | IPv4-IPv6 Translation (NAT64 well-known) | yes | as the IPv4 address it embeds: the translator connects there |
//! | `64:ff9b:1::/48` | IPv4-IPv6 Translation (NAT64 local-use) | no | internal, whatever it embeds |
//! | `100::/64` | Discard-Only | no | internal |
//! | `100:0:0:1::/64` | Dummy IPv6 Prefix | no | internal |
//! | `2001::/23` (with `2001:2::/48` Benchmarking, `2001:10::/28` deprecated ORCHID) | IETF Protocol Assignments | no | internal |
//! | `2001::/32` | Teredo (embeds an obfuscated IPv4 address) | left open | **internal** |
//! | `2001:1::1/128` to `2001:1::3/128` | PCP, TURN, DNS-SD SRP anycast | yes | **internal**, as their IPv4 twins |
//! | `2001:3::/32`, `2001:4:112::/48`, `2620:4f:8000::/48` | AMT, AS112-v6, AS112 | yes | public |
//! | `2001:20::/28`, `2001:30::/28` | `ORCHIDv2`, Drone Remote ID (`DETs`) | yes | public |
//! | `2001:db8::/32`, `3fff::/20` | Documentation | no | internal |
//! | `2002::/16` | 6to4 (embeds an IPv4 address) | left open | **internal**, whatever it embeds: its reach depends on relays, and the embedded address may be private |
//! | `5f00::/16` | Segment Routing (`SRv6`) `SIDs` | no | internal |
//! | `fc00::/7` | Unique-Local | no | internal |
//! | `fe80::/10` | Link-Local Unicast | no | internal |
//! | `::/96` (IPv4-compatible, deprecated), `fec0::/10` (site-local, deprecated), `ff00::/8` (multicast), all else outside `2000::/3` | not in the registry | | internal: only `2000::/3` is allocated as global unicast |
//!
//! Every address not in the table is public. A listed address is always allowed,
//! internal or not: the table only decides where a listed *name* may lead.
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
//! [`RootError`]: crate::confine::RootError
//! [`EscapeKind::NotAFile`]: crate::confine::EscapeKind::NotAFile
//! [`Escape::root`]: crate::confine::Escape::root
//! [`NotAllowed::resolved`]: crate::confine::NotAllowed::resolved
//! [`FileError::path`]: crate::fs::FileError::path
//! [`NetError::target`]: crate::net::NetError::target

// One file per side, re-exported flat: `fs.rs` the confined files, `net.rs` the
// allow-list; this file holds `OnceConfined` and what both sides share.
mod fs;
mod internal;
mod net;

pub use fs::{Confined, ConfinedMode, Escape, EscapeKind, RootError};
pub use net::{AllowList, ConfinedTcp, NotAllowed, NotAllowedKind};

use std::error::Error;
use std::fmt;
use std::io;
use std::sync::OnceLock;

use crate::Factory;

/// The traits that keep [`ConfinedMode`] and [`ConfinedFactory`] to this crate's types.
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

/// A factory that can be held by [`OnceConfined`]: [`Confined`] and [`ConfinedTcp`].
/// Sealed.
pub trait ConfinedFactory: sealed::Unset {}

/// The reason every open of an unset [`OnceConfined`] is refused with.
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

// Written by hand, not derived: `OnceConfined(Some(factory))` or `OnceConfined(None)`,
// not the `OnceLock` it is built on.
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
