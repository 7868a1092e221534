//! The network side of confinement: [`ConfinedTcp`] connects only where an
//! [`AllowList`] allows, and says why it refused an address ([`NotAllowed`]). See the
//! [module docs](crate::confine#connections-what-the-allow-list-checks).

use std::error::Error;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::internal::is_internal;
use super::{ConfinedFactory, sealed, unset_error};
use crate::Factory;
use crate::net::{Deadline, NetError, NetOp, TcpConfig, TcpConnect};
use crate::shown::Shown;

/// Which hosts and ports a [`ConfinedTcp`] may connect to.
///
/// Each entry is a host, a DNS name or an IP address, and a port. See the
/// [module docs](crate::confine#connections-what-the-allow-list-checks) for the two checks:
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
    /// An IPv6 address with a zone (`fe80::1%eth0`, `fe80::1%2`): which interface a
    /// link-local address is on is part of what is listed.
    Scoped(Ipv6Addr, Zone),
}

/// The zone of a scoped IPv6 address, as written: an interface index or name.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Zone {
    Index(u32),
    Name(String),
}

impl Host {
    /// A host as written: an IP address (IPv6 in brackets or not, with a zone or not)
    /// or a name.
    fn parse(host: &str) -> Self {
        let bare = host
            .strip_prefix('[')
            .and_then(|inner| inner.strip_suffix(']'))
            .unwrap_or(host);
        if let Some((ip, zone)) = bare.split_once('%')
            && let Ok(ip) = ip.parse::<Ipv6Addr>()
            && !zone.is_empty()
        {
            return match zone.parse::<u32>() {
                Ok(0) => Host::Ip(IpAddr::V6(ip)), // zone 0 is no zone
                Ok(index) => Host::Scoped(ip, Zone::Index(index)),
                Err(_) => Host::Scoped(ip, Zone::Name(zone.to_owned())),
            };
        }
        match bare.parse::<IpAddr>() {
            Ok(ip) => Host::Ip(ip),
            Err(_) => {
                let name = host.strip_suffix('.').unwrap_or(host);
                Host::Name(name.to_ascii_lowercase())
            }
        }
    }

    /// The host of a socket address, with its zone (scope id) if it has one.
    fn of(address: SocketAddr) -> Self {
        match address {
            SocketAddr::V6(v6) if v6.scope_id() != 0 => {
                Host::Scoped(*v6.ip(), Zone::Index(v6.scope_id()))
            }
            _ => Host::Ip(address.ip()),
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
    ///
    /// An IPv6 address may have a zone, an interface name or index (`"fe80::1%eth0"`,
    /// `"[fe80::1%2]"`): a link-local address means nothing without one. The zone is
    /// part of the entry: a recipe must name the same zone, written the same way
    /// (`%eth0` does not match `%2`, nor an address without a zone), and the
    /// connection goes out through that interface (a zone name is turned into its
    /// index at every open, by the system's resolver, without a DNS query).
    #[must_use]
    pub fn with_host(mut self, host: &str, port: u16) -> Self {
        self.entries.push((Host::parse(host), port));
        self
    }

    /// Allows the address `address` (an IP address and a port; for IPv6, with its
    /// scope id as the zone, if it is not 0).
    #[must_use]
    pub fn with_addr(mut self, address: SocketAddr) -> Self {
        self.entries.push((Host::of(address), address.port()));
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
            Host::Scoped(ip, Zone::Index(index)) => {
                return Ok(vec![SocketAddr::V6(SocketAddrV6::new(ip, port, 0, index))]);
            }
            Host::Scoped(ip, Zone::Name(zone)) => {
                return in_zone(ip, &zone, port)
                    .map(|scoped| vec![scoped])
                    .map_err(|error| NetError::new(NetOp::Resolve, address, error));
            }
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
                self.lists(&Host::of(*resolved), resolved.port()) || !is_internal(resolved.ip())
            })
            .collect();
        if allowed.is_empty() && !resolved.is_empty() {
            return Err(refuse(NotAllowedKind::ResolvedInternal, resolved));
        }
        Ok(allowed)
    }
}

/// `ip%zone` on `port`, with the zone's interface index: the system's resolver reads
/// a numeric address with a zone name itself (RFC 4007's format; glibc and musl turn
/// the name into an index with `if_nametoindex`, and send no DNS query).
fn in_zone(ip: Ipv6Addr, zone: &str, port: u16) -> io::Result<SocketAddr> {
    let found = (format!("{ip}%{zone}"), port)
        .to_socket_addrs()?
        .find(|found| matches!(found, SocketAddr::V6(v6) if *v6.ip() == ip && v6.scope_id() != 0));
    found.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("no network interface is named {}", Shown(zone)),
        )
    })
}

/// `host:port` split as `ToSocketAddrs for str` does: a socket address, or else a
/// host and a port after the last `:`.
fn split(address: &str) -> Option<(Host, u16)> {
    if let Ok(socket) = address.parse::<SocketAddr>() {
        return Some((Host::of(socket), socket.port()));
    }
    let (host, port) = address.rsplit_once(':')?;
    Some((Host::parse(host), port.parse().ok()?))
}

