//! Sockets: factories that connect or bind afresh and set every option of the recipe
//! again: [`TcpConnect`] (a TCP client), [`TcpListen`], [`UdpBind`], and
//! [`UnixConnect`] (a Unix-socket client, on Unix).
//!
//! A socket cannot be copied: [`TcpStream::try_clone`] gives a second handle to the
//! *same* connection, whose reads steal each other's bytes. These factories open a
//! new socket from a recipe instead (an address and the options to set on it), so a
//! rebuilt value has a connection, or a port, of its own. Every failure is a
//! [`NetError`] that names the address and the operation.
//!
//! ```
//! use guardian_core::Rebuild;
//! use guardian_core::net::{TcpConfig, TcpConnect};
//! use guardian_core::Factory;
//! use std::net::{TcpListener, TcpStream};
//! use std::time::Duration;
//!
//! #[derive(Rebuild)]
//! struct Client {
//!     #[config]
//!     server: TcpConfig,
//!     #[resource(factory = TcpConnect, from = server)]
//!     stream: TcpStream,
//! }
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let server = TcpConfig::from(listener.local_addr()?)
//!     .with_nodelay(true)
//!     .with_read_timeout(Some(Duration::from_secs(5)));
//! let client = Client { stream: TcpConnect.open(&server)?, server };
//! let copy = client.rebuild()?; // a second connection, options re-applied
//!
//! let (_, first) = listener.accept()?;
//! let (_, second) = listener.accept()?;
//! assert_ne!(first, second); // two peers, two connections
//! assert!(copy.stream.nodelay()?);
//! copy.close()?; // shuts the connection down, reports a failure
//! client.close()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What a reopen gives back
//!
//! | factory | config | a reopen gives | close |
//! |---|---|---|---|
//! | [`TcpConnect`] | [`TcpConfig`] | a new connection (a new local port, a new peer on the server), every option of the config set again | `shutdown(Both)` |
//! | [`TcpListen`] | [`SocketAddr`] | on port 0, a new listener on a new port; on a fixed port, an error | drops it |
//! | [`UdpBind`] | [`UdpConfig`] | a new socket (on port 0, a new port), peer and timeouts set again; on a fixed port, `EADDRINUSE` | drops it |
//! | [`UnixConnect`] | [`AbsolutePath`] | a new connection to the socket at the path | `shutdown(Both)` |
//!
//! What a reopen does *not* give back:
//!
//! - **The live connection's state.** Bytes in flight, bytes received but not yet
//!   read, and anything the server tied to the live connection (a login, a
//!   transaction, a subscription) stay with the live socket. The copy is a new client
//!   as far as the server can tell; repeat the handshake on it.
//! - **Options set on the live socket after it was opened.** Only what the config
//!   says is set again. Put every option you rely on in the config; options the
//!   config has no room for (TTL, broadcast, multicast membership, non-blocking mode)
//!   must be set again on the copy by hand.
//! - **The same port, for a socket bound to a fixed one.** Two sockets cannot hold one
//!   address: a [`TcpListen`] on a fixed port refuses to reopen while the live listener
//!   exists, without trying, and a [`UdpBind`] on a fixed port gets `EADDRINUSE` from
//!   the OS; both errors say so. Port 0 asks the OS for a fresh ephemeral port at
//!   every open, so the copy listens somewhere else: read its address back with
//!   `local_addr()`.
//! - **The same server, necessarily.** [`TcpConfig`] keeps the address as written
//!   (`"db.internal:5432"`) and resolves it at every open, so a copy follows DNS.
//!
//! # Checking
//!
//! A pool (feature `r2d2`) asks [`Factory::check`] before it
//! hands a connection out again. [`TcpConnect`]'s check peeks at the stream without
//! waiting (non-blocking mode for one `peek`, then blocking mode again, as the
//! factory opens streams): it fails when the peer has closed the connection (the
//! peek reads end-of-stream: a server that restarted or timed the idle client out)
//! or the OS reports the connection failed (reset, unreachable, a keepalive that went
//! unanswered), and passes when there is nothing to read or bytes are waiting. It
//! sends nothing, so it cannot see a peer that vanished without a word (a host
//! powered off, a cable cut) until the OS does: turn on TCP keepalive, or let the
//! protocol's own ping find out. A stream put in non-blocking mode by hand is left
//! in blocking mode by the check.
//!
//! # Closing
//!
//! Closing a stream ([`TcpConnect`], [`UnixConnect`]) shuts it down in both directions
//! (`shutdown(Both)`), so the peer reads end-of-stream at once even if another handle
//! to the socket is still open, and reports a failure. `NotConnected` (`ENOTCONN`) is
//! not a failure: it means the connection was already gone (the peer reset it), and
//! a closed connection is what `close` wants. Listeners and UDP sockets close by
//! dropping.
//!
//! [`TcpConnect`]: crate::net::TcpConnect
//! [`TcpListen`]: crate::net::TcpListen
//! [`UdpBind`]: crate::net::UdpBind
//! [`UnixConnect`]: crate::net::UnixConnect
//! [`TcpConfig`]: crate::net::TcpConfig
//! [`UdpConfig`]: crate::net::UdpConfig
//! [`NetError`]: crate::net::NetError
//! [`SocketAddr`]: std::net::SocketAddr
//! [`TcpStream::try_clone`]: std::net::TcpStream::try_clone
//! [`AbsolutePath`]: crate::fs::AbsolutePath

