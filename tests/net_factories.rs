//! The socket factories of `guardian_core::net` against real sockets on 127.0.0.1 and
//! in a temporary directory: separate connections, options re-applied, fixed ports
//! refused, errors that name the address, shutdown on close, descriptor leaks, and
//! rebuilds from several threads at once.

use std::collections::HashSet;
use std::error::Error as _;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::thread;
use std::time::Duration;

use guardian_core::fs::AbsolutePath;
use guardian_core::net::{
    NetError, NetOp, TcpConfig, TcpConnect, TcpListen, UdpBind, UdpConfig, UnixConnect,
};
use guardian_core::{Factory, Rebuild};
use guardian_suite::{
    TempDir, TestResult, alone, factory_error, open_fd_count, rebuild_error, shared,
};

/// A safety net so that a broken test fails instead of hanging; no test asserts on it.
const PATIENCE: Duration = Duration::from_secs(30);

#[derive(Rebuild)]
struct Client {
    #[config]
    server: TcpConfig,
    #[resource(factory = TcpConnect, from = server)]
    stream: TcpStream,
}

#[derive(Rebuild)]
struct Server {
    #[config]
    address: SocketAddr,
    #[resource(factory = TcpListen, from = address)]
    listener: TcpListener,
}

#[derive(Rebuild)]
struct Peer {
    #[config]
    udp: UdpConfig,
    #[resource(factory = UdpBind, from = udp)]
    socket: UdpSocket,
}

#[derive(Rebuild)]
struct LocalClient {
    #[config]
    path: AbsolutePath,
    #[resource(factory = UnixConnect, from = path)]
    stream: UnixStream,
}

