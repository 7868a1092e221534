//! The confined factories of `guardian_core::confine` on the real file system and real
//! sockets: absolute paths, `..` and symlinks that lead out of the root are refused
//! and nothing outside is opened or created; nested paths below the root work and
//! rebuilds get descriptors of their own; the allow-list refuses before any
//! connection is attempted (a listener that is not on the list sees nothing); a FIFO,
//! a socket, a device node or a directory inside the root is refused at once, in
//! every mode, and a regular file comes back in blocking mode.
#![cfg(feature = "confine")]

use std::error::Error as _;
use std::fs::File;
use std::io::{ErrorKind, Read, Seek, Write};
use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::fs::symlink;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use guardian_core::confine::{
    AllowList, Confined, ConfinedMode, ConfinedTcp, Escape, EscapeKind, NotAllowed, NotAllowedKind,
    OnceConfined,
};
use guardian_core::fs::{
    AppendFile, Buffered, ExclusiveFile, FileError, FileOp, ReadFile, ResumeReadFile,
};
use guardian_core::net::{NetError, NetOp, TcpConfig};
use guardian_core::{Factory, FromBlueprint, Rebuild};
use guardian_suite::{
    TempDir, TestResult, alone, factory_error, is_root, mkfifo, open_fd_count, shared, within,
};

/// `sandbox/root` (the root, with a `logs/` directory) beside `sandbox/outside`
/// (a sentinel file and a directory).
struct Sandbox {
    dir: TempDir,
}

