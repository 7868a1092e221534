//! Loading untrusted recipes, fuzzed: arbitrary bytes, arbitrary JSON, and adversarial
//! recipes (absolute paths, `..` chains, symlink names, very long names, NUL bytes,
//! unicode) fed to `serde_json::from_slice` for a `#[rebuild(serde)]` logger whose
//! file is opened by a confined append factory.
//!
//! What is asserted is the file system, not the code path: the root lives deep inside
//! a sandbox beside an `outside` directory of sentinel files, and the root holds
//! symlinks that lead outside (relative, absolute, dangling, to `..`). Every load that
//! succeeds writes to its file, and the file's real path (from `/proc/self/fd`) must be
//! below the root. After thousands of loads, every entry of the sandbox outside the
//! root (outside, its parents, the symlinks' targets) is exactly as it was: the same
//! names, types, lengths, contents, link targets and modification times, so nothing
//! was created, written or removed there. Descriptors are counted before and after.
//!
//! Deterministic: a fixed seed, no failure files; it runs in a few seconds.
//!
//! Beside it: a recipe naming a FIFO fails to load at once, and a load in two steps
//! (the blueprint, then `from_blueprint`) opens nothing until the whole input has
//! parsed and keeps the typed refusal through postcard.
#![cfg(all(feature = "serde", feature = "confine"))]

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use guardian_core::confine::{Confined, Escape, EscapeKind, OnceConfined};
use guardian_core::fs::{AppendFile, FileError};
use guardian_core::{FromBlueprint, Rebuild};
use guardian_suite::{
    TempDir, TestResult, alone, factory_error, mkfifo, open_fd_count, shared, within,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};

/// The jar: every file a recipe may name lives below its root.
static JAR: OnceConfined<Confined<AppendFile>> = OnceConfined::new();

/// The type whose recipes are loaded.
#[derive(Rebuild)]
#[rebuild(serde)]
struct MatchLogger {
    #[config]
    path: PathBuf,
    #[config]
    #[serde(default)]
    moves: Vec<String>,
    #[resource(factory = JAR, from = path)]
    log: File,
}

/// How deep the root and `outside` sit in the sandbox. A generated path has at most
/// `MAX_COMPONENTS` components, so even `..` after a symlink cannot climb out of the
/// sandbox: whatever a bug might touch, the sandbox walk sees.
const DEPTH: usize = 10;
const MAX_COMPONENTS: usize = 8;

/// One entry of the sandbox as the walk sees it (symlinks not followed).
#[derive(Debug, PartialEq, Eq)]
enum Entry {
    Dir {
        modified: SystemTime,
    },
    File {
        contents: Vec<u8>,
        modified: SystemTime,
    },
    Link {
        target: PathBuf,
    },
}

/// Every entry below `dir`, except the subtree of `skip` (the root, where loads may
/// create files).
fn walk(dir: &Path, skip: &Path, into: &mut BTreeMap<PathBuf, Entry>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path == skip {
            continue;
        }
        let meta = std::fs::symlink_metadata(&path)?;
        let kind = meta.file_type();
        if kind.is_symlink() {
            into.insert(
                path.clone(),
                Entry::Link {
                    target: std::fs::read_link(&path)?,
                },
            );
        } else if kind.is_dir() {
            into.insert(
                path.clone(),
                Entry::Dir {
                    modified: meta.modified()?,
                },
            );
            walk(&path, skip, into)?;
        } else {
            let contents = std::fs::read(&path)?;
            into.insert(
                path.clone(),
                Entry::File {
                    contents,
                    modified: meta.modified()?,
                },
            );
        }
    }
    Ok(())
}

/// `sandbox/l1/.../lDEPTH/{root, outside}`, with sentinels outside and symlinks in
/// the root that lead out.
struct Sandbox {
    dir: TempDir,
    root: PathBuf,
    outside: PathBuf,
}