use std::borrow::Cow;
use std::error::Error;
use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

use crate::Factory;
use crate::shown::Shown;

/// The recipe of a TCP connection: the address and every option to set on it.
///
/// The address is kept as written, `"host:port"` or an IP literal with its port, and
/// resolved at every open (for an IP literal, that is parsing, no DNS), so a rebuilt
/// connection goes where the name points *now*. The options default to the OS's: no
/// connect timeout (the OS's own, often minutes), no read or write timeout (block
/// for ever), `TCP_NODELAY` off.
///
/// ```
/// use guardian_core::net::TcpConfig;
/// use std::time::Duration;
///
/// let config = TcpConfig::new("localhost:8080")
///     .with_connect_timeout(Some(Duration::from_secs(3)))
///     .with_read_timeout(Some(Duration::from_secs(30)))
///     .with_nodelay(true);
/// assert_eq!(config.address(), "localhost:8080");
/// assert!(config.nodelay());
/// ```
///
/// With the `serde` feature it is `Serialize` and `Deserialize`, as a map of its fields
/// (`address`, `connect_timeout`, `read_timeout`, `write_timeout`, `nodelay`); every
/// field but `address` may be left out (no timeout, no `nodelay`), and an unknown field
/// is refused, so that a misspelt option in a recipe is an error, not a default.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct TcpConfig {
    address: String,
    #[cfg_attr(feature = "serde", serde(default))]
    connect_timeout: Option<Duration>,
    #[cfg_attr(feature = "serde", serde(default))]
    read_timeout: Option<Duration>,
    #[cfg_attr(feature = "serde", serde(default))]
    write_timeout: Option<Duration>,
    #[cfg_attr(feature = "serde", serde(default))]
    nodelay: bool,
}

impl TcpConfig {
    /// A recipe for connecting to `address` (`"host:port"`, `"10.0.0.7:80"`,
    /// `"[::1]:80"`), with the OS's default options.
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            connect_timeout: None,
            read_timeout: None,
            write_timeout: None,
            nodelay: false,
        }
    }

    /// Gives up connecting to each resolved address after `timeout`
    /// ([`TcpStream::connect_timeout`]); `None` leaves it to the OS. A zero duration
    /// makes every connect fail with `InvalidInput`.
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the read timeout of every connection ([`TcpStream::set_read_timeout`]);
    /// `None` blocks for ever. A zero duration makes every open fail.
    #[must_use]
    pub fn with_read_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Sets the write timeout of every connection ([`TcpStream::set_write_timeout`]);
    /// `None` blocks for ever. A zero duration makes every open fail.
    #[must_use]
    pub fn with_write_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// Sets `TCP_NODELAY` on every connection ([`TcpStream::set_nodelay`]): `true`
    /// sends small writes at once instead of coalescing them (Nagle's algorithm).
    #[must_use]
    pub fn with_nodelay(mut self, nodelay: bool) -> Self {
        self.nodelay = nodelay;
        self
    }

    /// The address, as written.
    #[must_use]
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The connect timeout.
    #[must_use]
    pub fn connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }

    /// The read timeout.
    #[must_use]
    pub fn read_timeout(&self) -> Option<Duration> {
        self.read_timeout
    }

    /// The write timeout.
    #[must_use]
    pub fn write_timeout(&self) -> Option<Duration> {
        self.write_timeout
    }

    /// Whether `TCP_NODELAY` is set.
    #[must_use]
    pub fn nodelay(&self) -> bool {
        self.nodelay
    }
}

