//! Blueprints: the recipe of a value as a value of its own, built later, edited, and
//! (with feature `serde`) saved and loaded in any serde format.

use guardian_core::{FromBlueprint, Rebuild};
use guardian_suite::path_factories::AppendFile;
use guardian_suite::{TempDir, TestResult, alone, open_fd_count, shared};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// A match logger whose recipe is the path and the moves so far.
#[derive(Rebuild)]
#[rebuild(blueprint(derive(Debug, PartialEq)))]
struct MatchLogger {
    /// Where the log lives.
    #[config]
    path: PathBuf,
    /// The moves so far.
    #[config]
    moves: Vec<String>,
    #[resource(factory = AppendFile, from = path)]
    log: File,
}

fn read(path: &Path) -> std::io::Result<String> {
    let mut text = String::new();
    File::open(path)?.read_to_string(&mut text)?;
    Ok(text)
}

#[test]
fn a_blueprint_holds_the_config_and_builds_a_value_with_its_own_handle() -> TestResult {
    let _shared = shared();
    let dir = TempDir::new("blueprint-build")?;
    let path = dir.path().join("match.log");
    let blueprint = MatchLoggerBlueprint {
        path: path.clone(),
        moves: vec!["e4".into()],
    };

    let mut first = MatchLogger::from_blueprint(blueprint.clone())?;
    assert_eq!(first.blueprint(), blueprint);
    let mut second = MatchLogger::from_blueprint(blueprint)?;
    assert_ne!(first.log.as_raw_fd(), second.log.as_raw_fd());

    writeln!(first.log, "first")?;
    writeln!(second.log, "second")?;
    assert_eq!(read(&path)?, "first\nsecond\n");
    first.close()?;
    second.close()?;
    Ok(())
}

#[test]
fn rebuild_with_edited_config_opens_the_edited_recipe() -> TestResult {
    let _shared = shared();
    let dir = TempDir::new("blueprint-edit")?;
    let main_line = dir.path().join("main.log");
    let what_if = dir.path().join("what-if.log");
    let mut logger = MatchLogger::from_blueprint(MatchLoggerBlueprint {
        path: main_line.clone(),
        moves: vec!["e4".into(), "e5".into()],
    })?;

    let mut branch = logger.rebuild_with(|recipe| {
        recipe.path.clone_from(&what_if);
        recipe.moves.push("Qh5".into());
    })?;
    writeln!(logger.log, "main")?;
    writeln!(branch.log, "branch")?;

    assert_eq!(branch.moves, ["e4", "e5", "Qh5"]);
    assert_eq!(
        logger.moves,
        ["e4", "e5"],
        "the original's config is untouched"
    );
    assert_eq!(read(&main_line)?, "main\n");
    assert_eq!(read(&what_if)?, "branch\n");
    logger.close()?;
    branch.close()?;
    Ok(())
}

#[test]
fn a_failed_build_names_the_field_and_closes_what_it_opened() -> TestResult {
    /// Two logs; the second's directory does not exist.
    #[derive(Rebuild)]
    #[rebuild(blueprint)]
    struct Pair {
        #[config]
        good: PathBuf,
        #[config]
        bad: PathBuf,
        #[resource(factory = AppendFile, from = good)]
        first: File,
        #[resource(factory = AppendFile, from = bad)]
        second: File,
    }

    let _alone = alone();
    let dir = TempDir::new("blueprint-fail")?;
    let before = open_fd_count()?;
    let Err(err) = Pair::from_blueprint(PairBlueprint {
        good: dir.path().join("good.log"),
        bad: dir.path().join("missing-dir").join("bad.log"),
    }) else {
        return Err("a build from a bad recipe succeeded".into());
    };
    assert_eq!(err.field(), "second");
    assert_eq!(err.type_name(), "Pair");
    let io = err
        .factory_error()
        .downcast_ref::<std::io::Error>()
        .ok_or("not an io::Error")?;
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(open_fd_count()?, before, "the first log was not closed");
    Ok(())
}

/// Enums and tuple bodies: the blueprint has the same shape, config fields only.
#[derive(Rebuild)]
#[rebuild(blueprint(name = SinkRecipe, derive(Debug, PartialEq)))]
enum Sink {
    Log(
        #[config] u8,
        #[config] PathBuf,
        #[resource(factory = AppendFile, from = 1)] File,
    ),
    Discard,
}