impl Sandbox {
    fn new() -> TestResult<Self> {
        let dir = TempDir::new("confined-load")?;
        let mut base = dir.path().to_path_buf();
        for level in 1..=DEPTH {
            base.push(format!("l{level}"));
        }
        let root = base.join("root");
        let outside = base.join("outside");
        std::fs::create_dir_all(root.join("logs/deep"))?;
        std::fs::create_dir_all(outside.join("nested"))?;
        std::fs::write(outside.join("secret.txt"), "sentinel: keep out\n")?;
        std::fs::write(outside.join("passwd"), "root:x:0:0::/root:/bin/sh\n")?;
        std::fs::write(outside.join("nested/deep.txt"), "deep sentinel\n")?;
        std::fs::write(dir.path().join("top.txt"), "top sentinel\n")?;
        symlink("../outside", root.join("out"))?;
        symlink(&outside, root.join("abs-out"))?;
        symlink("../outside/secret.txt", root.join("secret"))?;
        symlink(outside.join("passwd"), root.join("passwd"))?;
        symlink("../outside/ghost.log", root.join("ghost"))?;
        symlink(outside.join("new-dir/ghost.log"), root.join("abs-ghost"))?;
        symlink("..", root.join("up"))?;
        symlink("loop", root.join("loop"))?;
        symlink("logs", root.join("in"))?;
        symlink("logs/deep/../..", root.join("self"))?;
        // Outside too: a link back in, and one further out.
        symlink(&root, outside.join("back-in"))?;
        symlink("../../..", outside.join("further-out"))?;
        Ok(Self { dir, root, outside })
    }

    fn snapshot(&self) -> TestResult<BTreeMap<PathBuf, Entry>> {
        let mut entries = BTreeMap::new();
        walk(self.dir.path(), &self.root, &mut entries)?;
        Ok(entries)
    }
}

/// Names an attacker would try, the sandbox's own names, and hostile shapes.
fn component() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just("..".to_owned()),
        1 => Just(".".to_owned()),
        1 => Just(String::new()),
        6 => prop::sample::select(vec![
            "out", "abs-out", "secret", "passwd", "ghost", "abs-ghost", "up", "loop",
            "in", "self", "logs", "deep", "outside", "root", "nested", "secret.txt",
            "deep.txt", "top.txt", "back-in", "further-out", "l9", "l10", "match.log",
            "new-dir", "ghost.log",
        ])
        .prop_map(str::to_owned),
        2 => "[a-z0-9._-]{1,12}",
        // Any printable unicode (a `/` would add components beyond the cap).
        1 => "\\PC{1,16}".prop_map(|name| name.replace('/', "\u{2215}")),
        // A NUL byte inside.
        1 => ("[a-z]{0,4}", "[a-z]{0,4}").prop_map(|(a, b)| format!("{a}\0{b}")),
        1 => "[a-z]{250,300}",                      // longer than NAME_MAX
        1 => "[a-z\\\\:]{1,8}",                     // Windows-style separators and drives
        1 => Just("ünïcödé-名前-🗝.log".to_owned()),
    ]
}

/// A path as a recipe might hold it: relative, or absolute into `outside` or the
/// root (spelled several ways). Absolute paths start deep in the sandbox, so that even
/// their `..` chains stay inside it: a broken factory would be caught, not let loose
/// on the system.
fn hostile_path(sandbox: &Sandbox) -> impl Strategy<Value = String> {
    let (outside, root) = (sandbox.outside.display(), sandbox.root.display());
    let prefixes = vec![
        String::new(),
        String::new(),
        String::new(),
        "./".to_owned(),
        "../".repeat(DEPTH + 3),
        format!("{outside}/"),
        format!("/{outside}/"),
        format!("{root}/"),
        format!("{root}/./../root/"),
    ];
    (
        prop::sample::select(prefixes),
        prop::collection::vec(component(), 0..=MAX_COMPONENTS),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(prefix, components, trailing_slash)| {
            // `../` × (DEPTH + 3) is itself a chain: count it against the cap.
            let budget = if prefix.starts_with("..") {
                0
            } else {
                MAX_COMPONENTS
            };
            let mut path = prefix;
            path.push_str(&components[..components.len().min(budget)].join("/"));
            if trailing_slash {
                path.push('/');
            }
            path
        })
}

