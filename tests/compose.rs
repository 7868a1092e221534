//! Composed types (`#[nested]` fields holding `Vec`, `Option`, `Box`, maps and types
//! of their own), on real files and TCP sockets: a rebuild opens descriptors of its
//! own at every level; a failure anywhere (first, middle or last element, deep inside)
//! closes every copy already made, leaks no descriptor over thousands of failures, and
//! names the whole path; `close` reports the failures of every level.
//!
//! The order of opens and closes across levels is checked on a ledger kept by a
//! factory of this file (`Named`), whose opens and closes can be made to fail by name.
//!
//! Descriptor counts are process-wide: the tests that count hold `alone()`, the others
//! `shared()`.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::error::Error as _;
use std::fs::File;
use std::hash::BuildHasherDefault;
use std::io::{self, BufWriter, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};

use guardian_core::fs::{AbsolutePath, AppendFile as SyncedAppend, Buffered, FileError};
use guardian_core::{CloseError, Factory, FromBlueprint, Rebuild, RebuildError};
use guardian_suite::path_factories::{AppendFile, ReadFile};
use guardian_suite::{TempDir, TestResult, alone, open_fd_count, shared};

/// Failures injected per position in the leak test.
const CYCLES: usize = 300;

// ---------------------------------------------------------------------------------
// Real resources: a shard is a TCP connection and a data file; three levels
// ---------------------------------------------------------------------------------

/// Connects to `"host:port"` (a `str` recipe, so that recipes are plain strings).
struct Connect;

impl Factory for Connect {
    type Config = str;
    type Resource = TcpStream;
    type Error = io::Error;

    fn open(&self, address: &str) -> io::Result<TcpStream> {
        TcpStream::connect(address)
    }
}

/// Level 3: a connection to a listener, and a data file read from the start.
#[derive(Rebuild)]
#[cfg_attr(feature = "serde", rebuild(serde))]
#[cfg_attr(not(feature = "serde"), rebuild(blueprint))]
struct Shard {
    #[config]
    address: String,
    #[config]
    data: PathBuf,
    #[resource(factory = Connect, from = address)]
    conn: TcpStream,
    #[resource(factory = ReadFile, from = data)]
    file: File,
}

/// Level 2: shards and an optional cache.
#[derive(Rebuild)]
#[cfg_attr(feature = "serde", rebuild(serde))]
#[cfg_attr(not(feature = "serde"), rebuild(blueprint))]
struct Region {
    #[config]
    name: String,
    #[nested]
    shards: Vec<Shard>,
    #[nested]
    cache: Option<Shard>,
}

/// Level 1: a log of its own, shards, regions by name, spares by number.
#[derive(Rebuild)]
#[cfg_attr(feature = "serde", rebuild(serde))]
#[cfg_attr(not(feature = "serde"), rebuild(blueprint))]
struct Service {
    #[config]
    log_path: PathBuf,
    #[resource(factory = AppendFile, from = log_path)]
    log: File,
    #[nested]
    shards: Vec<Shard>,
    #[nested]
    regions: BTreeMap<String, Region>,
    #[nested]
    spares: HashMap<u16, Shard>,
}

/// Descriptors of one `Service` as [`World::service`] builds it: the log, 3 shards,
/// "eu" (2 shards and a cache), "us" (1 shard), 2 spares, 2 each.
const SERVICE_FDS: usize = 1 + 2 * (3 + 3 + 1 + 2);
/// Connections among them.
const SERVICE_CONNS: usize = 3 + 3 + 1 + 2;

/// A listener on 127.0.0.1 whose pending connections the test accepts and closes
/// itself (non-blocking), so no thread holds descriptors while the test counts.
struct Server {
    listener: TcpListener,
    address: String,
}

impl Server {
    fn start() -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?.to_string();
        Ok(Server { listener, address })
    }

    /// Accepts and closes every pending connection; how many there were.
    fn drain(&self) -> io::Result<usize> {
        let mut accepted = 0;
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    drop(stream);
                    accepted += 1;
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(accepted),
                Err(error) => return Err(error),
            }
        }
    }
}

/// An address nothing listens on: port 1 of the loopback interface.
///
/// Not a closed listener's port: that port is in the ephemeral range, and a connect to
/// it can be given the same port as its source and connect to itself (a TCP
/// self-connect), once in some tens of thousands of attempts, and this test makes
/// hundreds. Port 1 is never an ephemeral port.
const REFUSED: &str = "127.0.0.1:1";