impl From<SocketAddr> for TcpConfig {
    /// A recipe for connecting to `address`, with the OS's default options.
    fn from(address: SocketAddr) -> Self {
        Self::new(address.to_string())
    }
}

/// Connects a [`TcpStream`] from a [`TcpConfig`]; a reopen connects afresh and sets
/// every option of the config again.
///
/// The address is resolved, and each resolved address tried in turn (with the
/// config's connect timeout) until one connects; the error of the last one is
/// reported. Then the read and write timeouts and `TCP_NODELAY` are set, all of them,
/// even to their defaults. Closing shuts the connection down ([module docs](self)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpConnect;

impl Factory for TcpConnect {
    type Config = TcpConfig;
    type Resource = TcpStream;
    type Error = NetError;

    fn open(&self, config: &TcpConfig) -> Result<TcpStream, NetError> {
        let target = config.address();
        let addresses = config
            .address
            .to_socket_addrs()
            .map_err(|error| NetError::new(NetOp::Resolve, target, error))?;
        connect_any(config, addresses, None)
    }

    /// Peeks without waiting (see the [module docs](self#checking)).
    fn check(&self, stream: &mut TcpStream) -> Result<(), NetError> {
        check_stream(stream)
    }

    fn close(&self, stream: TcpStream) -> Result<(), NetError> {
        match stream.shutdown(Shutdown::Both) {
            Err(error) if error.kind() != io::ErrorKind::NotConnected => {
                Err(NetError::new(NetOp::Shutdown, &peer_of(&stream), error))
            }
            _ => Ok(()),
        }
    }
}

/// The peer's address, for messages; after a reset the OS may no longer know it.
fn peer_of(stream: &TcpStream) -> String {
    stream
        .peer_addr()
        .map_or_else(|_| String::from("a TCP peer"), |peer| peer.to_string())
}

/// The check of a TCP client ([`TcpConnect`], and `ConfinedTcp` with feature
/// `confine`): one non-blocking peek, then the stream back in blocking mode.
fn check_stream(stream: &TcpStream) -> Result<(), NetError> {
    let failed = |error| NetError::new(NetOp::Check, &peer_of(stream), error);
    stream.set_nonblocking(true).map_err(failed)?;
    let mut byte = [0; 1];
    let peeked = stream.peek(&mut byte);
    // Back to blocking mode, as the factory opens streams, whatever the peek gave.
    let restored = stream.set_nonblocking(false);
    match peeked {
        // Nothing to read (a live connection's normal state), or bytes waiting.
        Ok(1..) => {}
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
            ) => {}
        Ok(0) => {
            return Err(NetError::refused(
                NetOp::Check,
                &peer_of(stream),
                io::Error::new(io::ErrorKind::UnexpectedEof, "the peer closed it"),
            ));
        }
        // Reset, timed out by keepalive, unreachable: the OS's error says which.
        Err(error) => return Err(failed(error)),
    }
    restored.map_err(failed)
}

/// Binds a [`TcpListener`] to a [`SocketAddr`]; a reopen binds a new listener on port 0,
/// and refuses on a fixed port.
///
/// On port 0 the OS picks a fresh ephemeral port at every open, so a rebuilt listener
/// listens on another port than the live one: read it back with
/// [`TcpListener::local_addr`]. On a fixed port, the live listener holds the port, so
/// a reopen is refused without trying, with a [`NetError`] of kind `AddrInUse` that
/// says so (a refusal of guardian's own: no OS error is its source). (Trying would fail the same way on most systems, or, where the OS lets two
/// listeners share a port, quietly split the incoming connections between them.)
///
/// Closing drops the listener; connections not yet accepted are reset.
///
/// ```
/// use guardian_core::Factory;
/// use guardian_core::net::TcpListen;
/// use std::net::SocketAddr;
///
/// let any_port: SocketAddr = "127.0.0.1:0".parse()?;
/// let live = TcpListen.open(&any_port)?;
/// let copy = TcpListen.reopen(&any_port, &live)?;
/// assert_ne!(live.local_addr()?, copy.local_addr()?);
///
/// let fixed = live.local_addr()?; // a fixed port, held by `live`
/// let refused = TcpListen.reopen(&fixed, &live).unwrap_err();
/// assert_eq!(refused.kind(), std::io::ErrorKind::AddrInUse);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpListen;