/// A recipe's JSON text around a hostile path: well-formed, with extra or repeated
/// fields, wrong types, or cut short.
fn hostile_recipe(sandbox: &Sandbox) -> impl Strategy<Value = Vec<u8>> {
    (
        hostile_path(sandbox),
        hostile_path(sandbox),
        0_u8..8,
        prop::collection::vec("\\PC{0,6}", 0..4),
        any::<usize>(),
    )
        .prop_map(|(path, other, shape, moves, cut)| {
            let quoted = serde_json::to_string(&path).unwrap_or_default();
            let other = serde_json::to_string(&other).unwrap_or_default();
            let moves = serde_json::to_string(&moves).unwrap_or_default();
            let text = match shape {
                0 => format!(r#"{{"path":{quoted}}}"#),
                1 => format!(r#"{{"path":{quoted},"moves":{moves}}}"#),
                2 => format!(r#"{{"moves":{moves},"path":{quoted},"log":3}}"#),
                3 => format!(r#"{{"path":{quoted},"path":{other}}}"#),
                4 => format!(r#"{{"path":[{quoted}],"moves":{moves}}}"#),
                5 => format!(r"[{quoted},{moves}]"),
                6 => {
                    // Cut at any byte, also inside a character: invalid UTF-8 too.
                    let mut full = format!(r#"{{"path":{quoted},"moves":{moves}}}"#).into_bytes();
                    full.truncate(cut % (full.len() + 1));
                    return full;
                }
                _ => format!(r#"{{"path":{quoted},"moves":{moves},"fd":0}}"#),
            };
            text.into_bytes()
        })
}

/// Any JSON value, nested a few levels, with path-like strings.
fn any_json() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        "\\PC{0,20}".prop_map(serde_json::Value::from),
        component().prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("path".to_owned()),
                    Just("moves".to_owned()),
                    "\\PC{0,6}"
                ],
                inner,
                0..4,
            )
            .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
        ]
    })
    .prop_map(|value| serde_json::to_vec(&value).unwrap_or_default())
}

fn config(cases: u32, seed: u64) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    }
}

/// What the loads did, for the final report.
#[derive(Default, Debug)]
struct Tally {
    loaded: Cell<usize>,
    refused: Cell<usize>,
    /// Refusals by the confined factory: absolute, `..`, symlink.
    escapes: [Cell<usize>; 3],
}

/// Loads `bytes`; a load that succeeds must have opened a file below the root, and
/// writes to it (so that an escape would change a sentinel).
fn load(bytes: &[u8], real_root: &Path, tally: &Tally) -> Result<(), TestCaseError> {
    match serde_json::from_slice::<MatchLogger>(bytes) {
        Ok(mut logger) => {
            let opened = std::fs::read_link(format!("/proc/self/fd/{}", logger.log.as_raw_fd()))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(
                opened.starts_with(real_root) && opened != real_root,
                "{:?} opened {opened:?}, outside the root",
                logger.path
            );
            logger
                .log
                .write_all(b"escaped?\n")
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            logger
                .close()
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            tally.loaded.set(tally.loaded.get() + 1);
        }
        Err(error) => {
            // The message is built (and must not panic); refusals say why.
            let message = error.to_string();
            prop_assert!(!message.is_empty());
            let why = [
                "refused: the path is absolute",
                "refused: `..` climbs out of the root",
                "refused: a symlink on the path leads out of the root",
            ];
            for (count, why) in tally.escapes.iter().zip(why) {
                if message.contains(why) {
                    count.set(count.get() + 1);
                }
            }
            tally.refused.set(tally.refused.get() + 1);
        }
    }
    Ok(())
}