/// The files and the listener a `Service` is made of.
struct World {
    dir: TempDir,
    server: Server,
}

impl World {
    fn new(label: &str) -> io::Result<Self> {
        let dir = TempDir::new(label)?;
        std::fs::create_dir(dir.path().join("logs"))?;
        Ok(World {
            dir,
            server: Server::start()?,
        })
    }

    fn shard(&self, name: &str) -> io::Result<Shard> {
        let data = self.dir.path().join(format!("{name}.data"));
        std::fs::write(&data, name)?;
        Ok(Shard {
            conn: Connect.open(&self.server.address)?,
            file: ReadFile.open(&data)?,
            address: self.server.address.clone(),
            data,
        })
    }

    fn service(&self) -> io::Result<Service> {
        let log_path = self.dir.path().join("logs/service.log");
        let region = |name: &str, shards: &[&str], cache: Option<&str>| -> io::Result<Region> {
            Ok(Region {
                name: name.to_owned(),
                shards: shards
                    .iter()
                    .map(|s| self.shard(s))
                    .collect::<io::Result<_>>()?,
                cache: cache.map(|c| self.shard(c)).transpose()?,
            })
        };
        Ok(Service {
            log: AppendFile.open(&log_path)?,
            log_path,
            shards: vec![self.shard("s0")?, self.shard("s1")?, self.shard("s2")?],
            regions: BTreeMap::from([
                (
                    "eu".to_owned(),
                    region("eu", &["eu0", "eu1"], Some("eu-cache"))?,
                ),
                ("us".to_owned(), region("us", &["us0"], None)?),
            ]),
            spares: HashMap::from([(7, self.shard("spare7")?), (9, self.shard("spare9")?)]),
        })
    }
}

fn read_all(file: &mut File) -> io::Result<String> {
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    Ok(text)
}

/// The messages of an error and its chain of sources, outermost first.
fn chain(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = vec![err.to_string()];
    let mut source = err.source();
    while let Some(cause) = source {
        out.push(cause.to_string());
        source = cause.source();
    }
    out
}

#[test]
fn a_three_level_value_rebuilds_with_descriptors_of_its_own_at_every_level() -> TestResult {
    let _alone = alone();
    let world = World::new("compose-rebuild")?;
    let service = world.service()?;
    world.server.drain()?;
    let before = open_fd_count()?;

    let mut copy = service.rebuild()?;
    assert_eq!(open_fd_count()?, before + SERVICE_FDS);
    assert_eq!(
        world.server.drain()?,
        SERVICE_CONNS,
        "every shard connected anew"
    );

    // Each copy reads its own file from the start, at every level.
    assert_eq!(read_all(&mut copy.shards[2].file)?, "s2");
    let eu = copy.regions.get_mut("eu").ok_or("no eu")?;
    assert_eq!(read_all(&mut eu.shards[1].file)?, "eu1");
    let cache = eu.cache.as_mut().ok_or("no cache")?;
    assert_eq!(read_all(&mut cache.file)?, "eu-cache");
    assert_eq!(
        read_all(&mut copy.spares.get_mut(&9).ok_or("no spare")?.file)?,
        "spare9"
    );
    assert!(copy.regions["us"].cache.is_none());
    assert_eq!(copy.regions["us"].name, "us");

    copy.close()?;
    assert_eq!(open_fd_count()?, before);
    service.close()?;
    assert_eq!(open_fd_count()?, before - SERVICE_FDS);
    Ok(())
}

/// Where a failure is injected (by editing the original's recipe), and the path the
/// error must give.
struct Position {
    path: &'static str,
    field: &'static str,
    inject: fn(&mut Service, &Injected),
}

/// What an injection points a recipe at.
struct Injected {
    missing_file: PathBuf,
    missing_dir_log: PathBuf,
    refused: String,
}

fn shard_of<'a>(service: &'a mut Service, region: &str, index: usize) -> &'a mut Shard {
    &mut service
        .regions
        .get_mut(region)
        .expect("the region exists")
        .shards[index]
}

