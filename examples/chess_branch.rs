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
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::Path;

use guardian_core::fs::{AbsolutePath, AppendFile, FileError};
use guardian_core::{Factory, Rebuild};

/// One line of play and the log it is written to. The built-in `AppendFile` opens
/// the log for appending (created if missing); its recipe is an `AbsolutePath`, made
/// absolute once, so a rebuild opens the same file whatever the working directory.
#[derive(Rebuild)]
struct MatchLogger {
    #[config]
    path: AbsolutePath,
    #[config]
    moves: Vec<String>,
    #[resource(factory = AppendFile, from = path)]
    log: File,
}

impl MatchLogger {
    fn new(path: AbsolutePath) -> Result<Self, FileError> {
        Ok(Self {
            log: AppendFile.open(&path)?,
            path,
            moves: Vec::new(),
        })
    }

    /// Plays a move and logs it, tagged with the descriptor that wrote it.
    fn play(&mut self, san: &str) -> std::io::Result<()> {
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
    // A directory of the demo's own (the process id keeps concurrent runs apart),
    // removed at the end whatever happened.
    let dir = std::env::temp_dir().join(format!("guardian-chess-branch-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let outcome = play(&dir);
    let cleanup = std::fs::remove_dir_all(&dir);
    outcome?;
    cleanup?;
    Ok(())
}

/// The game and its branch, logged to `dir/match.log`.
fn play(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut game = MatchLogger::new(AbsolutePath::new(dir.join("match.log"))?)?;
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

    // The two lines take turns: each handle appends to the same file, neither
    // disturbing the other's position.
    let main_line = ["Nf6", "Qxf7#"];
    let alternative = ["g6", "Qf3", "Nf6"];
    for (turn, san) in alternative.iter().enumerate() {
        if let Some(main) = main_line.get(turn) {
            game.play(main)?;
        }
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
    print!("{}", std::fs::read_to_string(&*path)?);
    Ok(())
}