impl Factory for TcpListen {
    type Config = SocketAddr;
    type Resource = TcpListener;
    type Error = NetError;

    fn open(&self, address: &SocketAddr) -> Result<TcpListener, NetError> {
        TcpListener::bind(address)
            .map_err(|error| NetError::new(NetOp::Listen, &address.to_string(), error))
    }

    fn reopen(&self, address: &SocketAddr, live: &TcpListener) -> Result<TcpListener, NetError> {
        let _ = live;
        if address.port() == 0 {
            return self.open(address);
        }
        Err(NetError::refused(
            NetOp::Listen,
            &address.to_string(),
            io::Error::new(
                io::ErrorKind::AddrInUse,
                "the live listener holds this port, and a listener on a fixed port cannot \
                 be rebuilt while it exists; bind to port 0 to get a fresh port on every \
                 rebuild",
            ),
        ))
    }
}

/// The recipe of a UDP socket: the address to bind, and optionally the peer to
/// connect to and the timeouts.
///
/// Binding to port 0 gives a fresh ephemeral port at *every* open, so a rebuilt socket
/// has another port than the live one (peers that send to the live socket's port do
/// not reach the copy). Binding to a fixed port makes a rebuild fail with `EADDRINUSE`
/// while the live socket exists.
///
/// ```
/// use guardian_core::net::UdpConfig;
/// use std::net::SocketAddr;
///
/// let peer: SocketAddr = "127.0.0.1:5353".parse()?;
/// let config = UdpConfig::from("127.0.0.1:0".parse::<SocketAddr>()?).with_peer(Some(peer));
/// assert_eq!(config.peer(), Some(peer));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// With the `serde` feature it is `Serialize` and `Deserialize`, as a map of its fields
/// (`bind`, `peer`, `read_timeout`, `write_timeout`); every field but `bind` may be
/// left out, and an unknown field is refused.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct UdpConfig {
    bind: SocketAddr,
    #[cfg_attr(feature = "serde", serde(default))]
    peer: Option<SocketAddr>,
    #[cfg_attr(feature = "serde", serde(default))]
    read_timeout: Option<Duration>,
    #[cfg_attr(feature = "serde", serde(default))]
    write_timeout: Option<Duration>,
}

impl UdpConfig {
    /// A recipe for a socket bound to `bind`, unconnected, without timeouts.
    #[must_use]
    pub fn new(bind: SocketAddr) -> Self {
        Self {
            bind,
            peer: None,
            read_timeout: None,
            write_timeout: None,
        }
    }

    /// Connects every socket to `peer` ([`UdpSocket::connect`]): `send` and `recv`
    /// then talk to it only.
    #[must_use]
    pub fn with_peer(mut self, peer: Option<SocketAddr>) -> Self {
        self.peer = peer;
        self
    }

    /// Sets the read timeout of every socket; `None` blocks for ever.
    #[must_use]
    pub fn with_read_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Sets the write timeout of every socket; `None` blocks for ever.
    #[must_use]
    pub fn with_write_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// The address sockets are bound to.
    #[must_use]
    pub fn bind(&self) -> SocketAddr {
        self.bind
    }

    /// The peer sockets are connected to.
    #[must_use]
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// The read timeout.
    #[must_use]
    pub fn read_timeout(&self) -> Option<Duration> {
        self.read_timeout
    }

    /// The write timeout.
    #[must_use]
    pub fn write_timeout(&self) -> Option<Duration> {
        self.write_timeout
    }
}

impl From<SocketAddr> for UdpConfig {
    /// A recipe for a socket bound to `bind`, unconnected, without timeouts.
    fn from(bind: SocketAddr) -> Self {
        Self::new(bind)
    }
}