#[test]
fn untrusted_recipes_never_panic_and_never_touch_anything_outside_the_root() -> TestResult {
    let _alone = alone(); // counts descriptors
    let sandbox = Sandbox::new()?;
    JAR.set(Confined::new(&sandbox.root, AppendFile)?)?;
    let real_root = std::fs::canonicalize(&sandbox.root)?;
    let before = sandbox.snapshot()?;
    let descriptors = open_fd_count()?;
    let tally = Tally::default();

    // A recipe that is fine loads (the harness can tell success from refusal).
    load(br#"{"path":"logs/deep/../game.log"}"#, &real_root, &tally).map_err(|e| e.to_string())?;
    assert_eq!(tally.loaded.get(), 1, "a legitimate recipe was refused");

    let mut runner = TestRunner::new(config(3000, 0x6775_6172_6469_616e));
    runner.run(&hostile_recipe(&sandbox), |bytes| {
        load(&bytes, &real_root, &tally)
    })?;
    let mut runner = TestRunner::new(config(1500, 0x7069_636b_6c65));
    runner.run(&any_json(), |bytes| load(&bytes, &real_root, &tally))?;
    let mut runner = TestRunner::new(config(1500, 0x006a_6172));
    runner.run(&prop::collection::vec(any::<u8>(), 0..256), |bytes| {
        load(&bytes, &real_root, &tally)
    })?;

    let after = sandbox.snapshot()?;
    for (path, entry) in &before {
        assert_eq!(after.get(path), Some(entry), "{} changed", path.display());
    }
    for path in after.keys() {
        assert!(
            before.contains_key(path),
            "{} was created outside the root",
            path.display()
        );
    }
    assert_eq!(open_fd_count()?, descriptors, "a descriptor leaked");
    assert!(
        tally.loaded.get() > 50 && tally.refused.get() > 1000,
        "the fuzzer should both load and refuse: {tally:?}"
    );
    assert!(
        tally.escapes.iter().all(|count| count.get() > 20),
        "every kind of escape should be tried: {tally:?}"
    );
    eprintln!("{tally:?}");
    Ok(())
}

/// Where the special-file test's recipes are opened.
static PIPES: OnceConfined<Confined<AppendFile>> = OnceConfined::new();

/// A logger whose recipe names a path below `PIPES`.
#[derive(Rebuild)]
#[rebuild(serde)]
struct PipeLogger {
    #[config]
    path: PathBuf,
    #[resource(factory = PIPES, from = path)]
    log: File,
}

#[test]
fn a_recipe_that_names_a_fifo_fails_to_load_at_once() -> TestResult {
    let _shared = shared();
    let dir = TempDir::new("confined-load-fifo")?;
    std::fs::create_dir(dir.path().join("logs"))?;
    mkfifo(&dir.path().join("logs/pipe"))?;
    PIPES.set(Confined::new(dir.path(), AppendFile)?)?;

    // Before the fix the load waited for a reader of the FIFO, for ever.
    let loaded = within(Duration::from_secs(5), || {
        serde_json::from_str::<PipeLogger>(r#"{"path":"logs/pipe"}"#).map(PipeLogger::close)
    })
    .ok_or("loading a recipe that names a FIFO was still waiting after 5 s")?;
    assert!(loaded.is_err(), "a FIFO was opened");
    Ok(())
}

/// Where the two-step loads open their files.
static STEPS: OnceConfined<Confined<AppendFile>> = OnceConfined::new();

/// A logger loaded in two steps: its blueprint, then `from_blueprint`.
#[derive(Rebuild)]
#[rebuild(serde)]
struct StepLogger {
    #[config]
    path: PathBuf,
    #[resource(factory = STEPS, from = path)]
    log: File,
}

#[test]
fn a_two_step_load_opens_nothing_until_the_input_has_parsed_and_keeps_the_typed_error() -> TestResult
{
    let _shared = shared();
    let dir = TempDir::new("confined-load-steps")?;
    STEPS.set(Confined::new(dir.path(), AppendFile)?)?;

    // Trailing text after the recipe: the blueprint fails to parse, and no file was
    // opened or created (a one-step load opens the file before serde_json sees the
    // trailing text).
    for input in [
        r#"{"path":"x.log"} junk"#,
        r#"{"path":"x.log"}{"path":"y.log"}"#,
    ] {
        let parsed = serde_json::from_str::<StepLoggerBlueprint>(input);
        assert!(parsed.is_err(), "{input} parsed");
    }
    let created: Vec<_> = std::fs::read_dir(dir.path())?.collect();
    assert!(created.is_empty(), "{created:?}");

    // With postcard, whose errors carry no text, the refusal arrives whole: a
    // `RebuildError` naming the field, with the factory's `FileError` and its `Escape`.
    let bytes = postcard::to_stdvec(&StepLoggerBlueprint {
        path: "../escaped.log".into(),
    })?;
    let blueprint: StepLoggerBlueprint = postcard::from_bytes(&bytes)?;
    let Err(refused) = StepLogger::from_blueprint(blueprint) else {
        return Err("a recipe escaped its root".into());
    };
    assert_eq!(refused.field(), "log");
    let escape = Escape::of(factory_error::<FileError>(&refused)).ok_or("not a refusal")?;
    assert_eq!(escape.kind(), EscapeKind::ParentDir);
    assert!(!dir.path().join("../escaped.log").exists());

    // And a good recipe loads, in the same two steps.
    let bytes = postcard::to_stdvec(&StepLoggerBlueprint {
        path: "match.log".into(),
    })?;
    let logger = StepLogger::from_blueprint(postcard::from_bytes(&bytes)?)?;
    logger.close()?;
    assert!(dir.path().join("match.log").is_file());
    Ok(())
}