const POSITIONS: [Position; 9] = [
    Position {
        path: "log",
        field: "log",
        inject: |s, i| s.log_path.clone_from(&i.missing_dir_log),
    },
    Position {
        path: "shards[0].file",
        field: "shards",
        inject: |s, i| s.shards[0].data.clone_from(&i.missing_file),
    },
    Position {
        path: "shards[1].file",
        field: "shards",
        inject: |s, i| s.shards[1].data.clone_from(&i.missing_file),
    },
    Position {
        path: "shards[2].file",
        field: "shards",
        inject: |s, i| s.shards[2].data.clone_from(&i.missing_file),
    },
    Position {
        path: "shards[1].conn",
        field: "shards",
        inject: |s, i| s.shards[1].address.clone_from(&i.refused),
    },
    Position {
        path: "regions[\"eu\"].shards[1].file",
        field: "regions",
        inject: |s, i| shard_of(s, "eu", 1).data.clone_from(&i.missing_file),
    },
    Position {
        path: "regions[\"eu\"].cache.conn",
        field: "regions",
        inject: |s, i| {
            let region = s.regions.get_mut("eu").expect("eu");
            let cache = region.cache.as_mut().expect("a cache");
            cache.address.clone_from(&i.refused);
        },
    },
    Position {
        path: "regions[\"us\"].shards[0].file",
        field: "regions",
        inject: |s, i| shard_of(s, "us", 0).data.clone_from(&i.missing_file),
    },
    Position {
        path: "spares[9].file",
        field: "spares",
        inject: |s, i| {
            let spare = s.spares.get_mut(&9).expect("spare 9");
            spare.data.clone_from(&i.missing_file);
        },
    },
];

#[test]
fn failures_at_every_position_leak_nothing_and_name_the_whole_path() -> TestResult {
    let _alone = alone();
    let world = World::new("compose-leaks")?;
    let injected = Injected {
        missing_file: world.dir.path().join("missing.data"),
        missing_dir_log: world.dir.path().join("no-such-dir/service.log"),
        refused: REFUSED.to_owned(),
    };
    world.server.drain()?;
    let before = open_fd_count()?;
    let mut failures = 0;
    for position in &POSITIONS {
        let mut service = world.service()?;
        (position.inject)(&mut service, &injected);
        let with_original = open_fd_count()?;
        for _ in 0..CYCLES {
            let err = service.rebuild().err().ok_or("the rebuild must fail")?;
            assert_eq!(err.path().to_string(), position.path);
            assert_eq!(err.field(), position.field);
            assert_eq!(err.type_name(), "Service");
            assert_eq!(err.failures().len(), 1);
            assert!(
                err.cleanup().is_none(),
                "closing the copies failed: {err:?}"
            );
            // One error with a long path, not one error per level: the chain is the
            // rebuild error, the factory's error, and nothing repeats.
            let messages = chain(&err);
            assert_eq!(
                messages[0],
                format!(
                    "cannot rebuild `Service`: resource field `{}` failed to open",
                    position.path
                )
            );
            assert_eq!(messages.len(), 2, "{messages:?}");
            let cause = err
                .factory_error()
                .downcast_ref::<io::Error>()
                .ok_or("an io::Error")?;
            let expected = if position.path.ends_with("conn") {
                io::ErrorKind::ConnectionRefused
            } else {
                io::ErrorKind::NotFound
            };
            assert_eq!(cause.kind(), expected, "{}", position.path);
            world.server.drain()?;
            failures += 1;
        }
        assert_eq!(
            open_fd_count()?,
            with_original,
            "a failure at `{}` leaked",
            position.path
        );
        service.close()?;
        world.server.drain()?;
    }
    assert_eq!(failures, POSITIONS.len() * CYCLES);
    assert_eq!(open_fd_count()?, before);
    Ok(())
}

#[test]
fn a_composed_blueprint_reopens_everything_and_fails_with_the_path() -> TestResult {
    let _alone = alone();
    let world = World::new("compose-blueprint")?;
    let service = world.service()?;
    world.server.drain()?;
    let before = open_fd_count()?;

    let blueprint = service.blueprint();
    assert_eq!(blueprint.shards.len(), 3);
    assert_eq!(
        blueprint.regions["eu"].shards[1].data,
        service.regions["eu"].shards[1].data
    );
    let built = Service::from_blueprint(blueprint)?;
    assert_eq!(open_fd_count()?, before + SERVICE_FDS);
    assert_eq!(world.server.drain()?, SERVICE_CONNS);
    built.close()?;

    // A recipe edited deep inside: nothing built stays open.
    let edited = service.rebuild_with(|b| {
        let eu = b.regions.get_mut("eu").expect("eu");
        eu.cache.as_mut().expect("cache").data = PathBuf::from("/nonexistent/cache.data");
    });
    let err = edited.err().ok_or("the cache's file is missing")?;
    assert_eq!(err.path().to_string(), "regions[\"eu\"].cache.file");
    world.server.drain()?;
    assert_eq!(open_fd_count()?, before);
    service.close()?;
    Ok(())
}

