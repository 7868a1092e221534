//! A struct holding a `Mutex<Vec<_>>` as a resource: a rebuild snapshots the data into
//! a fresh, unlocked lock, so the two values change independently; rebuilding while
//! the lock is held is an error, not a deadlock.
//!
//! Run with `cargo run --example lock_snapshot`.

use std::error::Error;
use std::sync::Mutex;

use guardian_core::Rebuild;
use guardian_core::sync::{LockError, SnapshotMutex};

/// A game in progress: its name is copied, its move list is snapshotted.
#[derive(Rebuild)]
struct Game {
    #[config]
    name: String,
    #[resource(factory = SnapshotMutex::<Vec<String>>::default())]
    moves: Mutex<Vec<String>>,
}

impl Game {
    fn play(&self, mv: &str) {
        self.moves
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(mv.to_owned());
    }

    fn show(&self) -> String {
        let moves = self
            .moves
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        format!("{:>9}: {}", self.name, moves.join(" "))
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let game = Game {
        name: "main line".into(),
        moves: Mutex::new(Vec::new()),
    };
    for mv in ["e4", "e5", "Nf3"] {
        game.play(mv);
    }

    // A snapshot: a new lock holding a copy of the moves so far.
    let mut branch = game.rebuild()?;
    branch.name = "branch".into();
    game.play("Nc6");
    branch.play("d6");
    println!("after the rebuild, each game goes its own way:");
    println!("{}", game.show());
    println!("{}", branch.show());

    // Rebuilding while the lock is held (here by this very thread) is refused at
    // once; waiting would deadlock.
    let guard = game
        .moves
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match game.rebuild() {
        Ok(_) => println!("unexpected: rebuilt a held lock"),
        Err(err) => {
            println!("\nrebuilding while the moves are locked:");
            println!("  {err}");
            if let Some(cause) = err.factory_error().downcast_ref::<LockError>() {
                println!("  because: {cause}");
            }
        }
    }
    drop(guard);

    let again = game.rebuild()?;
    println!("\nafter releasing the guard, the rebuild works:");
    println!("{}", again.show());

    // The Guardian Rule: close explicitly (for a lock, that drops it).
    again.close()?;
    branch.close()?;
    game.close()?;
    Ok(())
}
