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
}
