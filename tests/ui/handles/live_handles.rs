// A live OS handle in a `#[config]` field is refused, also nested in wrappers.
use guardian_core::Rebuild;
use std::cell::RefCell;
use std::fs::File;
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::process::{Child, ChildStdout};
use std::sync::{Condvar, Mutex, RwLock};

mod rusqlite {
    pub struct Connection;
}

#[derive(Rebuild)]
struct Handles {
    #[config]
    file: File,
    #[config]
    stream: std::net::TcpStream,
    #[config]
    listener: Option<TcpListener>,
    #[config]
    socket: Box<UdpSocket>,
    #[config]
    unix: Vec<UnixStream>,
    #[config]
    fd: RefCell<OwnedFd>,
    #[config]
    child: Child,
    #[config]
    pipe: Option<Box<ChildStdout>>,
    #[config]
    lock: Mutex<Vec<u8>>,
    #[config]
    rw: RwLock<String>,
    #[config]
    cond: (String, Condvar),
    #[config]
    db: rusqlite::Connection,
    #[config]
    peers: Vec<(String, TcpStream)>,
}

fn main() {}
