//! A TCP client held in a `#[derive(Rebuild)]` struct, rebuilt into a second
//! connection to a local echo server: the server sees two peers, and each connection
//! gets its own echoes back.
//!
//! Run with `cargo run --example socket_reconnect`; it stops by itself.

use std::error::Error;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use guardian_core::net::{TcpConfig, TcpConnect};
use guardian_core::{Factory, Rebuild};

/// A client of the echo server: the recipe (address and options), a label that is
/// copied, and the live connection that is reopened.
#[derive(Rebuild)]
struct EchoClient {
    #[config]
    server: TcpConfig,
    #[config]
    label: String,
    #[resource(factory = TcpConnect, from = server)]
    stream: TcpStream,
}

impl EchoClient {
    /// Sends one line and reads the server's echo of it.
    fn round_trip(&mut self, line: &str) -> std::io::Result<String> {
        writeln!(self.stream, "{line}")?;
        let mut echo = String::new();
        BufReader::new(&self.stream).read_line(&mut echo)?;
        Ok(echo.trim_end().to_owned())
    }
}

/// Accepts `clients` connections, echoes each one's lines back on its own thread
/// until the client closes, and reports every peer address it accepted.
fn echo_server(listener: &TcpListener, clients: usize, peers: &mpsc::Sender<SocketAddr>) {
    let handlers: Vec<_> = (0..clients)
        .filter_map(|_| match listener.accept() {
            Ok((stream, peer)) => {
                let _ = peers.send(peer);
                Some(thread::spawn(move || echo(&stream)))
            }
            Err(err) => {
                eprintln!("server: accept failed: {err}");
                None
            }
        })
        .collect();
    for handler in handlers {
        let _ = handler.join();
    }
}

fn echo(stream: &TcpStream) {
    let mut lines = BufReader::new(stream).lines();
    let mut out = stream;
    while let Some(Ok(line)) = lines.next() {
        if writeln!(out, "echo: {line}").is_err() {
            break;
        }
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    println!("echo server listening on {address}");
    let (peers_tx, peers_rx) = mpsc::channel();
    let server = thread::spawn(move || echo_server(&listener, 2, &peers_tx));

    let config = TcpConfig::from(address)
        .with_nodelay(true)
        .with_read_timeout(Some(Duration::from_secs(10)));
    let mut original = EchoClient {
        stream: TcpConnect.open(&config)?,
        server: config,
        label: "original".into(),
    };
    // The copy gets its own connection, with the options of the recipe set again.
    let mut copy = original.rebuild()?;
    copy.label = "copy".into();

    let seen: Vec<SocketAddr> = peers_rx.iter().take(2).collect();
    println!(
        "server saw {} peers: {}",
        seen.len(),
        seen.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "{:>8} is {} (nodelay: {})",
        original.label,
        original.stream.local_addr()?,
        original.stream.nodelay()?
    );
    println!(
        "{:>8} is {} (nodelay: {})",
        copy.label,
        copy.stream.local_addr()?,
        copy.stream.nodelay()?
    );

    for (client, line) in [(&mut original, "e4"), (&mut copy, "e5")] {
        let echo = client.round_trip(&format!("{line} from the {}", client.label))?;
        println!("{:>8} got back: {echo:?}", client.label);
    }
    let echo = original.round_trip("Nf3 from the original")?;
    println!("{:>8} got back: {echo:?}", original.label);

    // The Guardian Rule: close explicitly; each connection is shut down and the
    // server's handlers see end-of-stream and finish.
    copy.close()?;
    original.close()?;
    server.join().map_err(|_| "the echo server panicked")?;
    println!("both connections closed; the server has finished");
    Ok(())
}
