//! The pickle jar: a match logger saved to JSON (only its recipe), loaded back with a
//! fresh handle to the same file, and a tampered recipe that points at
//! `../../etc/passwd`, refused because the logger's file factory is confined to the
//! jar's directory.
//!
//! serde runs no code on load, unlike Python's pickle, but a recipe still chooses what
//! gets opened: load recipes you did not write through confined factories, and in
//! two steps (the blueprint, then `from_blueprint`), so that nothing is opened until
//! the whole input has parsed and a refusal keeps its type.
//!
//! ```sh
//! cargo run --example pickle_jar --features serde,confine
//! ```

use std::error::Error;
use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

use guardian_core::confine::{Confined, Escape, OnceConfined};
use guardian_core::fs::{AppendFile, FileError};
use guardian_core::{FromBlueprint, Rebuild};

/// Every file a loaded recipe may open lives below the jar, chosen at startup.
static JAR: OnceConfined<Confined<AppendFile>> = OnceConfined::new();

/// A chess match and its log; saved as its recipe: the path and the moves.
#[derive(Rebuild)]
#[rebuild(serde)]
struct MatchLogger {
    /// The log's path, relative to the jar.
    #[config]
    path: PathBuf,
    /// The moves so far.
    #[config]
    moves: Vec<String>,
    #[resource(factory = JAR, from = path)]
    log: File,
}

impl MatchLogger {
    fn play(&mut self, mv: &str) -> std::io::Result<()> {
        self.moves.push(mv.to_owned());
        writeln!(self.log, "{}. {mv}", self.moves.len())
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let jar = std::env::temp_dir().join(format!("guardian-pickle-jar-{}", std::process::id()));
    std::fs::create_dir_all(jar.join("matches"))?;
    let result = run(&jar);
    std::fs::remove_dir_all(&jar)?;
    result
}

fn run(jar: &std::path::Path) -> Result<(), Box<dyn Error>> {
    JAR.set(Confined::new(jar, AppendFile)?)?;
    println!("jar: {}", jar.display());

    let mut logger = MatchLogger::from_blueprint(MatchLoggerBlueprint {
        path: "matches/kasparov-deep-blue.log".into(),
        moves: Vec::new(),
    })?;
    logger.play("e4")?;
    logger.play("c6")?;

    let json = serde_json::to_string_pretty(&logger)?;
    println!("\nsaved (only the recipe, no handle):\n{json}");

    let mut loaded: MatchLogger = serde_json::from_str(&json)?;
    loaded.play("d4")?;
    println!(
        "\nloaded: descriptor {} (the original's is {}), {} moves, logging to {}",
        loaded.log.as_raw_fd(),
        logger.log.as_raw_fd(),
        loaded.moves.len(),
        jar.join(&loaded.path).display()
    );
    loaded.close()?;
    logger.close()?;
    let text = std::fs::read_to_string(jar.join("matches/kasparov-deep-blue.log"))?;
    println!("the file, written through both handles:\n{text}");

    // A recipe from outside: parse the whole blueprint first (nothing is opened yet),
    // then open. Trailing junk fails in the first step, with no file opened.
    let junk = format!("{json} junk");
    if let Err(error) = serde_json::from_str::<MatchLoggerBlueprint>(&junk) {
        println!("\nrecipe with trailing junk refused before anything was opened:\n  {error}");
    }
    let tampered = json.replace("matches/kasparov-deep-blue.log", "../../etc/passwd");
    let blueprint: MatchLoggerBlueprint = serde_json::from_str(&tampered)?;
    match MatchLogger::from_blueprint(blueprint) {
        Ok(logger) => {
            logger.close()?;
            Err("the tampered recipe was loaded".into())
        }
        Err(error) => {
            // The typed error: which field, and why, for code and for the log. The
            // sender of the recipe gets a fixed answer, not the message.
            let why = error
                .factory_error()
                .downcast_ref::<FileError>()
                .and_then(Escape::of)
                .map(Escape::kind);
            println!(
                "\ntampered recipe refused (field `{}`, {why:?}):",
                error.field()
            );
            println!("  log:    {}", chain(&error));
            println!("  sender: recipe refused");
            Ok(())
        }
    }
}

/// An error and its causes, each once: what a log line shows.
fn chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
