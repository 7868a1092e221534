//! Wall time of an async rebuild whose opens each wait a latency: k = 8 resources,
//! each opened by a factory that sleeps L = 20 ms on a tokio timer, then opens a real
//! file (or connects to a local TCP server). `#[rebuild(async)]` opens all eight at
//! once; `#[rebuild(async, sequential)]` one after another.
//!
//! ```text
//! cargo bench -p guardian-benches --bench async_latency            # 30 rounds, medians
//! cargo bench -p guardian-benches --bench async_latency -- --test  # one round, as CI runs it
//! ```
//!
//! Nothing is asserted: the numbers are in BENCHMARKS.md (the target is at most
//! 1.2 L for the concurrent rebuild, 8 L being the sequential one's floor).

use std::time::{Duration, Instant};

use guardian_core::fs::{AbsolutePath, FileError};
use guardian_core::net::{NetError, TcpConfig};
use guardian_core::tokio::{ReadFile, TcpConnect};
use guardian_core::{AsyncFactory, AsyncRebuild, Rebuild};
use tokio::fs::File;
use tokio::net::TcpStream;

const L: Duration = Duration::from_millis(20);

/// Sleeps L, then opens a file for reading.
#[derive(Clone, Copy)]
struct SlowFile;

impl AsyncFactory for SlowFile {
    type Config = AbsolutePath;
    type Resource = File;
    type Error = FileError;

    async fn open(&self, path: &AbsolutePath) -> Result<File, FileError> {
        tokio::time::sleep(L).await;
        ReadFile.open(path).await
    }
}

/// Sleeps L, then connects.
#[derive(Clone, Copy)]
struct SlowConnect;

impl AsyncFactory for SlowConnect {
    type Config = TcpConfig;
    type Resource = TcpStream;
    type Error = NetError;

    async fn open(&self, server: &TcpConfig) -> Result<TcpStream, NetError> {
        tokio::time::sleep(L).await;
        TcpConnect.open(server).await
    }

    async fn close(&self, stream: TcpStream) -> Result<(), NetError> {
        TcpConnect.close(stream).await
    }
}

macro_rules! eight {
    ($name:ident, $factory:ident, $config:ty, $resource:ty, $($flags:tt)*) => {
        #[derive(Rebuild)]
        #[rebuild($($flags)*)]
        struct $name {
            #[config]
            config: $config,
            #[resource(factory = $factory, from = config)]
            r0: $resource,
            #[resource(factory = $factory, from = config)]
            r1: $resource,
            #[resource(factory = $factory, from = config)]
            r2: $resource,
            #[resource(factory = $factory, from = config)]
            r3: $resource,
            #[resource(factory = $factory, from = config)]
            r4: $resource,
            #[resource(factory = $factory, from = config)]
            r5: $resource,
            #[resource(factory = $factory, from = config)]
            r6: $resource,
            #[resource(factory = $factory, from = config)]
            r7: $resource,
        }

        impl $name {
            async fn open(config: $config) -> Self {
                let f = $factory;
                Self {
                    r0: f.open(&config).await.expect("open"),
                    r1: f.open(&config).await.expect("open"),
                    r2: f.open(&config).await.expect("open"),
                    r3: f.open(&config).await.expect("open"),
                    r4: f.open(&config).await.expect("open"),
                    r5: f.open(&config).await.expect("open"),
                    r6: f.open(&config).await.expect("open"),
                    r7: f.open(&config).await.expect("open"),
                    config,
                }
            }
        }
    };
}

eight!(FilesAtOnce, SlowFile, AbsolutePath, File, async);
eight!(FilesInTurn, SlowFile, AbsolutePath, File, async, sequential);
eight!(SocketsAtOnce, SlowConnect, TcpConfig, TcpStream, async);
eight!(
    SocketsInTurn,
    SlowConnect,
    TcpConfig,
    TcpStream,
    async,
    sequential
);

/// The wall time of each of `rounds` rebuilds (closed after timing), sorted.
async fn time<T: AsyncRebuild>(value: &T, rounds: usize) -> Vec<Duration> {
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        let copy = value.rebuild().await.expect("rebuild");
        times.push(start.elapsed());
        copy.close().await.expect("close");
    }
    times.sort();
    times
}

fn report(case: &str, times: &[Duration]) {
    let median = times[times.len() / 2];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{case:<28} median {:>7.2} ms = {:>5.2} L   min {:>7.2} ms   max {:>7.2} ms   ({} rounds)",
        ms(median),
        median.as_secs_f64() / L.as_secs_f64(),
        ms(times[0]),
        ms(times[times.len() - 1]),
        times.len()
    );
}

fn main() {
    // `cargo bench -- --test` (CI's quick check): one round of each case.
    let rounds = if std::env::args().any(|arg| arg == "--test") {
        1
    } else {
        30
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let dir =
            std::env::temp_dir().join(format!("guardian-bench-latency-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        let path = AbsolutePath::new(dir.join("data")).expect("path");
        std::fs::write(&path, "data").expect("data");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("listener");
        let server = TcpConfig::from(listener.local_addr().expect("address"));
        tokio::spawn(async move {
            while let Ok((peer, _)) = listener.accept().await {
                drop(peer);
            }
        });

        let at_once = FilesAtOnce::open(path.clone()).await;
        report("files, at once", &time(&at_once, rounds).await);
        let in_turn = FilesInTurn::open(path.clone()).await;
        report("files, sequential", &time(&in_turn, rounds).await);
        let at_once_net = SocketsAtOnce::open(server.clone()).await;
        report("connections, at once", &time(&at_once_net, rounds).await);
        let in_turn_net = SocketsInTurn::open(server.clone()).await;
        report("connections, sequential", &time(&in_turn_net, rounds).await);
        println!(
            "size of a rebuild future: files at once {} B, sequential {} B; connections at once {} B, sequential {} B; one SlowFile open {} B (tokio::join! of eight reopens {} B), one SlowConnect open {} B",
            size_of_val(&at_once.rebuild()),
            size_of_val(&in_turn.rebuild()),
            size_of_val(&at_once_net.rebuild()),
            size_of_val(&in_turn_net.rebuild()),
            size_of_val(&SlowFile.open(&path)),
            size_of_val(&hand_written_join(&at_once)),
            size_of_val(&SlowConnect.open(&server)),
        );

        at_once.close().await.expect("close");
        in_turn.close().await.expect("close");
        at_once_net.close().await.expect("close");
        in_turn_net.close().await.expect("close");
        std::fs::remove_dir_all(&dir).expect("remove the scratch directory");
    });
}

/// The floor the concurrent rebuild's future is compared with: `tokio::join!` of the
/// eight reopens, without the rollback a rebuild also holds.
async fn hand_written_join(files: &FilesAtOnce) {
    let c = &files.config;
    let _ = tokio::join!(
        SlowFile.reopen(c, &files.r0),
        SlowFile.reopen(c, &files.r1),
        SlowFile.reopen(c, &files.r2),
        SlowFile.reopen(c, &files.r3),
        SlowFile.reopen(c, &files.r4),
        SlowFile.reopen(c, &files.r5),
        SlowFile.reopen(c, &files.r6),
        SlowFile.reopen(c, &files.r7),
    );
}