impl Sandbox {
    fn new(label: &str) -> TestResult<Self> {
        let dir = TempDir::new(label)?;
        std::fs::create_dir_all(dir.path().join("root/logs"))?;
        std::fs::create_dir_all(dir.path().join("outside/dir"))?;
        std::fs::write(dir.path().join("outside/secret.txt"), "do not touch\n")?;
        Ok(Self { dir })
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    fn outside(&self) -> PathBuf {
        self.dir.path().join("outside")
    }

    /// The names in `outside/`, sorted, and the sentinel's contents.
    fn outside_state(&self) -> TestResult<(Vec<String>, String)> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(self.outside())? {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        for entry in std::fs::read_dir(self.outside().join("dir"))? {
            names.push(format!("dir/{}", entry?.file_name().to_string_lossy()));
        }
        names.sort();
        let secret = std::fs::read_to_string(self.outside().join("secret.txt"))?;
        Ok((names, secret))
    }
}

fn untouched() -> (Vec<String>, String) {
    (
        vec!["dir".to_owned(), "secret.txt".to_owned()],
        "do not touch\n".to_owned(),
    )
}

fn escape_kind(error: &FileError) -> Option<EscapeKind> {
    Escape::of(error).map(Escape::kind)
}

/// A refusal of guardian's own: no OS error is its source, its message names the path
/// and why (the refusal's own message), and the root is in `Escape::root`, not in the
/// message, which may reach whoever sent the recipe.
fn assert_refusal_names(refused: &FileError, path: &Path, root: &Path) {
    assert!(refused.source().is_none(), "{refused}");
    let message = refused.to_string();
    let escape = Escape::of(refused).expect("a refusal");
    for part in [path.display().to_string(), escape.to_string()] {
        assert!(message.contains(&part), "{message:?} lacks {part:?}");
    }
    assert_eq!(escape.root(), root);
    // Unless the recipe wrote it itself.
    let besides_the_path = message.replace(&path.display().to_string(), "");
    assert!(
        !besides_the_path.contains(&root.display().to_string()),
        "{message:?} shows the root"
    );
}

#[test]
fn an_absolute_path_is_refused_naming_the_path_and_why() -> TestResult {
    let _shared = shared();
    let sandbox = Sandbox::new("confine-absolute")?;
    let logs = Confined::new(sandbox.root(), AppendFile)?;

    for path in [
        sandbox.outside().join("secret.txt"),
        sandbox.outside().join("created.log"),
        sandbox.root().join("logs/inside-but-absolute.log"),
    ] {
        let refused = logs.open(&path).unwrap_err();
        assert_eq!(escape_kind(&refused), Some(EscapeKind::Absolute));
        assert_eq!(refused.op(), FileOp::OpenAppend);
        assert_eq!(refused.kind(), ErrorKind::PermissionDenied);
        assert_eq!(refused.path(), Some(path.as_path()));
        assert_refusal_names(&refused, &path, &sandbox.root());
    }
    assert_eq!(sandbox.outside_state()?, untouched());
    assert!(!sandbox.root().join("logs/inside-but-absolute.log").exists());
    Ok(())
}

#[test]
fn a_parent_dir_escape_is_refused_and_creates_nothing() -> TestResult {
    let _shared = shared();
    let sandbox = Sandbox::new("confine-dotdot")?;
    let logs = Confined::new(sandbox.root(), AppendFile)?;

    for path in [
        "../outside/secret.txt",
        "../outside/created.log",
        "logs/../../outside/dir/created.log",
        "./logs/../..",
        "../../../../../../../../tmp/guardian-confine-escape.log",
    ] {
        let refused = logs.open(Path::new(path)).unwrap_err();
        assert_eq!(escape_kind(&refused), Some(EscapeKind::ParentDir), "{path}");
        assert_eq!(refused.path(), Some(Path::new(path)));
        assert_refusal_names(&refused, Path::new(path), &sandbox.root());
    }
    assert_eq!(sandbox.outside_state()?, untouched());
    assert!(!Path::new("/tmp/guardian-confine-escape.log").exists());

    // `..` that stays below the root is fine.
    let file = logs.open(Path::new("logs/../logs/./inside.log"))?;
    logs.close(file)?;
    assert!(sandbox.root().join("logs/inside.log").is_file());
    Ok(())
}

#[test]
fn a_symlink_escape_is_refused_and_nothing_outside_is_opened_or_created() -> TestResult {
    let _shared = shared();
    let sandbox = Sandbox::new("confine-symlink")?;
    let root = sandbox.root();
    symlink("../outside", root.join("out"))?; // a directory outside, relative
    symlink(sandbox.outside(), root.join("abs-out"))?; // the same, absolute
    symlink("../outside/secret.txt", root.join("secret"))?; // an existing file outside
    symlink("../outside/ghost.log", root.join("ghost"))?; // dangling, outside
    symlink("..", root.join("up"))?;
    symlink("logs", root.join("in"))?; // stays inside: allowed

    let append = Confined::new(&root, AppendFile)?;
    let exclusive = append.with_mode(ExclusiveFile);
    let read = append.with_mode(ReadFile);
    for path in [
        "out/secret.txt",
        "out/created.log",
        "abs-out/secret.txt",
        "abs-out/dir/created.log",
        "secret",
        "ghost",
        "up/outside/secret.txt",
        "in/../out/created.log",
    ] {
        let path = Path::new(path);
        for refused in [
            append.open(path).unwrap_err(),
            exclusive.open(path).unwrap_err(),
            read.open(path).unwrap_err(),
        ] {
            assert_eq!(
                escape_kind(&refused),
                Some(EscapeKind::Symlink),
                "{refused}"
            );
            assert_refusal_names(&refused, path, &root);
        }
    }
    assert_eq!(sandbox.outside_state()?, untouched());

    let mut through_inner_link = append.open(Path::new("in/via-link.log"))?;
    through_inner_link.write_all(b"inside\n")?;
    append.close(through_inner_link)?;
    assert_eq!(
        std::fs::read_to_string(root.join("logs/via-link.log"))?,
        "inside\n"
    );
    Ok(())
}

#[test]
fn a_missing_file_or_root_is_an_ordinary_error_naming_the_recipes_path() -> TestResult {
    let _shared = shared();
    let sandbox = Sandbox::new("confine-missing")?;
    let read = Confined::new(sandbox.root(), ReadFile)?;
    let missing = read.open(Path::new("logs/none.log")).unwrap_err();
    assert_eq!(escape_kind(&missing), None);
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    // The path as the recipe wrote it: the root's path is not in the message.
    assert_eq!(missing.path(), Some(Path::new("logs/none.log")));
    let message = missing.to_string();
    assert!(
        !message.contains(&sandbox.root().display().to_string()),
        "{message}"
    );

    // A root that cannot be opened fails at startup, naming the root, with the OS's
    // error as the cause.
    let no_root = Confined::new(sandbox.dir.path().join("no-such-root"), AppendFile).unwrap_err();
    assert_eq!(no_root.path(), sandbox.dir.path().join("no-such-root"));
    assert_eq!(no_root.kind(), ErrorKind::NotFound);
    let os = no_root
        .source()
        .and_then(|source| source.downcast_ref::<std::io::Error>());
    assert_eq!(os.map(std::io::Error::kind), Some(ErrorKind::NotFound));
    let not_a_dir = sandbox.outside().join("secret.txt");
    let no_dir = Confined::new(&not_a_dir, ReadFile).unwrap_err();
    assert_eq!(no_dir.kind(), ErrorKind::NotADirectory);
    Ok(())
}

/// How long an open that must not wait may take before the test calls it hung.
const NO_WAIT: Duration = Duration::from_secs(5);

/// Opens `path` with `factory` on another thread; an error if it is still waiting
/// after [`NO_WAIT`] (the thread is left blocked, the test fails instead of hanging).
fn open_at_once<M>(factory: &Confined<M>, path: &str) -> TestResult<Result<File, FileError>>
where
    M: ConfinedMode + Clone + Send + 'static,
{
    let factory = factory.clone();
    let owned = PathBuf::from(path);
    within(NO_WAIT, move || factory.open(&owned))
        .ok_or_else(|| format!("opening {path} was still waiting after {NO_WAIT:?}").into())
}

/// Every mode refuses `path` at once as not a regular file, naming the path.
fn assert_every_mode_refuses_at_once(root: &Path, path: &str) -> TestResult {
    let read = Confined::new(root, ReadFile)?;
    for result in [
        open_at_once(&read, path)?,
        open_at_once(&read.with_mode(ResumeReadFile), path)?,
        open_at_once(&read.with_mode(AppendFile), path)?,
        open_at_once(&read.with_mode(ExclusiveFile), path)?,
    ] {
        let refused = match result {
            Ok(file) => {
                let opened = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))?;
                return Err(format!("{path} was opened: {}", opened.display()).into());
            }
            Err(refused) => refused,
        };
        assert_eq!(
            escape_kind(&refused),
            Some(EscapeKind::NotAFile),
            "{path}: {refused}"
        );
        assert_eq!(refused.kind(), ErrorKind::PermissionDenied);
        assert_eq!(refused.path(), Some(Path::new(path)));
        assert!(refused.source().is_none(), "a refusal of guardian's own");
    }
    Ok(())
}