/// Binds a [`UdpSocket`] from a [`UdpConfig`]; a reopen binds a new socket and sets
/// the peer and timeouts again.
///
/// On port 0, the new socket has a new port. On a fixed port, the OS refuses the
/// second bind while the live socket exists; the [`NetError`] keeps the OS error
/// (`EADDRINUSE`, kind `AddrInUse`) and says why. Datagrams already queued for the
/// live socket stay with it. Closing drops the socket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UdpBind;

impl UdpBind {
    fn bind(config: &UdpConfig, hint: Option<&'static str>) -> Result<UdpSocket, NetError> {
        let bind = config.bind.to_string();
        let socket = UdpSocket::bind(config.bind).map_err(|error| {
            let in_use = error.kind() == io::ErrorKind::AddrInUse;
            let err = NetError::new(NetOp::Bind, &bind, error);
            match hint {
                Some(hint) if in_use => err.with_hint(hint),
                _ => err,
            }
        })?;
        if let Some(peer) = config.peer {
            socket
                .connect(peer)
                .map_err(|error| NetError::new(NetOp::Connect, &peer.to_string(), error))?;
        }
        configure(&bind, "the read timeout", || {
            socket.set_read_timeout(config.read_timeout)
        })?;
        configure(&bind, "the write timeout", || {
            socket.set_write_timeout(config.write_timeout)
        })?;
        Ok(socket)
    }
}

impl Factory for UdpBind {
    type Config = UdpConfig;
    type Resource = UdpSocket;
    type Error = NetError;

    fn open(&self, config: &UdpConfig) -> Result<UdpSocket, NetError> {
        Self::bind(config, None)
    }

    fn reopen(&self, config: &UdpConfig, live: &UdpSocket) -> Result<UdpSocket, NetError> {
        let _ = live;
        Self::bind(
            config,
            Some(
                "the live socket holds this port, and a socket on a fixed port cannot be \
                 rebuilt while it exists; bind to port 0 to get a fresh port on every rebuild",
            ),
        )
    }
}

/// Connects a [`UnixStream`](std::os::unix::net::UnixStream) to the socket at an
/// [`AbsolutePath`](crate::fs::AbsolutePath); a reopen connects afresh.
///
/// The path is absolute for the same reason as a file's (see
/// [`AbsolutePath`](crate::fs::AbsolutePath)). Socket paths are limited to about a
/// hundred bytes (`sun_path`); a longer one fails to connect with `InvalidInput`, and
/// the error names the path. No option is set. Closing shuts the connection down
/// ([module docs](self)).
///
/// ```
/// use guardian_core::Factory;
/// use guardian_core::fs::AbsolutePath;
/// use guardian_core::net::UnixConnect;
/// use std::os::unix::net::UnixListener;
///
/// # let dir = std::env::temp_dir().join(format!("guardian-unix-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let path = AbsolutePath::new(dir.join("server.sock"))?;
/// let listener = UnixListener::bind(&path)?;
/// let live = UnixConnect.open(&path)?;
/// let copy = UnixConnect.reopen(&path, &live)?;
/// let (_first, _) = listener.accept()?;
/// let (_second, _) = listener.accept()?; // the server sees two clients
/// UnixConnect.close(copy)?;
/// UnixConnect.close(live)?;
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UnixConnect;

#[cfg(unix)]
impl Factory for UnixConnect {
    type Config = crate::fs::AbsolutePath;
    type Resource = std::os::unix::net::UnixStream;
    type Error = NetError;

    fn open(
        &self,
        path: &crate::fs::AbsolutePath,
    ) -> Result<std::os::unix::net::UnixStream, NetError> {
        std::os::unix::net::UnixStream::connect(path.as_path())
            .map_err(|error| NetError::new(NetOp::Connect, &path.display().to_string(), error))
    }

    fn close(&self, stream: std::os::unix::net::UnixStream) -> Result<(), NetError> {
        match stream.shutdown(Shutdown::Both) {
            Err(error) if error.kind() != io::ErrorKind::NotConnected => {
                let target = stream
                    .peer_addr()
                    .ok()
                    .and_then(|peer| peer.as_pathname().map(|path| path.display().to_string()))
                    .unwrap_or_else(|| String::from("a Unix socket"));
                Err(NetError::new(NetOp::Shutdown, &target, error))
            }
            _ => Ok(()),
        }
    }
}