#[test]
fn enum_and_tuple_blueprints_keep_the_shape() -> TestResult {
    let _shared = shared();
    let dir = TempDir::new("blueprint-enum")?;
    let path = dir.path().join("sink.log");
    let sink = Sink::from_blueprint(SinkRecipe::Log(3, path.clone()))?;
    assert!(
        path.is_file(),
        "building the `Log` variant opened (created) its log"
    );
    assert_eq!(sink.blueprint(), SinkRecipe::Log(3, path));
    assert_eq!(
        Sink::from_blueprint(SinkRecipe::Discard)?.blueprint(),
        SinkRecipe::Discard
    );
    sink.close()?;
    Ok(())
}

#[cfg(feature = "serde")]
mod serde_tests {
    use super::*;

    /// Saved and loaded through its blueprint.
    #[derive(Rebuild)]
    #[rebuild(serde)]
    #[serde(deny_unknown_fields)]
    struct Saved {
        #[config]
        path: PathBuf,
        #[config]
        #[serde(default)]
        moves: Vec<String>,
        #[resource(factory = AppendFile, from = path)]
        log: File,
    }

    #[test]
    fn json_holds_only_the_recipe_and_loading_reopens() -> TestResult {
        let _shared = shared();
        let dir = TempDir::new("serde-json")?;
        let path = dir.path().join("saved.log");
        let mut saved = Saved::from_blueprint(SavedBlueprint {
            path: path.clone(),
            moves: vec!["d4".into()],
        })?;
        writeln!(saved.log, "before save")?;

        let json = serde_json::to_string(&saved)?;
        let expected = serde_json::json!({ "path": path, "moves": ["d4"] });
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&json)?,
            expected,
            "only the recipe: {json}"
        );

        let mut loaded: Saved = serde_json::from_str(&json)?;
        assert_ne!(loaded.log.as_raw_fd(), saved.log.as_raw_fd());
        writeln!(loaded.log, "after load")?;
        assert_eq!(read(&path)?, "before save\nafter load\n");
        assert_eq!(loaded.moves, ["d4"]);

        // `#[serde(...)]` attributes reach the blueprint.
        let defaulted: Saved = serde_json::from_value(serde_json::json!({ "path": path }))?;
        assert!(defaulted.moves.is_empty());
        assert!(
            serde_json::from_value::<Saved>(serde_json::json!({ "path": path, "fd": 3 })).is_err()
        );

        loaded.close()?;
        saved.close()?;
        defaulted.close()?;
        Ok(())
    }

    #[test]
    fn a_compact_binary_format_round_trips() -> TestResult {
        let _shared = shared();
        let dir = TempDir::new("serde-postcard")?;
        let path = dir.path().join("binary.log");
        let saved = Saved::from_blueprint(SavedBlueprint {
            path: path.clone(),
            moves: vec!["c4".into()],
        })?;
        let bytes = postcard::to_allocvec(&saved)?;
        let loaded: Saved = postcard::from_bytes(&bytes)?;
        assert_eq!(
            (loaded.path.as_path(), loaded.moves.as_slice()),
            (path.as_path(), &["c4".to_owned()][..])
        );
        assert_ne!(loaded.log.as_raw_fd(), saved.log.as_raw_fd());
        loaded.close()?;
        saved.close()?;
        Ok(())
    }

    #[test]
    fn a_load_that_cannot_open_names_the_field_and_the_cause() -> TestResult {
        let _alone = alone();
        let dir = TempDir::new("serde-fail")?;
        let json = serde_json::json!({ "path": dir.path().join("no-such-dir").join("x.log"), "moves": [] });
        let before = open_fd_count()?;
        let err = match serde_json::from_value::<Saved>(json) {
            Ok(_) => return Err("a load from an unopenable recipe succeeded".into()),
            Err(err) => err.to_string(),
        };
        assert!(
            err.contains("`Saved`") && err.contains("field `log`"),
            "{err}"
        );
        assert!(
            err.contains("No such file or directory"),
            "the factory's error is carried: {err}"
        );
        assert_eq!(open_fd_count()?, before);
        Ok(())
    }

    /// A value whose recipes are the built-in ones: a file's `AbsolutePath` and a TCP
    /// connection's `TcpConfig`.
    #[derive(Rebuild)]
    #[rebuild(serde)]
    struct Linked {
        #[config]
        log_path: guardian_core::fs::AbsolutePath,
        #[config]
        server: guardian_core::net::TcpConfig,
        #[resource(factory = guardian_core::fs::AppendFile, from = log_path)]
        log: File,
        #[resource(factory = guardian_core::net::TcpConnect, from = server)]
        conn: std::net::TcpStream,
    }

    #[test]
    fn the_built_in_recipes_are_saved_and_loaded() -> TestResult {
        use guardian_core::Factory;
        use guardian_core::fs::AbsolutePath;
        use guardian_core::net::{TcpConfig, UdpConfig};
        use std::time::Duration;

        let _shared = shared();
        let dir = TempDir::new("serde-recipes")?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let server = TcpConfig::new(listener.local_addr()?.to_string())
            .with_connect_timeout(Some(Duration::from_secs(3)))
            .with_nodelay(true);
        let log_path = AbsolutePath::new(dir.path().join("linked.log"))?;
        let linked = Linked {
            log: guardian_core::fs::AppendFile.open(&log_path)?,
            conn: guardian_core::net::TcpConnect.open(&server)?,
            log_path,
            server,
        };
        let text = serde_json::to_string(&linked)?;
        let loaded: Linked = serde_json::from_str(&text)?;
        assert_eq!(loaded.log_path, linked.log_path);
        assert_eq!(loaded.server, linked.server, "every option kept: {text}");
        assert!(
            loaded.conn.nodelay()?,
            "the loaded connection has the option set"
        );
        assert_ne!(loaded.conn.as_raw_fd(), linked.conn.as_raw_fd());
        loaded.close()?;
        linked.close()?;

        // Hand-written recipes: the options may be left out...
        let minimal: TcpConfig = serde_json::from_str(r#"{"address": "db.internal:5432"}"#)?;
        assert_eq!(minimal, TcpConfig::new("db.internal:5432"));
        let udp: UdpConfig = serde_json::from_str(r#"{"bind": "127.0.0.1:0"}"#)?;
        assert_eq!(udp, UdpConfig::new("127.0.0.1:0".parse()?));
        // ...but a misspelt one is an error, not a default,
        let typo =
            serde_json::from_str::<TcpConfig>(r#"{"address": "db:1", "conect_timeout": null}"#);
        assert!(typo.is_err_and(|e| e.to_string().contains("conect_timeout")));
        // and a relative path is refused, not resolved against the loader's directory.
        let relative = serde_json::from_str::<AbsolutePath>(r#""logs/x.log""#);
        let err = relative.err().ok_or("a relative AbsolutePath loaded")?;
        assert!(err.to_string().contains("logs/x.log is relative"), "{err}");
        Ok(())
    }

    /// A database recipe is not saved (it can hold a password, SQL to run at open, an
    /// init function): the loading process supplies its own.
    #[cfg(feature = "sqlite")]
    #[derive(Rebuild)]
    #[rebuild(serde)]
    struct Scores {
        #[config]
        name: String,
        #[config]
        #[serde(skip, default = "local_database")]
        db: guardian_core::sqlite::SqliteConfig,
        #[resource(factory = guardian_core::sqlite::Sqlite, from = db)]
        conn: guardian_core::sqlite::rusqlite::Connection,
    }

    #[cfg(feature = "sqlite")]
    fn local_database() -> guardian_core::sqlite::SqliteConfig {
        guardian_core::sqlite::SqliteConfig::shared_memory("guardian-serde-scores")
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn a_database_recipe_left_out_of_the_save_comes_from_the_loader() -> TestResult {
        use guardian_core::Factory;
        let _shared = shared();
        let db = local_database();
        let scores = Scores {
            conn: guardian_core::sqlite::Sqlite.open(&db)?,
            name: "league".to_owned(),
            db,
        };
        scores
            .conn
            .execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (7);")?;
        let text = serde_json::to_string(&scores)?;
        assert_eq!(text, r#"{"name":"league"}"#);
        let loaded: Scores = serde_json::from_str(&text)?;
        let x: i64 = loaded
            .conn
            .query_row("SELECT x FROM t", [], |row| row.get(0))?;
        assert_eq!(x, 7, "the loader's recipe names the same shared database");
        loaded.close()?;
        scores.close()?;
        Ok(())
    }
}