#[test]
fn a_fifo_inside_the_root_is_refused_at_once_in_every_mode() -> TestResult {
    let _alone = alone(); // spawns `mkfifo`, counts descriptors
    let sandbox = Sandbox::new("confine-fifo")?;
    let root = sandbox.root();
    mkfifo(&root.join("logs/pipe"))?;
    symlink("logs/pipe", root.join("pipe-link"))?;
    let append = Confined::new(&root, AppendFile)?;
    let before = open_fd_count()?;

    // Nobody has the FIFO open: before the fix, reading waited for a writer and
    // writing for a reader, for ever.
    for path in ["logs/pipe", "pipe-link", "logs/../logs/pipe"] {
        assert_every_mode_refuses_at_once(&root, path)?;
    }
    assert_eq!(
        open_fd_count()?,
        before,
        "a refused FIFO's descriptor leaked"
    );

    // With a reader waiting on the other end, the writers are refused too, and the
    // reader sees no writer ever came (end of file, not data).
    let reader = {
        let fifo = root.join("logs/pipe");
        std::thread::spawn(move || -> std::io::Result<Vec<u8>> {
            let mut bytes = Vec::new();
            File::open(fifo)?.read_to_end(&mut bytes)?;
            Ok(bytes)
        })
    };
    while !reader.is_finished() {
        // Until the reader has opened its end, an attempt fails with `ENXIO`; once it
        // has, the open succeeds at the OS and the type check refuses it.
        let refused = open_at_once(&append, "logs/pipe")?
            .err()
            .ok_or("a FIFO was opened")?;
        assert_eq!(
            escape_kind(&refused),
            Some(EscapeKind::NotAFile),
            "{refused}"
        );
        if open_fd_count()? > before + 1 {
            break; // the reader's end is open: one attempt after that is enough
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let refused = open_at_once(&append, "logs/pipe")?
        .err()
        .ok_or("a FIFO was opened")?;
    assert_eq!(
        escape_kind(&refused),
        Some(EscapeKind::NotAFile),
        "{refused}"
    );
    // Our refused opens were the reader's writers; it read nothing from them.
    let read = within(NO_WAIT, move || reader.join())
        .ok_or("the reader is still waiting")?
        .map_err(|_| "the reader panicked")??;
    assert!(read.is_empty(), "{read:?}");
    assert_eq!(open_fd_count()?, before, "a descriptor leaked");
    Ok(())
}

#[test]
fn a_socket_or_a_directory_inside_the_root_is_refused() -> TestResult {
    let _shared = shared();
    let sandbox = Sandbox::new("confine-socket")?;
    let root = sandbox.root();
    let listener = UnixListener::bind(root.join("logs/server.sock"))?;
    listener.set_nonblocking(true)?;
    std::fs::create_dir(root.join("logs/dir"))?;

    for path in ["logs/server.sock", "logs/dir", "logs", "."] {
        assert_every_mode_refuses_at_once(&root, path)?;
    }
    match listener.accept() {
        Err(error) if error.kind() == ErrorKind::WouldBlock => {}
        other => return Err(format!("the socket saw a client: {other:?}").into()),
    }
    Ok(())
}

#[test]
fn a_device_node_inside_the_root_is_refused() -> TestResult {
    if !is_root() {
        eprintln!("skipped: making a device node needs root (CI runs as root)");
        return Ok(());
    }
    let _alone = alone(); // spawns `mknod`
    let sandbox = Sandbox::new("confine-device")?;
    let root = sandbox.root();
    // The same devices as /dev/zero (reads never end) and /dev/null (writes vanish),
    // made inside the root, where a path check alone cannot tell them from files.
    for (name, minor) in [("zero", "5"), ("null", "3")] {
        let made = std::process::Command::new("mknod")
            .arg(root.join("logs").join(name))
            .args(["c", "1", minor])
            .status()?;
        assert!(made.success(), "mknod {name} failed");
    }
    assert_every_mode_refuses_at_once(&root, "logs/zero")?;
    assert_every_mode_refuses_at_once(&root, "logs/null")?;
    Ok(())
}

/// The file status flags of `file`, as the kernel reports them in `/proc/self/fdinfo`.
fn status_flags(file: &File) -> TestResult<u32> {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", file.as_raw_fd()))?;
    let flags = info
        .lines()
        .find_map(|line| line.strip_prefix("flags:"))
        .ok_or("no flags in fdinfo")?;
    Ok(u32::from_str_radix(flags.trim(), 8)?)
}

#[test]
fn a_regular_file_is_opened_in_blocking_mode() -> TestResult {
    const O_NONBLOCK: u32 = 0o4000; // Linux, x86 and ARM
    let _shared = shared();
    let sandbox = Sandbox::new("confine-blocking")?;
    std::fs::write(sandbox.root().join("logs/game.pgn"), "1. e4\n")?;
    let read = Confined::new(sandbox.root(), ResumeReadFile)?;
    let path = Path::new("logs/game.pgn");
    let live = read.open(path)?;
    let files = [
        read.reopen(path, &live)?,
        read.with_mode(ReadFile).open(path)?,
        read.with_mode(AppendFile).open(path)?,
        read.with_mode(ExclusiveFile).open(path)?,
        live,
    ];
    for file in &files {
        let flags = status_flags(file)?;
        assert_eq!(
            flags & O_NONBLOCK,
            0,
            "O_NONBLOCK left set: flags {flags:o}"
        );
    }
    Ok(())
}

/// What a log line of `error` would be: one line, bounded.
fn assert_safe_to_log(message: &str) {
    assert!(
        !message.chars().any(char::is_control),
        "a control character in {message:?}"
    );
    assert!(message.len() < 400, "{} bytes: {message:?}", message.len());
}

#[test]
fn messages_escape_and_bound_the_recipes_text_and_accessors_keep_it() -> TestResult {
    let _shared = shared();
    let sandbox = Sandbox::new("confine-messages")?;
    let logs = Confined::new(sandbox.root(), AppendFile)?;
    let forged = "x.log\n2024-01-01 INFO admin logged in\r\u{1b}[2K\u{202e}";
    let huge = format!("{}/{}", "a".repeat(200), "b".repeat(1 << 20));

    for path in [
        format!("../{forged}"),                    // refused: `..`
        format!("/{forged}"),                      // refused: absolute
        format!("missing/{forged}"),               // the OS's NotFound
        format!("logs/{}/x.log", "c".repeat(300)), // the OS's NameTooLong
        huge.clone(),
    ] {
        let error = logs.open(Path::new(&path)).unwrap_err();
        assert_safe_to_log(&error.to_string());
        assert_eq!(
            error.path(),
            Some(Path::new(&path)),
            "the exact path is kept"
        );
    }

    let connect = ConfinedTcp::new(AllowList::new());
    for address in [format!("{forged}:80"), format!("{huge}:80")] {
        let refused = connect.open(&TcpConfig::new(address.clone())).unwrap_err();
        assert_safe_to_log(&refused.to_string());
        assert_eq!(refused.target(), address, "the exact address is kept");
    }
    Ok(())
}

static NESTED: OnceConfined<Confined<AppendFile>> = OnceConfined::new();

#[derive(Rebuild)]
#[rebuild(blueprint)]
struct MatchLogger {
    #[config]
    path: PathBuf,
    #[resource(factory = NESTED, from = path)]
    log: File,
}

#[test]
fn a_nested_path_works_and_a_rebuild_has_a_descriptor_of_its_own() -> TestResult {
    let _alone = alone();
    let sandbox = Sandbox::new("confine-nested")?;
    std::fs::create_dir_all(sandbox.root().join("2024/round-1"))?;
    NESTED.set(Confined::new(sandbox.root(), AppendFile)?)?;
    let before = open_fd_count()?;

    let mut logger = MatchLogger::from_blueprint(MatchLoggerBlueprint {
        path: "2024/round-1/board-3.log".into(),
    })?;
    let mut copy = logger.rebuild()?;
    assert_ne!(logger.log.as_raw_fd(), copy.log.as_raw_fd());
    logger.log.write_all(b"1. e4\n")?;
    copy.log.write_all(b"1... c5\n")?;
    copy.close()?;
    logger.close()?;
    assert_eq!(
        std::fs::read_to_string(sandbox.root().join("2024/round-1/board-3.log"))?,
        "1. e4\n1... c5\n"
    );

    // An edited recipe is judged again at its open, and a refused build leaks nothing.
    let logger = MatchLogger::from_blueprint(MatchLoggerBlueprint {
        path: "2024/round-1/board-3.log".into(),
    })?;
    let Err(refused) = logger.rebuild_with(|recipe| recipe.path = "../outside/x.log".into()) else {
        return Err("an edited recipe escaped its root".into());
    };
    assert_eq!(refused.field(), "log");
    assert_eq!(
        escape_kind(factory_error::<FileError>(&refused)),
        Some(EscapeKind::ParentDir)
    );
    logger.close()?;
    assert_eq!(open_fd_count()?, before, "a descriptor leaked");
    assert_eq!(sandbox.outside_state()?, untouched());
    Ok(())
}

#[test]
fn confined_modes_behave_as_their_fs_factories() -> TestResult {
    let _shared = shared();
    let sandbox = Sandbox::new("confine-modes")?;
    std::fs::write(sandbox.root().join("logs/game.pgn"), "1. d4 d5 2. c4\n")?;
    let read = Confined::new(sandbox.root(), ResumeReadFile)?;
    let path = Path::new("logs/game.pgn");

    // Resume: the copy continues at the live cursor, then moves on its own.
    let mut live = read.open(path)?;
    let mut first = [0; 6];
    live.read_exact(&mut first)?;
    let mut copy = read.reopen(path, &live)?;
    assert_eq!(copy.stream_position()?, 6);
    let mut rest = String::new();
    copy.read_to_string(&mut rest)?;
    assert_eq!(rest, "d5 2. c4\n");
    assert_eq!(live.stream_position()?, 6);

    // Exclusive: a second holder is refused, as `ExclusiveFile` refuses it.
    let exclusive = read.with_mode(ExclusiveFile);
    let writer = exclusive.open(Path::new("logs/state.bin"))?;
    let held = exclusive
        .reopen(Path::new("logs/state.bin"), &writer)
        .unwrap_err();
    assert!(held.is_held_by_another_handle(), "{held}");
    assert_eq!(held.path(), Some(Path::new("logs/state.bin")));
    exclusive.close(writer)?;
    exclusive.close(exclusive.open(Path::new("logs/state.bin"))?)?;

    // Buffered over a confined writer: flushed and synced on close.
    let buffered = Buffered::new(read.with_mode(AppendFile));
    let mut out = buffered.open(Path::new("logs/buffered.log"))?;
    out.write_all(b"buffered\n")?;
    buffered.close(out)?;
    assert_eq!(
        std::fs::read_to_string(sandbox.root().join("logs/buffered.log"))?,
        "buffered\n"
    );
    let refused = buffered.open(Path::new("../outside/b.log")).unwrap_err();
    assert_eq!(escape_kind(&refused), Some(EscapeKind::ParentDir));
    assert_eq!(sandbox.outside_state()?, untouched());
    Ok(())
}

static NEVER_SET: OnceConfined<Confined<AppendFile>> = OnceConfined::new();

#[test]
fn an_unset_once_confined_refuses_without_panicking_and_is_set_once() -> TestResult {
    let _shared = shared();
    let sandbox = Sandbox::new("confine-unset")?;
    let refused = NEVER_SET.open(Path::new("x.log")).unwrap_err();
    assert!(
        refused.to_string().contains("has not been set"),
        "{refused}"
    );

    let slot: OnceConfined<Confined<AppendFile>> = OnceConfined::new();
    slot.set(Confined::new(sandbox.root(), AppendFile)?)?;
    let again = slot.set(Confined::new(sandbox.outside(), AppendFile)?);
    assert!(again.is_err());
    assert_eq!(
        slot.get().map(Confined::root),
        Some(sandbox.root().as_path())
    );
    Ok(())
}

/// A listener that accepts without blocking, to show that nothing connected.
fn quiet_listener() -> TestResult<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let address = listener.local_addr()?;
    Ok((listener, address))
}

fn assert_no_connection(listener: &TcpListener) -> TestResult {
    // A connection attempt on loopback is complete (queued for `accept`) by the time
    // `connect` returns, so a refused open that had tried would show here.
    match listener.accept() {
        Err(error) if error.kind() == ErrorKind::WouldBlock => Ok(()),
        Err(error) => Err(error.into()),
        Ok((_, peer)) => Err(format!("the listener saw a connection from {peer}").into()),
    }
}

fn not_allowed(error: &NetError) -> Option<NotAllowedKind> {
    NotAllowed::of(error).map(NotAllowed::kind)
}

#[test]
fn an_address_not_on_the_allow_list_is_refused_before_any_connection() -> TestResult {
    let _shared = shared();
    let (listener, address) = quiet_listener()?;
    let (other, _) = quiet_listener()?;
    let connect = ConfinedTcp::new(
        AllowList::new()
            .with_addr(other.local_addr()?)
            .with_host("localhost", address.port()),
    );

    for written in [
        address.to_string(),                 // the listener itself, not listed
        format!("127.1:{}", address.port()), // another spelling of it
        format!("[::ffff:127.0.0.1]:{}", address.port()),
        format!("127.0.0.1:{}", address.port() ^ 1), // a listed host, another port
        "localhost".to_owned(),                      // no port
        "secret.attacker.invalid:443".to_owned(),    // never even resolved
    ] {
        let refused = connect.open(&TcpConfig::new(written.clone())).unwrap_err();
        assert_eq!(
            not_allowed(&refused),
            Some(NotAllowedKind::NotListed),
            "{refused}"
        );
        assert_eq!(refused.op(), NetOp::Connect);
        assert_eq!(refused.kind(), ErrorKind::PermissionDenied);
        assert_eq!(refused.target(), written);
        // A refusal of guardian's own: the reason is in the message, no OS error is
        // its source.
        assert!(refused.source().is_none());
        let why = NotAllowed::of(&refused).ok_or("no refusal")?.to_string();
        assert!(refused.to_string().contains(&why), "{refused}");
    }

    // `localhost` is listed on this port, but it resolves only to loopback addresses,
    // which are internal and not listed: refused after the lookup, before connecting.
    let refused = connect
        .open(&TcpConfig::new(format!("localhost:{}", address.port())))
        .unwrap_err();
    assert_eq!(
        not_allowed(&refused),
        Some(NotAllowedKind::ResolvedInternal),
        "{refused}"
    );
    let resolved = NotAllowed::of(&refused).ok_or("no refusal")?.resolved();
    assert!(
        !resolved.is_empty() && resolved.iter().all(|a| a.ip().is_loopback()),
        "{resolved:?}"
    );
    // The addresses are for code and logs, not for the message, which may reach
    // whoever sent the recipe.
    for address in resolved {
        let message = refused.to_string();
        assert!(!message.contains(&address.ip().to_string()), "{message}");
    }

    assert_no_connection(&listener)?;
    assert_no_connection(&other)?;
    Ok(())
}

static UPSTREAM: OnceConfined<ConfinedTcp> = OnceConfined::new();

#[derive(Rebuild)]
#[rebuild(blueprint)]
struct Client {
    #[config]
    server: TcpConfig,
    #[resource(factory = UPSTREAM, from = server)]
    stream: TcpStream,
}

#[test]
fn an_allowed_address_connects_and_a_rebuild_connects_again() -> TestResult {
    let _alone = alone();
    let (listener, address) = quiet_listener()?;
    UPSTREAM.set(ConfinedTcp::new(
        AllowList::new()
            .with_host("127.0.0.1", address.port())
            .with_host("LocalHost.", address.port()),
    ))?;
    let before = open_fd_count()?;

    let client = Client::from_blueprint(ClientBlueprint {
        server: TcpConfig::from(address).with_nodelay(true),
    })?;
    let copy = client.rebuild()?;
    assert!(copy.stream.nodelay()?, "the config's options are set again");
    assert_ne!(client.stream.local_addr()?, copy.stream.local_addr()?);
    listener.set_nonblocking(false)?;
    let (first, first_peer) = listener.accept()?;
    let (second, second_peer) = listener.accept()?;
    assert_ne!(first_peer, second_peer);

    // A listed name whose loopback addresses include a listed one connects to that one.
    let by_name = Client::from_blueprint(ClientBlueprint {
        server: TcpConfig::new(format!("localhost:{}", address.port())),
    })?;
    let (third, _) = listener.accept()?;
    assert_eq!(by_name.stream.peer_addr()?, address);

    by_name.close()?;
    copy.close()?;
    client.close()?;
    drop((first, second, third));
    assert_eq!(open_fd_count()?, before, "a descriptor leaked");
    Ok(())
}

/// Set in the environment of a test run inside a network namespace of its own.
const IN_NAMESPACE: &str = "GUARDIAN_TEST_IN_NETWORK_NAMESPACE";

/// Runs the ignored test `name` of this binary in new network and mount namespaces
/// (its traffic stays in there, and it may bind-mount its own `/etc/hosts`), whose
/// loopback is up and has the link-local address `fe80::1`, and fails if it fails.
fn run_in_network_namespace(name: &str) -> TestResult {
    let setup = "ip link set lo up && ip -6 addr add fe80::1/64 dev lo nodad && exec \"$0\" \"$@\"";
    let output = std::process::Command::new("unshare")
        .args(["--net", "--mount", "--", "sh", "-c", setup])
        .arg(std::env::current_exe()?)
        .args(["--exact", name, "--include-ignored", "--nocapture"])
        .env(IN_NAMESPACE, "1")
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() || !stdout.contains("1 passed") {
        return Err(format!(
            "{name} in a network namespace: {}\n{stdout}\n{stderr}",
            output.status
        )
        .into());
    }
    Ok(())
}

#[test]
fn a_listed_scoped_address_connects_through_its_interface() -> TestResult {
    if !is_root() {
        eprintln!("skipped: a network namespace needs root (CI runs as root)");
        return Ok(());
    }
    let _alone = alone(); // spawns
    run_in_network_namespace("scoped_addresses_inside_a_network_namespace")
}

#[test]
#[ignore = "run inside a network namespace by a_listed_scoped_address_connects_through_its_interface"]
fn scoped_addresses_inside_a_network_namespace() -> TestResult {
    if std::env::var_os(IN_NAMESPACE).is_none() {
        return Err("run only by a_listed_scoped_address_connects_through_its_interface".into());
    }
    let lo: u32 = std::fs::read_to_string("/sys/class/net/lo/ifindex")?
        .trim()
        .parse()?;
    let link_local: Ipv6Addr = "fe80::1".parse()?;
    let listener = TcpListener::bind(SocketAddrV6::new(link_local, 0, 0, lo))?;
    let port = listener.local_addr()?.port();
    let on_lo = SocketAddr::V6(SocketAddrV6::new(link_local, port, 0, lo));
    let connect = ConfinedTcp::new(
        AllowList::new()
            .with_host("fe80::1%lo", port)
            .with_addr(on_lo),
    );

    // Listed with its zone, by name or by index: connected through lo, and the
    // server sees the client.
    for written in [
        format!("[fe80::1%lo]:{port}"),
        format!("fe80::1%lo:{port}"),
        format!("[fe80::1%{lo}]:{port}"),
    ] {
        let stream = connect.open(&TcpConfig::new(written.clone()))?;
        assert_eq!(stream.peer_addr()?, on_lo, "{written}");
        let (_, client) = listener.accept()?;
        assert_eq!(client.ip(), on_lo.ip(), "{written}");
        connect.close(stream)?;
    }

    // Without the zone, or with another one: not listed, and nothing connects.
    listener.set_nonblocking(true)?;
    for written in [
        format!("[fe80::1]:{port}"),
        format!("[fe80::1%{}]:{port}", lo + 1),
        format!("[fe80::1%eth0]:{port}"),
    ] {
        let refused = connect.open(&TcpConfig::new(written.clone())).unwrap_err();
        assert_eq!(
            not_allowed(&refused),
            Some(NotAllowedKind::NotListed),
            "{written}"
        );
    }
    assert_no_connection(&listener)?;

    // A listed zone that names no interface fails to resolve, without connecting.
    let nowhere = ConfinedTcp::new(AllowList::new().with_host("fe80::1%nowhere0", port));
    let failed = nowhere
        .open(&TcpConfig::new(format!("[fe80::1%nowhere0]:{port}")))
        .unwrap_err();
    assert_eq!(failed.op(), NetOp::Resolve, "{failed}");
    assert_no_connection(&listener)?;
    Ok(())
}

#[test]
fn a_confined_connect_gives_up_at_its_deadline_however_many_addresses() -> TestResult {
    if !is_root() {
        eprintln!("skipped: a network namespace needs root (CI runs as root)");
        return Ok(());
    }
    let _alone = alone(); // spawns
    run_in_network_namespace("connect_deadline_inside_a_network_namespace")
}

#[test]
#[ignore = "run inside a network namespace by a_confined_connect_gives_up_at_its_deadline_however_many_addresses"]
fn connect_deadline_inside_a_network_namespace() -> TestResult {
    const ADDRESSES: u8 = 20;
    if std::env::var_os(IN_NAMESPACE).is_none() {
        return Err(
            "run only by a_confined_connect_gives_up_at_its_deadline_however_many_addresses".into(),
        );
    }
    // A black hole: once a listener's accept queue is full, the kernel drops every
    // further SYN, so a connection attempt waits for its timeout (the OS's own is
    // about two minutes).
    let listener = TcpListener::bind("0.0.0.0:0")?;
    let port = listener.local_addr()?.port();
    let mut queued = Vec::new();
    loop {
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        match TcpStream::connect_timeout(&address, Duration::from_millis(200)) {
            Ok(stream) => queued.push(stream),
            Err(error) if error.kind() == ErrorKind::TimedOut => break,
            Err(error) => return Err(error.into()),
        }
        assert!(queued.len() < 10_000, "the accept queue never filled");
    }

    // A listed name whose DNS answer is twenty black holes (this namespace's own
    // /etc/hosts), each address listed too, as internal addresses must be.
    let hosts = TempDir::new("confine-hosts")?;
    let hosts_file = hosts.path().join("hosts");
    let blackholes: Vec<SocketAddr> = (2..2 + ADDRESSES)
        .map(|n| SocketAddr::from(([127, 0, 0, n], port)))
        .collect();
    let mut lines = String::new();
    for address in &blackholes {
        lines.push_str(&address.ip().to_string());
        lines.push_str(" blackhole.test\n");
    }
    std::fs::write(&hosts_file, lines)?;
    let mounted = std::process::Command::new("mount")
        .arg("--bind")
        .arg(&hosts_file)
        .arg("/etc/hosts")
        .status()?;
    assert!(mounted.success(), "mount --bind failed");
    let allow = blackholes.iter().fold(
        AllowList::new().with_host("blackhole.test", port),
        |allow, &address| allow.with_addr(address),
    );
    let target = format!("blackhole.test:{port}");
    assert_eq!(allow.resolve(&target)?.len(), blackholes.len());

    let short = Duration::from_millis(1500);
    for (connect, recipe) in [
        // No connect timeout in the recipe: without the deadline, 20 × 2 minutes.
        (
            ConfinedTcp::new(allow.clone()).with_connect_deadline(short),
            TcpConfig::new(target.clone()),
        ),
        // A recipe timeout longer than the deadline is cut to what is left.
        (
            ConfinedTcp::new(allow.clone()).with_connect_deadline(short),
            TcpConfig::new(target.clone()).with_connect_timeout(Some(Duration::from_secs(60))),
        ),
        // A shorter one is kept: several addresses are tried within the deadline.
        (
            ConfinedTcp::new(allow.clone()).with_connect_deadline(short),
            TcpConfig::new(target.clone()).with_connect_timeout(Some(Duration::from_millis(400))),
        ),
        // The documented default, 10 seconds.
        (
            ConfinedTcp::new(allow.clone()),
            TcpConfig::new(target.clone()),
        ),
    ] {
        let deadline = connect.connect_deadline();
        let started = std::time::Instant::now();
        let result = within(deadline + Duration::from_secs(10), move || {
            connect.open(&recipe)
        })
        .ok_or_else(|| format!("still connecting {deadline:?} + 10 s after the start"))?;
        let took = started.elapsed();
        let failed = result.err().ok_or("connected to a black hole")?;
        assert_eq!(failed.kind(), ErrorKind::TimedOut, "{failed}");
        assert!(
            took >= deadline && took < deadline + Duration::from_secs(2),
            "gave up after {took:?}, the deadline is {deadline:?}"
        );
        eprintln!("{took:?}: {failed}");
    }
    assert_eq!(
        ConfinedTcp::new(AllowList::new()).connect_deadline(),
        Duration::from_secs(10)
    );
    drop(queued);
    Ok(())
}