/// What a socket factory was doing when it failed; see [`NetError::op`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NetOp {
    /// Resolving a `host:port` address ([`TcpConnect`]).
    Resolve,
    /// Connecting to a server ([`TcpConnect`], [`UnixConnect`]) or a UDP peer
    /// ([`UdpBind`]).
    Connect,
    /// Binding a UDP socket ([`UdpBind`]).
    Bind,
    /// Binding a listener ([`TcpListen`]).
    Listen,
    /// Setting an option on a new socket; the option's name is in the message.
    Configure(&'static str),
    /// Shutting a connection down (closing).
    Shutdown,
    /// Checking that a connection still works (`check`).
    Check,
}

/// A socket factory failed: the operation, the address (or socket path), and the
/// [`io::Error`].
///
/// It follows the crate's [rule for errors](crate#errors): `Display` says what failed,
/// "cannot connect to 127.0.0.1:9", and [`source`](Error::source) is the `io::Error`
/// that says why, "Connection refused (os error 111)". Code reads the `io::Error` with
/// [`io_error`](NetError::io_error) and [`kind`](NetError::kind).
///
/// When a [`UdpBind`] rebuild on a fixed port gets `EADDRINUSE`, the OS's error is the
/// source and `Display` adds, in parentheses, that the live socket holds the port and
/// what to do instead; when a confined connect (feature `confine`) gives up at its
/// deadline, the last attempt's error is the source and `Display` adds the deadline
/// and how many addresses were tried.
///
/// A refusal of guardian's own has no cause below it, so `Display` ends with the reason
/// and `source` is `None`; [`io_error`](NetError::io_error) still gives an `io::Error`
/// of the right kind, made by guardian, that holds the reason: a [`TcpListen`] rebuild
/// on a fixed port (kind `AddrInUse`), and, with feature `confine`, an address that is
/// not allowed (kind `PermissionDenied`, with a `confine::NotAllowed` inside) or a
/// confined factory that is not set yet.
///
/// `Display` is safe to log whatever the address holds: control characters are
/// escaped and an address longer than about 150 characters is cut in the middle with
/// `…`; [`target`](NetError::target) has it exactly.
#[derive(Debug)]
pub struct NetError {
    op: NetOp,
    target: String,
    source: io::Error,
    /// What the OS error does not say: why a rebuild cannot have the address, or that
    /// a confined connect gave up at its deadline.
    hint: Option<Cow<'static, str>>,
    /// Guardian refused on its own: `source` holds guardian's reason, which `Display`
    /// shows and `Error::source` does not return.
    refused: bool,
}

impl NetError {
    /// `op` on `target` failed because of `source`, which the OS reported.
    #[cold]
    pub(crate) fn new(op: NetOp, target: &str, source: io::Error) -> Self {
        Self {
            op,
            target: target.to_owned(),
            source,
            hint: None,
            refused: false,
        }
    }

    /// Guardian refused `op` on `target`; `reason` is its own `io::Error`, whose message
    /// ends the `Display`.
    #[cold]
    pub(crate) fn refused(op: NetOp, target: &str, reason: io::Error) -> Self {
        Self {
            refused: true,
            ..Self::new(op, target, reason)
        }
    }

    pub(crate) fn with_hint(mut self, hint: impl Into<Cow<'static, str>>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// What was being done.
    #[must_use]
    pub fn op(&self) -> NetOp {
        self.op
    }

    /// The address (as written in the config) or socket path.
    #[must_use]
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The underlying I/O error: the OS's, or for a refusal guardian's own.
    #[must_use]
    pub fn io_error(&self) -> &io::Error {
        &self.source
    }

    /// The kind of the underlying I/O error (`AddrInUse` for a fixed port held by the
    /// live socket, `ConnectionRefused`, `TimedOut`, ...).
    #[must_use]
    pub fn kind(&self) -> io::ErrorKind {
        self.source.kind()
    }

    /// Takes the underlying I/O error out.
    #[must_use]
    pub fn into_io_error(self) -> io::Error {
        self.source
    }
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = Shown(&self.target);
        match self.op {
            NetOp::Resolve => write!(f, "cannot resolve {target}")?,
            NetOp::Connect => write!(f, "cannot connect to {target}")?,
            NetOp::Bind => write!(f, "cannot bind a UDP socket to {target}")?,
            NetOp::Listen => write!(f, "cannot listen on {target}")?,
            NetOp::Configure(option) => {
                write!(f, "cannot set {option} of the socket for {target}")?;
            }
            NetOp::Shutdown => write!(f, "cannot shut down the connection to {target}")?,
            NetOp::Check => write!(f, "the connection to {target} failed its check")?,
        }
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        if self.refused {
            write!(f, ": {}", self.source)?;
        }
        Ok(())
    }
}