/// Why a [`ConfinedTcp`] (or [`AllowList::resolve`]) refused an address: the
/// [`io_error`](NetError::io_error) inside the refusal's [`NetError`] (of kind
/// `PermissionDenied`), found with [`NotAllowed::of`].
///
/// `Display` reads "refused: it is not on the allow-list", or for a listed name
/// "refused: it resolved only to internal addresses that are not on the allow-list",
/// without the addresses, which [`resolved`](NotAllowed::resolved) gives: a message may
/// reach whoever sent the recipe
/// ([what a message reveals](crate::confine#what-an-error-message-reveals)). The
/// refusal is guardian's own, so the `NetError` around it names the address as
/// written, ends its `Display` with the refusal and has no [`source`](Error::source)
/// (the crate's [rule for errors](crate#errors)).
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
            // Not the addresses: a message may reach whoever sent the recipe, and
            // they are in `resolved()` for your logs (see the module docs).
            NotAllowedKind::ResolvedInternal => f.write_str(
                "refused: it resolved only to internal addresses that are not on the \
                 allow-list",
            ),
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
/// [module docs](crate::confine#connections-what-the-allow-list-checks) for how DNS is handled.
/// Every option of the config is set on the new stream; closing shuts it down, as
/// `TcpConnect` does. Each open has an overall
/// [connect deadline](ConfinedTcp::with_connect_deadline), 10 seconds unless set.
/// Cloning is cheap and shares the list.
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
    connect_deadline: Duration,
}

impl ConfinedTcp {
    /// The connect deadline of a new factory: 10 seconds.
    pub const DEFAULT_CONNECT_DEADLINE: Duration = Duration::from_secs(10);

    /// A factory that connects only where `allow` allows, within
    /// [`DEFAULT_CONNECT_DEADLINE`](Self::DEFAULT_CONNECT_DEADLINE).
    #[must_use]
    pub fn new(allow: AllowList) -> Self {
        Self {
            allow: Arc::new(allow),
            connect_deadline: Self::DEFAULT_CONNECT_DEADLINE,
        }
    }

    /// Gives every open at most `deadline` in all, from before the lookup to the last
    /// connection attempt, however many addresses a name resolves to and whatever
    /// connect timeout the recipe sets (the recipe's timeout still bounds each
    /// attempt, if it is shorter than the time left).
    ///
    /// Without it, a recipe with no connect timeout tries each address for the OS's
    /// own timeout (about two minutes on Linux), and a hostile DNS answer with many
    /// addresses that never answer would stall a load for hours. When the deadline
    /// passes, the open fails with kind `TimedOut`, and its message says how many
    /// addresses were tried. The lookup itself cannot be interrupted (the system
    /// resolver blocks): it is bounded by the resolver's own timeouts
    /// (`timeout` and `attempts` in `resolv.conf`), and its time counts against the
    /// deadline. A zero deadline makes every open fail.
    ///
    /// ```
    /// use guardian_core::confine::{AllowList, ConfinedTcp};
    /// use std::time::Duration;
    ///
    /// let connect = ConfinedTcp::new(AllowList::new().with_host("api.example", 443))
    ///     .with_connect_deadline(Duration::from_secs(3));
    /// assert_eq!(connect.connect_deadline(), Duration::from_secs(3));
    /// ```
    #[must_use]
    pub fn with_connect_deadline(mut self, deadline: Duration) -> Self {
        self.connect_deadline = deadline;
        self
    }

    /// The allow-list.
    #[must_use]
    pub fn allow_list(&self) -> &AllowList {
        &self.allow
    }

    /// The overall deadline of an open.
    #[must_use]
    pub fn connect_deadline(&self) -> Duration {
        self.connect_deadline
    }
}

impl Factory for ConfinedTcp {
    type Config = TcpConfig;
    type Resource = TcpStream;
    type Error = NetError;

    fn open(&self, config: &TcpConfig) -> Result<TcpStream, NetError> {
        let deadline = Deadline {
            at: Instant::now() + self.connect_deadline,
            after: self.connect_deadline,
        };
        let addresses = self.allow.resolve(config.address())?;
        crate::net::connect_any(config, addresses, Some(deadline))
    }

    /// The check of `TcpConnect`: one peek without waiting (see
    /// [`net`](crate::net#checking)). It connects nowhere, so the allow-list has
    /// nothing to say.
    fn check(&self, stream: &mut TcpStream) -> Result<(), NetError> {
        TcpConnect.check(stream)
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

#[cfg(test)]
mod tests {
    use super::{Host, Zone, split};

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
        let scoped = |s: &str, zone: Zone| Host::Scoped(s.parse().unwrap(), zone);
        let named = |s: &str| Zone::Name(s.to_owned());
        assert_eq!(
            split("[fe80::1%2]:80"),
            Some((scoped("fe80::1", Zone::Index(2)), 80))
        );
        assert_eq!(
            split("[fe80::1%eth0]:80"),
            Some((scoped("fe80::1", named("eth0")), 80))
        );
        assert_eq!(
            split("fe80::1%eth0:80"),
            Some((scoped("fe80::1", named("eth0")), 80))
        );
        assert_eq!(split("[fe80::1%0]:80"), Some((ip("fe80::1"), 80)));
        assert_eq!(split("[fe80::1%]:80"), Some((name("[fe80::1%]"), 80)));
        assert_eq!(split("db.internal"), None);
        assert_eq!(split("db.internal:http"), None);
        assert_eq!(split("db.internal:65536"), None);
    }
}