fn localhost(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// An address nothing listens on: a port the OS handed out and took back.
fn refused_address() -> std::io::Result<SocketAddr> {
    TcpListener::bind(localhost(0))?.local_addr()
}

fn read_exactly(stream: &mut impl Read, n: usize) -> std::io::Result<String> {
    let mut buf = vec![0; n];
    stream.read_exact(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// The OS's error, which a `NetError` returns as its source.
fn os_error(error: &NetError) -> Option<&std::io::Error> {
    error.source()?.downcast_ref()
}

fn read_all(stream: &mut impl Read) -> std::io::Result<String> {
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    Ok(text)
}

#[test]
fn tcp_rebuild_is_a_second_connection_with_its_own_bytes() -> TestResult {
    let _guard = shared();
    let listener = TcpListener::bind(localhost(0))?;
    let server = TcpConfig::from(listener.local_addr()?).with_read_timeout(Some(PATIENCE));
    let mut original = Client {
        stream: TcpConnect.open(&server)?,
        server,
    };
    let mut copy = original.rebuild()?;
    assert_eq!(copy.server, original.server);
    assert_ne!(original.stream.as_raw_fd(), copy.stream.as_raw_fd());

    // The server sees two peers, at the two clients' local addresses.
    let (mut first, first_peer) = listener.accept()?;
    let (mut second, second_peer) = listener.accept()?;
    assert_ne!(first_peer, second_peer);
    assert_eq!(first_peer, original.stream.local_addr()?);
    assert_eq!(second_peer, copy.stream.local_addr()?);
    first.set_read_timeout(Some(PATIENCE))?;
    second.set_read_timeout(Some(PATIENCE))?;

    // Each connection carries its own bytes, both ways.
    original.stream.write_all(b"from the original")?;
    copy.stream.write_all(b"from the copy")?;
    second.write_all(b"to the copy")?;
    first.write_all(b"to the original")?;
    assert_eq!(read_exactly(&mut copy.stream, 11)?, "to the copy");
    assert_eq!(read_exactly(&mut original.stream, 15)?, "to the original");

    // Close shuts each connection down: the server reads exactly what its own client
    // sent, then end-of-stream.
    copy.close()?;
    original.close()?;
    assert_eq!(read_all(&mut first)?, "from the original");
    assert_eq!(read_all(&mut second)?, "from the copy");
    Ok(())
}

#[test]
fn tcp_rebuild_applies_every_option_of_the_config_again() -> TestResult {
    let _guard = shared();
    let listener = TcpListener::bind(localhost(0))?;
    let server = TcpConfig::from(listener.local_addr()?)
        .with_connect_timeout(Some(PATIENCE))
        .with_nodelay(true)
        .with_read_timeout(Some(Duration::from_secs(7)))
        .with_write_timeout(Some(Duration::from_secs(9)));
    let original = Client {
        stream: TcpConnect.open(&server)?,
        server,
    };
    let copy = original.rebuild()?;
    for client in [&original, &copy] {
        assert!(client.stream.nodelay()?);
        assert_eq!(client.stream.read_timeout()?, Some(Duration::from_secs(7)));
        assert_eq!(client.stream.write_timeout()?, Some(Duration::from_secs(9)));
    }
    copy.close()?;
    original.close()?;

    // The recipe is what is applied, not the live socket's state: options changed by
    // hand on the live stream are not carried over, the config's defaults are set.
    let plain = TcpConfig::from(listener.local_addr()?);
    let tuned = Client {
        stream: TcpConnect.open(&plain)?,
        server: plain,
    };
    tuned.stream.set_nodelay(true)?;
    tuned
        .stream
        .set_read_timeout(Some(Duration::from_secs(3)))?;
    let copy = tuned.rebuild()?;
    assert!(!copy.stream.nodelay()?);
    assert_eq!(copy.stream.read_timeout()?, None);
    copy.close()?;
    tuned.close()?;
    Ok(())
}

#[test]
fn tcp_close_tolerates_a_connection_the_peer_reset() -> TestResult {
    let _guard = shared();
    let listener = TcpListener::bind(localhost(0))?;
    let server = TcpConfig::from(listener.local_addr()?).with_read_timeout(Some(PATIENCE));
    let mut client = Client {
        stream: TcpConnect.open(&server)?,
        server,
    };
    let (accepted, _) = listener.accept()?;
    client.stream.write_all(b"never read")?;
    // Closing with unread data makes the server's side send a reset.
    drop(accepted);
    let reset = client.stream.read(&mut [0; 16]);
    assert_eq!(
        reset.map_err(|e| e.kind()).err(),
        Some(ErrorKind::ConnectionReset)
    );
    // shutdown(2) now says ENOTCONN: the connection is gone, which is not a failure.
    client.close()?;
    Ok(())
}

/// Checks `stream` until the check fails (the peer's end-of-stream or reset reaches
/// the socket a moment after the peer acts), at most [`PATIENCE`].
fn failed_check(stream: &mut TcpStream) -> TestResult<NetError> {
    let start = std::time::Instant::now();
    while start.elapsed() < PATIENCE {
        if let Err(err) = TcpConnect.check(stream) {
            return Ok(err);
        }
        thread::sleep(Duration::from_millis(5));
    }
    Err("the check never saw the peer's end".into())
}

#[test]
fn tcp_check_passes_a_live_connection_and_fails_one_the_peer_closed_or_reset() -> TestResult {
    let _guard = shared();
    let listener = TcpListener::bind(localhost(0))?;
    let server = TcpConfig::from(listener.local_addr()?).with_read_timeout(Some(PATIENCE));
    let mut stream = TcpConnect.open(&server)?;
    let (mut peer, _) = listener.accept()?;
    TcpConnect.check(&mut stream)?; // nothing to read: alive, and it did not wait
    peer.write_all(b"unread")?;
    thread::sleep(Duration::from_millis(20));
    TcpConnect.check(&mut stream)?; // data waiting: alive, and not consumed
    // Blocking mode again: this read waits for the rest (a non-blocking stream would
    // fail with `WouldBlock`).
    let reader = thread::spawn(move || -> std::io::Result<(TcpStream, String)> {
        let got = read_exactly(&mut stream, 10)?;
        Ok((stream, got))
    });
    thread::sleep(Duration::from_millis(50));
    peer.write_all(b"late")?;
    let (mut stream, got) = reader.join().map_err(|_| "the reader panicked")??;
    assert_eq!(got, "unreadlate");

    drop(peer); // the server hangs up: end-of-stream
    let err = failed_check(&mut stream)?;
    assert_eq!(err.op(), NetOp::Check);
    assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
    assert!(err.source().is_none(), "guardian's own finding: {err:?}");
    assert!(err.to_string().contains("the peer closed it"), "{err}");
    TcpConnect.close(stream)?;

    // A reset: the server closes with unread data, and the OS reports the failure.
    let mut stream = TcpConnect.open(&server)?;
    let (accepted, _) = listener.accept()?;
    stream.write_all(b"never read")?;
    thread::sleep(Duration::from_millis(20));
    drop(accepted);
    let err = failed_check(&mut stream)?;
    assert_eq!(err.op(), NetOp::Check);
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    assert!(
        os_error(&err).is_some(),
        "the OS's error is the cause: {err:?}"
    );
    TcpConnect.close(stream)?;
    Ok(())
}

#[test]
fn tcp_errors_name_the_address_and_the_operation() -> TestResult {
    let _guard = shared();
    let address = refused_address()?;
    let refused = TcpConnect
        .open(&TcpConfig::from(address))
        .expect_err("nothing listens there");
    assert_eq!(refused.op(), NetOp::Connect);
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
    assert_eq!(refused.target(), address.to_string());
    // The message names the address; the OS's error is the source, not repeated.
    let message = refused.to_string();
    assert!(message.contains(&address.to_string()), "{message}");
    assert_eq!(
        os_error(&refused).map(std::io::Error::kind),
        Some(ErrorKind::ConnectionRefused)
    );
    assert!(
        !message.contains(&refused.io_error().to_string()),
        "{message}"
    );

    let malformed = TcpConnect
        .open(&TcpConfig::new("no port here"))
        .expect_err("not host:port");
    assert_eq!(malformed.op(), NetOp::Resolve);
    assert_eq!(malformed.target(), "no port here");
    assert!(os_error(&malformed).is_some());

    let zero = TcpConnect
        .open(&TcpConfig::from(address).with_connect_timeout(Some(Duration::ZERO)))
        .expect_err("a zero connect timeout is refused");
    assert_eq!(zero.kind(), ErrorKind::InvalidInput);

    // A zero read timeout: the connection is made, applying the option fails, and the
    // error says which option (the stream is dropped: nothing half-configured escapes).
    let server = TcpListener::bind(localhost(0))?;
    let option = TcpConnect
        .open(&TcpConfig::from(server.local_addr()?).with_read_timeout(Some(Duration::ZERO)))
        .expect_err("a zero read timeout is refused");
    assert_eq!(option.op(), NetOp::Configure("the read timeout"));
    assert_eq!(option.kind(), ErrorKind::InvalidInput);
    assert!(option.to_string().contains("the read timeout"), "{option}");

    // A rebuild after the server went away names the field, and the NetError the
    // address.
    let listener = TcpListener::bind(localhost(0))?;
    let gone = listener.local_addr()?;
    let client = Client {
        stream: TcpConnect.open(&TcpConfig::from(gone))?,
        server: TcpConfig::from(gone),
    };
    drop(listener);
    let err = rebuild_error(&client);
    assert_eq!(err.field(), "stream");
    assert_eq!(factory_error::<NetError>(&err).target(), gone.to_string());
    assert_eq!(
        factory_error::<NetError>(&err).kind(),
        ErrorKind::ConnectionRefused
    );
    client.close()?;
    Ok(())
}

#[test]
fn listener_on_port_zero_rebuilds_onto_a_new_port() -> TestResult {
    let _guard = shared();
    let address = localhost(0);
    let original = Server {
        listener: TcpListen.open(&address)?,
        address,
    };
    let copy = original.rebuild()?;
    let (old, new) = (original.listener.local_addr()?, copy.listener.local_addr()?);
    assert_ne!(old.port(), new.port());

    // Each listener gets the connections made to its own port.
    let to_copy = TcpStream::connect(new)?;
    let to_original = TcpStream::connect(old)?;
    assert_eq!(copy.listener.accept()?.1, to_copy.local_addr()?);
    assert_eq!(original.listener.accept()?.1, to_original.local_addr()?);
    copy.close()?;
    original.close()?;
    Ok(())
}

#[test]
fn listener_on_a_fixed_port_refuses_to_rebuild_and_says_why() -> TestResult {
    let _guard = shared();
    let listener = TcpListen.open(&localhost(0))?;
    let address = listener.local_addr()?; // a fixed port, held by the live listener
    let original = Server { address, listener };

    let err = rebuild_error(&original);
    assert_eq!(err.field(), "listener");
    let cause = factory_error::<NetError>(&err);
    assert_eq!(cause.op(), NetOp::Listen);
    assert_eq!(cause.kind(), ErrorKind::AddrInUse);
    assert_eq!(cause.target(), address.to_string());
    // Refused without trying (a refusal of guardian's own): no OS error is the source,
    // and the message says why.
    assert!(cause.source().is_none());
    let message = cause.to_string();
    assert!(
        message.contains("the live listener holds this port"),
        "{message}"
    );

    // The live listener is untouched.
    let client = TcpStream::connect(address)?;
    assert_eq!(original.listener.accept()?.1, client.local_addr()?);
    original.close()?;
    Ok(())
}

#[test]
fn udp_on_port_zero_rebuilds_onto_a_new_port_with_its_own_datagrams() -> TestResult {
    let _guard = shared();
    let udp = UdpConfig::new(localhost(0)).with_read_timeout(Some(PATIENCE));
    let original = Peer {
        socket: UdpBind.open(&udp)?,
        udp,
    };
    let copy = original.rebuild()?;
    let (old, new) = (original.socket.local_addr()?, copy.socket.local_addr()?);
    assert_ne!(old.port(), new.port());
    assert_eq!(copy.socket.read_timeout()?, Some(PATIENCE));

    // A datagram to the original's port does not reach the copy: sent first, it would
    // be first in the copy's queue.
    let sender = UdpSocket::bind(localhost(0))?;
    sender.send_to(b"for the original", old)?;
    sender.send_to(b"for the copy", new)?;
    let mut buf = [0; 64];
    let (n, from) = copy.socket.recv_from(&mut buf)?;
    assert_eq!(
        (&buf[..n], from),
        (&b"for the copy"[..], sender.local_addr()?)
    );
    let (n, _) = original.socket.recv_from(&mut buf)?;
    assert_eq!(&buf[..n], b"for the original");
    copy.close()?;
    original.close()?;
    Ok(())
}

#[test]
fn udp_on_a_fixed_port_reports_the_port_in_use() -> TestResult {
    let _guard = shared();
    let socket = UdpBind.open(&UdpConfig::new(localhost(0)))?;
    let bound = socket.local_addr()?; // a fixed port, held by the live socket
    let original = Peer {
        socket,
        udp: UdpConfig::new(bound),
    };

    let err = rebuild_error(&original);
    assert_eq!(err.field(), "socket");
    let cause = factory_error::<NetError>(&err);
    assert_eq!(cause.op(), NetOp::Bind);
    assert_eq!(cause.kind(), ErrorKind::AddrInUse);
    assert_eq!(cause.target(), bound.to_string());
    // EADDRINUSE from the OS is the source; the message adds why the port is taken.
    assert_eq!(
        os_error(cause).and_then(std::io::Error::raw_os_error),
        Some(98)
    );
    let message = cause.to_string();
    assert!(
        message.contains("the live socket holds this port"),
        "{message}"
    );

    // A first open on a taken port is not a rebuild: no hint about a live socket.
    let taken = UdpBind
        .open(&UdpConfig::new(bound))
        .expect_err("the port is taken");
    assert_eq!(taken.kind(), ErrorKind::AddrInUse);
    assert!(!taken.to_string().contains("live socket"), "{taken}");
    original.close()?;
    Ok(())
}

#[test]
fn udp_rebuild_connects_to_the_peer_and_sets_the_timeouts_again() -> TestResult {
    let _guard = shared();
    let far_end = UdpSocket::bind(localhost(0))?;
    far_end.set_read_timeout(Some(PATIENCE))?;
    let udp = UdpConfig::new(localhost(0))
        .with_peer(Some(far_end.local_addr()?))
        .with_read_timeout(Some(Duration::from_secs(11)))
        .with_write_timeout(Some(Duration::from_secs(13)));
    let original = Peer {
        socket: UdpBind.open(&udp)?,
        udp,
    };
    let copy = original.rebuild()?;
    assert_eq!(copy.socket.peer_addr()?, far_end.local_addr()?);
    assert_eq!(copy.socket.read_timeout()?, Some(Duration::from_secs(11)));
    assert_eq!(copy.socket.write_timeout()?, Some(Duration::from_secs(13)));

    copy.socket.send(b"from the copy")?;
    original.socket.send(b"from the original")?;
    let mut buf = [0; 64];
    let (n, from) = far_end.recv_from(&mut buf)?;
    assert_eq!(
        (&buf[..n], from),
        (&b"from the copy"[..], copy.socket.local_addr()?)
    );
    let (n, from) = far_end.recv_from(&mut buf)?;
    assert_eq!(
        (&buf[..n], from),
        (&b"from the original"[..], original.socket.local_addr()?)
    );
    copy.close()?;
    original.close()?;
    Ok(())
}

#[test]
fn unix_rebuild_is_a_second_connection_with_its_own_bytes() -> TestResult {
    let _guard = shared();
    let dir = TempDir::new("net-unix")?;
    let path = AbsolutePath::new(dir.path().join("server.sock"))?;
    let listener = UnixListener::bind(&path)?;
    let mut original = LocalClient {
        stream: UnixConnect.open(&path)?,
        path,
    };
    let mut copy = original.rebuild()?;
    assert_ne!(original.stream.as_raw_fd(), copy.stream.as_raw_fd());
    let (mut first, _) = listener.accept()?;
    let (mut second, _) = listener.accept()?;
    for stream in [&first, &second, &original.stream, &copy.stream] {
        stream.set_read_timeout(Some(PATIENCE))?;
    }

    original.stream.write_all(b"from the original")?;
    copy.stream.write_all(b"from the copy")?;
    second.write_all(b"to the copy")?;
    assert_eq!(read_exactly(&mut copy.stream, 11)?, "to the copy");
    first.write_all(b"to the original")?;
    assert_eq!(read_exactly(&mut original.stream, 15)?, "to the original");

    copy.close()?;
    original.close()?;
    assert_eq!(read_all(&mut first)?, "from the original");
    assert_eq!(read_all(&mut second)?, "from the copy");
    Ok(())
}

#[test]
fn unix_errors_name_the_socket_path() -> TestResult {
    let _guard = shared();
    let dir = TempDir::new("net-unix-errors")?;
    let path = AbsolutePath::new(dir.path().join("server.sock"))?;
    let listener = UnixListener::bind(&path)?;
    let client = LocalClient {
        stream: UnixConnect.open(&path)?,
        path: path.clone(),
    };
    drop(listener);
    std::fs::remove_file(&path)?;

    let err = rebuild_error(&client);
    assert_eq!(err.field(), "stream");
    let cause = factory_error::<NetError>(&err);
    assert_eq!(cause.op(), NetOp::Connect);
    assert_eq!(cause.kind(), ErrorKind::NotFound);
    assert_eq!(cause.target(), path.display().to_string());
    assert_eq!(
        os_error(cause).map(std::io::Error::kind),
        Some(ErrorKind::NotFound)
    );
    // The peer is gone: shutting down is still not a failure.
    client.close()?;
    Ok(())
}

#[test]
fn rebuilds_from_eight_threads_at_once() -> TestResult {
    let _guard = shared();
    let listener = TcpListener::bind(localhost(0))?;
    let client = Client {
        stream: TcpConnect.open(&TcpConfig::from(listener.local_addr()?).with_nodelay(true))?,
        server: TcpConfig::from(listener.local_addr()?).with_nodelay(true),
    };
    let udp = UdpConfig::new(localhost(0));
    let peer = Peer {
        socket: UdpBind.open(&udp)?,
        udp,
    };
    let dir = TempDir::new("net-threads")?;
    let path = AbsolutePath::new(dir.path().join("server.sock"))?;
    let unix_listener = UnixListener::bind(&path)?;
    let local = LocalClient {
        stream: UnixConnect.open(&path)?,
        path,
    };

    let (clients, peers, locals, accepted) = thread::scope(|scope| {
        // The server accepts the original and the eight copies.
        let acceptor = scope.spawn(|| {
            (0..9)
                .map(|_| listener.accept().map(|(_, peer)| peer))
                .collect::<Result<HashSet<_>, _>>()
        });
        let unix_acceptor = scope.spawn(|| {
            (0..9)
                .map(|_| unix_listener.accept().map(|(stream, _)| stream))
                .collect::<Result<Vec<_>, _>>()
        });
        let workers: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| (client.rebuild(), peer.rebuild(), local.rebuild())))
            .collect();
        let mut results = (Vec::new(), Vec::new(), Vec::new());
        for worker in workers {
            let (c, p, l) = worker.join().expect("no panic");
            results.0.push(c);
            results.1.push(p);
            results.2.push(l);
        }
        let accepted = acceptor.join().expect("no panic");
        let unix_accepted = unix_acceptor.join().expect("no panic");
        (results.0, results.1, results.2, (accepted, unix_accepted))
    });
    let clients = clients.into_iter().collect::<Result<Vec<_>, _>>()?;
    let peers = peers.into_iter().collect::<Result<Vec<_>, _>>()?;
    let locals = locals.into_iter().collect::<Result<Vec<_>, _>>()?;
    let (tcp_peers, unix_streams) = (accepted.0?, accepted.1?);

    // Nine TCP connections, each a different peer on the server, each with nodelay.
    let mut client_addrs = HashSet::new();
    for c in clients.iter().chain([&client]) {
        assert!(c.stream.nodelay()?);
        client_addrs.insert(c.stream.local_addr()?);
    }
    assert_eq!(client_addrs.len(), 9);
    assert_eq!(client_addrs, tcp_peers);
    // Nine UDP ports.
    let ports: HashSet<_> = peers
        .iter()
        .chain([&peer])
        .map(|p| p.socket.local_addr().map(|a| a.port()))
        .collect::<Result<_, _>>()?;
    assert_eq!(ports.len(), 9);
    // Nine Unix connections.
    assert_eq!(unix_streams.len(), 9);
    let fds: HashSet<_> = locals
        .iter()
        .chain([&local])
        .map(|l| l.stream.as_raw_fd())
        .collect();
    assert_eq!(fds.len(), 9);

    for c in clients {
        c.close()?;
    }
    for p in peers {
        p.close()?;
    }
    for l in locals {
        l.close()?;
    }
    client.close()?;
    peer.close()?;
    local.close()?;
    Ok(())
}

#[derive(Rebuild)]
struct Gateway {
    #[config]
    udp: UdpConfig,
    #[config]
    upstream: TcpConfig,
    #[config]
    fixed: UdpConfig,
    #[resource(factory = UdpBind, from = udp)]
    socket: UdpSocket,
    #[resource(factory = TcpConnect, from = upstream)]
    stream: TcpStream,
    #[resource(factory = UdpBind, from = fixed)]
    pinned: UdpSocket,
}

#[derive(Rebuild)]
struct TwoSockets {
    #[config]
    udp: UdpConfig,
    #[config]
    fixed: UdpConfig,
    #[resource(factory = UdpBind, from = udp)]
    socket: UdpSocket,
    #[resource(factory = UdpBind, from = fixed)]
    pinned: UdpSocket,
}

/// A listener on a new port, then one on a fixed port: a rebuild binds the first,
/// is refused the second, and must close the first again.
#[derive(Rebuild)]
struct TwoListeners {
    #[config]
    free: SocketAddr,
    #[config]
    fixed: SocketAddr,
    #[resource(factory = TcpListen, from = free)]
    open: TcpListener,
    #[resource(factory = TcpListen, from = fixed)]
    refused: TcpListener,
}

#[test]
fn ten_thousand_failed_rebuilds_leak_no_descriptor() -> TestResult {
    let _guard = alone();
    let listener = TcpListener::bind(localhost(0))?;
    let upstream = TcpConfig::from(listener.local_addr()?);
    let pinned = UdpBind.open(&UdpConfig::new(localhost(0)))?;
    let fixed = UdpConfig::new(pinned.local_addr()?);
    let gateway = Gateway {
        socket: UdpBind.open(&UdpConfig::new(localhost(0)))?,
        stream: TcpConnect.open(&upstream)?,
        pinned,
        udp: UdpConfig::new(localhost(0)),
        upstream,
        fixed,
    };
    let (_accepted, _) = listener.accept()?;
    drop(listener); // from now on, connecting is refused

    let before = open_fd_count()?;
    for _ in 0..10_000 {
        // `socket` binds, `stream` is refused: the socket is closed again.
        let err = rebuild_error(&gateway);
        assert_eq!(err.field(), "stream");
        assert!(err.cleanup().is_none(), "{err}");
    }
    assert_eq!(open_fd_count()?, before);

    let two = TwoSockets {
        socket: UdpBind.open(&UdpConfig::new(localhost(0)))?,
        pinned: UdpBind.open(&UdpConfig::new(localhost(0)))?,
        udp: UdpConfig::new(localhost(0)),
        fixed: UdpConfig::new(gateway.pinned.local_addr()?),
    };
    let before = open_fd_count()?;
    for _ in 0..10_000 {
        // `socket` binds, `pinned` gets EADDRINUSE: both new sockets are closed again.
        let err = rebuild_error(&two);
        assert_eq!(err.field(), "pinned");
    }
    assert_eq!(open_fd_count()?, before);
    // `open` binds a new port, `refused` names a fixed one: the rollback must close
    // the listener `open` got, every time.
    let listeners = TwoListeners {
        open: TcpListen.open(&localhost(0))?,
        refused: TcpListen.open(&localhost(0))?,
        free: localhost(0),
        fixed: localhost(0),
    };
    let listeners = TwoListeners {
        fixed: listeners.refused.local_addr()?,
        ..listeners
    };
    let before_listeners = open_fd_count()?;
    for _ in 0..10_000 {
        let err = rebuild_error(&listeners);
        assert_eq!(err.field(), "refused");
        assert!(err.cleanup().is_none(), "{err}");
    }
    assert_eq!(open_fd_count()?, before_listeners);
    assert_eq!(before_listeners, before + 2);
    listeners.close()?;
    assert_eq!(open_fd_count()?, before);

    two.close()?;
    gateway.close()?;
    Ok(())
}