#[cfg(feature = "serde")]
#[test]
fn a_composed_value_saves_its_whole_recipe_and_reopens_everything_on_load() -> TestResult {
    let _alone = alone();
    let world = World::new("compose-serde")?;
    let service = world.service()?;
    world.server.drain()?;
    let before = open_fd_count()?;

    let json = serde_json::to_string(&service)?;
    assert!(
        json.contains(r#""regions":{"eu":{"name":"eu","shards":[{"address":"#),
        "{json}"
    );
    let loaded: Service = serde_json::from_str(&json)?;
    assert_eq!(open_fd_count()?, before + SERVICE_FDS);
    assert_eq!(world.server.drain()?, SERVICE_CONNS);
    loaded.close()?;

    let bad = json.replace("spare9.data", "missing.data");
    let err = serde_json::from_str::<Service>(&bad)
        .err()
        .ok_or("spare 9 is missing")?;
    assert!(
        err.to_string()
            .starts_with("cannot load: cannot rebuild `Service`: resource field `spares[9].file`"),
        "{err}"
    );
    world.server.drain()?;
    assert_eq!(open_fd_count()?, before);
    service.close()?;
    Ok(())
}

// ---------------------------------------------------------------------------------
// Close failures at every level: buffered writers on /dev/full
// ---------------------------------------------------------------------------------

/// A buffered writer; on `/dev/full`, a flush fails with `ENOSPC`.
#[derive(Rebuild)]
struct Sink {
    #[config]
    path: AbsolutePath,
    #[resource(factory = Buffered::new(SyncedAppend), from = path)]
    out: BufWriter<File>,
}

impl Sink {
    fn open(path: &Path, pending: &str) -> io::Result<Self> {
        let path = AbsolutePath::new(path)?;
        let mut out = Buffered::new(SyncedAppend).open(&path)?;
        out.write_all(pending.as_bytes())?; // buffered: written on close
        Ok(Sink { path, out })
    }
}

#[derive(Rebuild)]
struct Stage {
    #[nested]
    own: Sink,
    #[nested]
    sinks: VecDeque<Sink>,
}

#[derive(Rebuild)]
struct Pipeline {
    #[nested]
    main: Sink,
    #[nested]
    stages: BTreeMap<&'static str, Stage>,
    #[nested]
    spare: Option<Box<Sink>>,
    #[nested]
    pair: [Sink; 2],
}

#[test]
fn close_failures_at_every_level_are_all_reported_and_every_descriptor_closed() -> TestResult {
    let _alone = alone();
    let dir = TempDir::new("compose-close")?;
    let full = Path::new("/dev/full");
    let good = |name: &str| dir.path().join(name);
    let before = open_fd_count()?;
    let pipeline = Pipeline {
        main: Sink::open(full, "main")?,
        stages: BTreeMap::from([
            (
                "a",
                Stage {
                    own: Sink::open(&good("a.own"), "a.own")?,
                    sinks: VecDeque::from([
                        Sink::open(full, "a0")?,
                        Sink::open(&good("a1"), "a1")?,
                        Sink::open(full, "a2")?,
                    ]),
                },
            ),
            (
                "b",
                Stage {
                    own: Sink::open(full, "b.own")?,
                    sinks: VecDeque::from([Sink::open(&good("b0"), "b0")?]),
                },
            ),
        ]),
        spare: Some(Box::new(Sink::open(full, "spare")?)),
        pair: [Sink::open(&good("p0"), "p0")?, Sink::open(full, "p1")?],
    };
    assert_eq!(open_fd_count()?, before + 10);

    let err = pipeline
        .close()
        .err()
        .ok_or("the sinks on /dev/full fail")?;
    // Every failure, in the order closing met them: fields in reverse, elements in
    // reverse, map entries in reverse key order, at every level.
    let paths: Vec<String> = err
        .failures()
        .iter()
        .map(|f| f.path().to_string())
        .collect();
    assert_eq!(
        paths,
        [
            "pair[1].out",
            "spare.out",
            "stages[\"b\"].own.out",
            "stages[\"a\"].sinks[2].out",
            "stages[\"a\"].sinks[0].out",
            "main.out",
        ]
    );
    for failure in err.failures() {
        let cause = failure
            .error()
            .downcast_ref::<FileError>()
            .ok_or("a FileError")?;
        assert_eq!(
            cause.kind(),
            io::ErrorKind::StorageFull,
            "{}",
            failure.path()
        );
    }
    assert_eq!(err.type_name(), "Pipeline");
    assert!(
        err.to_string()
            .starts_with("cannot close `Pipeline`: field `pair[1].out`: ")
    );
    // Closing went on after each failure: every descriptor is closed, and the sinks
    // on real files were flushed.
    assert_eq!(open_fd_count()?, before);
    for name in ["a.own", "a1", "b0", "p0"] {
        assert_eq!(std::fs::read_to_string(good(name))?, name);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// The order of opens and closes across levels, on a ledger
// ---------------------------------------------------------------------------------

thread_local! {
    /// What `Named` did on this thread (each test runs on a thread of its own).
    static LEDGER: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    /// Names whose open fails.
    static FAIL_OPEN: RefCell<HashSet<String>> = RefCell::new(HashSet::new());
    /// Names whose close fails.
    static FAIL_CLOSE: RefCell<HashSet<String>> = RefCell::new(HashSet::new());
}

fn ledger() -> Vec<String> {
    LEDGER.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

fn fail_open(names: &[&str]) {
    FAIL_OPEN.with(|f| *f.borrow_mut() = names.iter().map(|&n| n.to_owned()).collect());
}

fn fail_close(names: &[&str]) {
    FAIL_CLOSE.with(|f| *f.borrow_mut() = names.iter().map(|&n| n.to_owned()).collect());
}

/// Opens a "resource" that is its name, on the ledger.
struct Named;

impl Factory for Named {
    type Config = str;
    type Resource = String;
    type Error = io::Error;

    fn open(&self, name: &str) -> io::Result<String> {
        if FAIL_OPEN.with(|f| f.borrow().contains(name)) {
            return Err(io::Error::other(format!("{name} refused to open")));
        }
        LEDGER.with(|l| l.borrow_mut().push(format!("open {name}")));
        Ok(name.to_owned())
    }

    fn close(&self, name: String) -> io::Result<()> {
        LEDGER.with(|l| l.borrow_mut().push(format!("close {name}")));
        if FAIL_CLOSE.with(|f| f.borrow().contains(&name)) {
            return Err(io::Error::other(format!("{name} refused to close")));
        }
        Ok(())
    }
}

#[derive(Rebuild)]
#[rebuild(blueprint)]
struct Leaf {
    #[config]
    name: String,
    #[resource(factory = Named, from = name)]
    res: String,
}

fn leaf(name: &str) -> Leaf {
    Leaf {
        name: name.to_owned(),
        res: name.to_owned(),
    }
}

#[derive(Rebuild)]
#[rebuild(blueprint)]
struct Mid {
    #[nested]
    head: Leaf,
    #[nested]
    list: Vec<Leaf>,
    #[nested]
    map: BTreeMap<String, Leaf>,
}

#[derive(Rebuild)]
#[rebuild(blueprint)]
struct Top {
    #[nested]
    first: Leaf,
    #[nested]
    mids: Vec<Mid>,
    #[nested]
    last: Option<Box<Leaf>>,
}

fn mid(prefix: &str) -> Mid {
    Mid {
        head: leaf(&format!("{prefix}.head")),
        list: vec![leaf(&format!("{prefix}.l0")), leaf(&format!("{prefix}.l1"))],
        map: BTreeMap::from([
            ("k1".to_owned(), leaf(&format!("{prefix}.k1"))),
            ("k2".to_owned(), leaf(&format!("{prefix}.k2"))),
        ]),
    }
}

fn top() -> Top {
    Top {
        first: leaf("first"),
        mids: vec![mid("m0"), mid("m1")],
        last: Some(Box::new(leaf("last"))),
    }
}

/// Every leaf of `top()`, in declaration order.
const LEAVES: [&str; 12] = [
    "first", "m0.head", "m0.l0", "m0.l1", "m0.k1", "m0.k2", "m1.head", "m1.l0", "m1.l1", "m1.k1",
    "m1.k2", "last",
];

fn opens(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| format!("open {n}")).collect()
}

fn closes(names: &[&str]) -> Vec<String> {
    names.iter().rev().map(|n| format!("close {n}")).collect()
}

#[test]
fn a_rebuild_opens_in_declaration_order_and_close_reverses_it_at_every_level() -> TestResult {
    let _shared = shared();
    let all = &LEAVES[..];
    let original = top();
    fail_open(&[]);
    fail_close(&[]);
    let copy = original.rebuild()?;
    assert_eq!(ledger(), opens(all));
    copy.close()?;
    assert_eq!(ledger(), closes(all));
    Ok(())
}

#[test]
fn a_failure_deep_inside_closes_every_copy_in_reverse_and_keeps_every_cleanup_failure() -> TestResult
{
    let _shared = shared();
    let original = top();
    // Every position: the first leaf, one in the middle of a Vec, the last of a map
    // deep inside, the Option at the end.
    let cases: [(usize, &str); 5] = [
        (0, "first.res"),
        (2, "mids[0].list[0].res"),
        (7, "mids[1].list[0].res"),
        (10, "mids[1].map[\"k2\"].res"),
        (11, "last.res"),
    ];
    for (failing, path) in cases {
        fail_open(&[LEAVES[failing]]);
        // Two of the copies already made fail to close as well.
        let cleanup_failing: Vec<&str> = [0, 3, 8]
            .into_iter()
            .filter(|&i| i < failing)
            .map(|i| LEAVES[i])
            .collect();
        fail_close(&cleanup_failing);
        let err = original.rebuild().err().ok_or("the rebuild must fail")?;
        assert_eq!(err.path().to_string(), path);
        assert_eq!(err.type_name(), "Top");

        let mut expected = opens(&LEAVES[..failing]);
        expected.extend(closes(&LEAVES[..failing]));
        assert_eq!(ledger(), expected, "failing at {path}");

        // The copies that failed to close are reported in closing order, with
        // their whole paths, none lost.
        let cleanup: Vec<String> = err
            .cleanup()
            .map(|c| c.failures().iter().map(|f| f.path().to_string()).collect())
            .unwrap_or_default();
        let all_paths = [
            "first.res",
            "mids[0].head.res",
            "mids[0].list[0].res",
            "mids[0].list[1].res",
            "mids[0].map[\"k1\"].res",
            "mids[0].map[\"k2\"].res",
            "mids[1].head.res",
            "mids[1].list[0].res",
            "mids[1].list[1].res",
        ];
        let expected_cleanup: Vec<&str> = [8, 3, 0]
            .into_iter()
            .filter(|&i| i < failing)
            .map(|i| all_paths[i])
            .collect();
        assert_eq!(cleanup, expected_cleanup, "failing at {path}");
        if !expected_cleanup.is_empty() {
            assert!(
                err.to_string()
                    .contains("and closing what was already opened failed")
            );
        }
    }
    fail_open(&[]);
    fail_close(&[]);
    original.close()?;
    ledger();
    Ok(())
}

#[test]
fn close_goes_on_after_failures_at_every_level() -> TestResult {
    let _shared = shared();
    fail_open(&[]);
    fail_close(&["last", "m1.k1", "m0.l0", "first"]);
    let err = top().close().err().ok_or("four closes fail")?;
    assert_eq!(ledger(), closes(&LEAVES), "every leaf was closed");
    let paths: Vec<String> = err
        .failures()
        .iter()
        .map(|f| f.path().to_string())
        .collect();
    assert_eq!(
        paths,
        [
            "last.res",
            "mids[1].map[\"k1\"].res",
            "mids[0].list[0].res",
            "first.res"
        ]
    );
    assert!(err.source().is_none());
    fail_close(&[]);
    Ok(())
}

#[test]
fn a_hash_map_rolls_back_in_exactly_the_reverse_of_its_rebuild_order() -> TestResult {
    let _shared = shared();
    let names = ["h0", "h1", "h2", "h3", "h4", "h5"];
    let map: HashMap<&str, Leaf> = names.iter().map(|&n| (n, leaf(n))).collect();
    let order: Vec<&str> = map.keys().copied().collect();
    for failing in 0..order.len() {
        fail_open(&[order[failing]]);
        fail_close(&[]);
        let err = map.rebuild().err().ok_or("one entry fails")?;
        assert_eq!(
            err.path().to_string(),
            format!("[{:?}].res", order[failing])
        );
        let mut expected = opens(&order[..failing]);
        expected.extend(closes(&order[..failing]));
        assert_eq!(ledger(), expected);
        // Raised by the container itself: named as `type_name` spells it.
        assert_eq!(
            err.type_name(),
            std::any::type_name::<HashMap<&str, Leaf>>()
        );
    }
    fail_open(&[]);
    map.close()?;
    assert_eq!(ledger().len(), names.len());
    Ok(())
}

/// Rebuilds `value`, builds it from its blueprint, closes all three, checking the
/// ledger.
fn round_trip<T: FromBlueprint>(value: T, leaves: &[&str]) -> Result<(), RebuildError> {
    let copy = value.rebuild()?;
    assert_eq!(ledger(), opens(leaves), "{}", std::any::type_name::<T>());
    let built = T::from_blueprint(copy.blueprint())?;
    assert_eq!(ledger(), opens(leaves));
    for closed in [copy.close(), built.close(), value.close()] {
        closed.map_err(|e: CloseError| RebuildError::new("test", "close", e))?;
    }
    ledger();
    Ok(())
}

#[test]
fn every_container_rebuilds_closes_and_builds_from_its_blueprint() -> TestResult {
    let _shared = shared();
    fail_open(&[]);
    fail_close(&[]);

    round_trip(Box::new(leaf("b")), &["b"])?;
    round_trip(Some(leaf("o")), &["o"])?;
    round_trip(None::<Leaf>, &[])?;
    round_trip(vec![leaf("v0"), leaf("v1")], &["v0", "v1"])?;
    round_trip(Vec::<Leaf>::new(), &[])?;
    round_trip([leaf("a0"), leaf("a1"), leaf("a2")], &["a0", "a1", "a2"])?;
    round_trip(VecDeque::from([leaf("d0"), leaf("d1")]), &["d0", "d1"])?;
    round_trip(
        BTreeMap::from([(2, leaf("t2")), (1, leaf("t1"))]),
        &["t1", "t2"],
    )?;
    // A hasher of the user's choosing is cloned into the copy.
    let mut hashed: HashMap<u8, Leaf, BuildHasherDefault<std::hash::DefaultHasher>> =
        HashMap::default();
    hashed.insert(1, leaf("x1"));
    round_trip(hashed, &["x1"])?;
    // Containers of containers.
    round_trip(vec![Some(vec![leaf("n0")]), None], &["n0"])?;

    // An array's failure names the element, and closes the ones before it.
    fail_open(&["a1"]);
    let array = [leaf("a0"), leaf("a1"), leaf("a2")];
    let err = array.rebuild().err().ok_or("a1 fails")?;
    assert_eq!(err.path().to_string(), "[1].res");
    assert_eq!(ledger(), ["open a0", "close a0"]);
    let err = <[Leaf; 3]>::from_blueprint(array.blueprint())
        .err()
        .ok_or("a1 fails")?;
    assert_eq!(err.path().to_string(), "[1].res");
    assert_eq!(ledger(), ["open a0", "close a0"]);
    fail_open(&[]);
    array.close()?;
    ledger();
    Ok(())
}

/// A recursive type: its blueprint has a size because `Box`'s blueprint stays boxed.
#[derive(Rebuild)]
#[rebuild(blueprint)]
struct Link {
    #[nested]
    here: Leaf,
    #[nested]
    next: Option<Box<Link>>,
}

#[test]
fn a_recursive_type_rebuilds_and_names_the_path_down_its_links() -> TestResult {
    let _shared = shared();
    fail_open(&[]);
    fail_close(&[]);
    let chain = Link {
        here: leaf("c0"),
        next: Some(Box::new(Link {
            here: leaf("c1"),
            next: Some(Box::new(Link {
                here: leaf("c2"),
                next: None,
            })),
        })),
    };
    chain.rebuild()?.close()?;
    assert_eq!(
        ledger(),
        [
            "open c0", "open c1", "open c2", "close c2", "close c1", "close c0"
        ]
    );
    fail_open(&["c2"]);
    let err = Link::from_blueprint(chain.blueprint())
        .err()
        .ok_or("c2 fails")?;
    assert_eq!(err.path().to_string(), "next.next.here.res");
    assert_eq!(ledger(), ["open c0", "open c1", "close c1", "close c0"]);
    fail_open(&[]);
    chain.close()?;
    ledger();
    Ok(())
}
