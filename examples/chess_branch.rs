//! Branch a chess game's log with `rebuild()`.
//!
//! A `MatchLogger` writes every move of a game to a log file. Halfway through the
//! Scholar's Mate we ask "what if Black had defended?": `rebuild()` copies the recipe
//! (the path, the moves so far) and opens a file handle of its own for the branch.
//! Both lines then append to the same log, each through its own descriptor, and
//! neither disturbs the other.
//!
//! Run it with `cargo run --example chess_branch`.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use guardian_core::{Factory, Rebuild};
use guardian_suite::TempDir;

/// How the log is opened: for appending, created if missing.
struct AppendFile;

impl Factory for AppendFile {
    type Config = Path;
    type Resource = File;
    type Error = io::Error;

    fn open(&self, path: &Path) -> io::Result<File> {
        File::options().create(true).append(true).open(path)
    }
}

/// One line of play and the log it is written to.
#[derive(Rebuild)]
struct MatchLogger {
    #[config]
    path: PathBuf,
    #[config]
    moves: Vec<String>,
    #[resource(factory = AppendFile, from = path)]
    log: File,
}

impl MatchLogger {
    fn new(path: PathBuf) -> io::Result<Self> {
        Ok(Self {
            log: AppendFile.open(&path)?,
            path,
            moves: Vec::new(),
        })
    }

    /// Plays a move and logs it, tagged with the descriptor that wrote it.
    fn play(&mut self, san: &str) -> io::Result<()> {
        self.moves.push(san.to_owned());
        let fd = self.log.as_raw_fd();
        writeln!(self.log, "fd {fd}: {}", numbered(self.moves.len(), san))
    }

    /// The game so far in move-text: `1. e4 e5 2. Bc4 ...`.
    fn movetext(&self) -> String {
        let moves: Vec<String> = (1..)
            .zip(self.moves.chunks(2))
            .map(|(number, pair)| format!("{number}. {}", pair.join(" ")))
            .collect();
        moves.join(" ")
    }
}

/// `3. Qh5` for White's moves, `3... Nf6` for Black's.
fn numbered(ply: usize, san: &str) -> String {
    let number = ply.div_ceil(2);
    if ply % 2 == 1 {
        format!("{number}. {san}")
    } else {
        format!("{number}... {san}")
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = TempDir::new("chess-branch")?;
    let mut game = MatchLogger::new(dir.path().join("match.log"))?;
    for san in ["e4", "e5", "Bc4", "Nc6", "Qh5"] {
        game.play(san)?;
    }
    println!("Position after {}", game.movetext());

    // The branch copies `path` and `moves`, and opens its own `File` on the same path.
    let mut what_if = game.rebuild()?;
    println!(
        "Branched with rebuild(): the game logs through fd {}, the what-if through fd {}\n",
        game.log.as_raw_fd(),
        what_if.log.as_raw_fd()
    );

    for san in ["Nf6", "Qxf7#"] {
        game.play(san)?;
    }
    for san in ["g6", "Qf3", "Nf6"] {
        what_if.play(san)?;
    }
    println!("Game:    {}", game.movetext());
    println!("What if: {}\n", what_if.movetext());

    // The Guardian Rule: end each value with `close()`, so that no error goes unseen.
    let path = game.path.clone();
    what_if.close()?;
    game.close()?;
    println!("Both loggers closed with close()?, the Guardian Rule.\n");

    println!("match.log, written through both descriptors:");
    print!("{}", std::fs::read_to_string(path)?);
    Ok(())
}