impl Error for NetError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        if self.refused {
            // Guardian's reason is already in `Display`; nothing below failed.
            None
        } else {
            Some(&self.source)
        }
    }
}

impl From<NetError> for io::Error {
    /// An `io::Error` of the same kind that wraps the `NetError`, for `?` in functions
    /// that return `io::Result`: its `Display` is the `NetError`'s (what failed), its
    /// [`source`](Error::source) the `NetError`'s (the OS's error), and
    /// [`get_ref`](io::Error::get_ref) downcasts back to the `NetError`.
    fn from(error: NetError) -> io::Error {
        io::Error::new(error.kind(), error)
    }
}

/// An overall limit on connecting: the instant after which no address is tried, and
/// the duration it was set from (for messages).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    pub(crate) at: Instant,
    pub(crate) after: Duration,
}

/// Connects to the first of `addresses` that accepts, with `config`'s connect
/// timeout, then applies its read and write timeouts and `nodelay`. With a
/// `deadline`, each attempt is bounded by the time left, and no attempt starts after
/// it.
pub(crate) fn connect_any(
    config: &TcpConfig,
    addresses: impl IntoIterator<Item = SocketAddr>,
    deadline: Option<Deadline>,
) -> Result<TcpStream, NetError> {
    let target = config.address();
    let mut last_error = None;
    let (mut tried, mut untried) = (0_usize, 0_usize);
    for address in addresses {
        let timeout = match deadline {
            None => config.connect_timeout,
            Some(deadline) => {
                let left = deadline.at.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    untried += 1;
                    continue;
                }
                Some(
                    config
                        .connect_timeout
                        .map_or(left, |timeout| timeout.min(left)),
                )
            }
        };
        tried += 1;
        let connected = match timeout {
            Some(timeout) => TcpStream::connect_timeout(&address, timeout),
            None => TcpStream::connect(address),
        };
        match connected {
            Ok(stream) => {
                configure(target, "the read timeout", || {
                    stream.set_read_timeout(config.read_timeout)
                })?;
                configure(target, "the write timeout", || {
                    stream.set_write_timeout(config.write_timeout)
                })?;
                configure(target, "TCP_NODELAY", || stream.set_nodelay(config.nodelay))?;
                return Ok(stream);
            }
            Err(error) => last_error = Some(error),
        }
    }
    let ran_out = deadline.filter(|deadline| Instant::now() >= deadline.at);
    match (last_error, ran_out) {
        (Some(error), None) => Err(NetError::new(NetOp::Connect, target, error)),
        (Some(error), Some(deadline)) => Err(NetError::new(NetOp::Connect, target, error)
            .with_hint(format!(
                "gave up at the connect deadline of {:?}, {tried} of {} addresses tried",
                deadline.after,
                tried + untried
            ))),
        // The deadline passed before the first attempt (a slow lookup): nothing
        // failed below, guardian gave up.
        (None, Some(deadline)) if untried > 0 => Err(NetError::refused(
            NetOp::Connect,
            target,
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the connect deadline of {:?} passed before any address was tried",
                    deadline.after
                ),
            ),
        )),
        (None, _) => Err(NetError::new(
            NetOp::Connect,
            target,
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "the address resolved to no socket address",
            ),
        )),
    }
}

/// Sets one option on a new socket; a failure is a [`NetOp::Configure`] error naming
/// the option.
pub(crate) fn configure(
    target: &str,
    option: &'static str,
    set: impl FnOnce() -> io::Result<()>,
) -> Result<(), NetError> {
    set().map_err(|error| NetError::new(NetOp::Configure(option), target, error))
}
