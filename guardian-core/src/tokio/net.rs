//! Sockets: the async counterparts of [`crate::net`]'s stream factories, connecting
//! [`tokio::net::TcpStream`]s and
//! [`tokio::net::UnixStream`]s.

use std::future::poll_fn;
use std::io;
use std::task::Poll;
use std::time::Duration;

use ::tokio::io::ReadBuf;
use ::tokio::net::TcpStream;

use crate::AsyncFactory;
use crate::Factory;
use crate::net::{self, NetError, NetOp, TcpConfig};

/// Connects a [`TcpStream`] from a [`TcpConfig`]; a reopen connects afresh and sets
/// the config's options again. The async counterpart of [`net::TcpConnect`].
///
/// The address is resolved at every open ([`lookup_host`](::tokio::net::lookup_host):
/// an IP literal is parsed, a name is looked up on the blocking pool), and each
/// resolved address is tried in turn, each within the config's connect timeout
/// ([`tokio::time::timeout`]), until one connects; the error of
/// the last one is reported. Then `TCP_NODELAY` is set, to the config's value even if
/// it is the default.
///
/// A tokio stream has no read or write timeout (the socket is non-blocking, so
/// `SO_RCVTIMEO` would change nothing): a config that sets one is refused at every
/// open, with a [`NetError`] of operation [`NetOp::Configure`] and kind
/// `InvalidInput`, rather than quietly opening a stream that never times out. Bound
/// each read or write with `tokio::time::timeout` instead.
///
/// Closing shuts the connection down in both directions and reports a failure, as
/// [`net::TcpConnect`] does. [`check`](AsyncFactory::check) peeks without waiting: a
/// connection whose peer has closed it (end-of-stream) or that has failed (reset)
/// fails the check; one with nothing to read, or with data waiting, passes.
///
/// ```
/// use guardian_core::AsyncFactory;
/// use guardian_core::net::TcpConfig;
/// use guardian_core::tokio::TcpConnect;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let config = TcpConfig::from(listener.local_addr()?).with_nodelay(true);
/// let live = TcpConnect.open(&config).await?;
/// let mut copy = TcpConnect.reopen(&config, &live).await?;
/// let (first, _) = listener.accept().await?;
/// let (second, _) = listener.accept().await?;
/// assert_ne!(first.peer_addr()?, second.peer_addr()?); // two connections
/// assert!(copy.nodelay()?); // the option set again
///
/// TcpConnect.check(&mut copy).await?; // open, nothing to read: alive
/// drop(second); // the server hangs up on the copy
/// # tokio::time::sleep(std::time::Duration::from_millis(50)).await;
/// assert!(TcpConnect.check(&mut copy).await.is_err());
///
/// TcpConnect.close(copy).await?;
/// TcpConnect.close(live).await?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpConnect;

impl AsyncFactory for TcpConnect {
    type Config = TcpConfig;
    type Resource = TcpStream;
    type Error = NetError;

    fn open(&self, config: &TcpConfig) -> impl Future<Output = Result<TcpStream, NetError>> + Send {
        connect(config)
    }

    async fn check(&self, stream: &mut TcpStream) -> Result<(), NetError> {
        let mut byte = [0; 1];
        let mut buf = ReadBuf::new(&mut byte);
        // One poll: ready (data, end-of-stream or an error) or not (nothing to
        // read, which is a live connection's normal state). Never waits.
        let peeked = poll_fn(|cx| Poll::Ready(stream.poll_peek(cx, &mut buf))).await;
        let failure = match peeked {
            Poll::Pending | Poll::Ready(Ok(1..)) => return Ok(()),
            Poll::Ready(Ok(0)) => None,
            Poll::Ready(Err(error)) => Some(error),
        };
        let target = stream
            .peer_addr()
            .map_or_else(|_| String::from("a TCP peer"), |peer| peer.to_string());
        Err(match failure {
            Some(error) => NetError::new(NetOp::Check, &target, error),
            None => NetError::refused(
                NetOp::Check,
                &target,
                io::Error::new(io::ErrorKind::UnexpectedEof, "the peer closed it"),
            ),
        })
    }

    async fn close(&self, stream: TcpStream) -> Result<(), NetError> {
        match stream.into_std() {
            // `shutdown` does not block: the blocking factory's close, on the spot.
            Ok(stream) => net::TcpConnect.close(stream),
            Err(error) => Err(NetError::new(NetOp::Shutdown, "a TCP peer", error)),
        }
    }
}

/// Resolves and connects as [`TcpConnect`] says.
async fn connect(config: &TcpConfig) -> Result<TcpStream, NetError> {
    let target = config.address();
    for (option, timeout) in [
        ("the read timeout", config.read_timeout()),
        ("the write timeout", config.write_timeout()),
    ] {
        if timeout.is_some() {
            return Err(NetError::refused(
                NetOp::Configure(option),
                target,
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a tokio stream has no read or write timeout; bound each read or write \
                     with `tokio::time::timeout` instead",
                ),
            ));
        }
    }
    if config.connect_timeout() == Some(Duration::ZERO) {
        // What `TcpStream::connect_timeout` says of a zero duration, as the blocking
        // factory reports it.
        return Err(NetError::new(
            NetOp::Connect,
            target,
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot set a 0 duration timeout",
            ),
        ));
    }
    let addresses = ::tokio::net::lookup_host(target)
        .await
        .map_err(|error| NetError::new(NetOp::Resolve, target, error))?;
    let mut last_error = None;
    for address in addresses {
        let connecting = TcpStream::connect(address);
        let connected = match config.connect_timeout() {
            Some(limit) => ::tokio::time::timeout(limit, connecting)
                .await
                .unwrap_or_else(|_| {
                    Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "connection timed out",
                    ))
                }),
            None => connecting.await,
        };
        match connected {
            Ok(stream) => {
                net::configure(target, "TCP_NODELAY", || {
                    stream.set_nodelay(config.nodelay())
                })?;
                return Ok(stream);
            }
            Err(error) => last_error = Some(error),
        }
    }
    let error = last_error.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolved to no socket address",
        )
    });
    Err(NetError::new(NetOp::Connect, target, error))
}

/// Connects a [`tokio::net::UnixStream`] to the socket at an
/// [`AbsolutePath`](crate::fs::AbsolutePath); a reopen connects afresh. The async
/// counterpart of [`net::UnixConnect`]: no option is set, and closing shuts the
/// connection down in both directions and reports a failure.
#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UnixConnect;

#[cfg(unix)]
impl AsyncFactory for UnixConnect {
    type Config = crate::fs::AbsolutePath;
    type Resource = ::tokio::net::UnixStream;
    type Error = NetError;

    async fn open(
        &self,
        path: &crate::fs::AbsolutePath,
    ) -> Result<::tokio::net::UnixStream, NetError> {
        ::tokio::net::UnixStream::connect(path.as_path())
            .await
            .map_err(|error| NetError::new(NetOp::Connect, &path.display().to_string(), error))
    }

    async fn close(&self, stream: ::tokio::net::UnixStream) -> Result<(), NetError> {
        match stream.into_std() {
            Ok(stream) => net::UnixConnect.close(stream),
            Err(error) => Err(NetError::new(NetOp::Shutdown, "a Unix socket", error)),
        }
    }
}
