// Every field needs a role; all role-less fields are reported at once.
use guardian_core::Rebuild;
use std::path::PathBuf;

#[derive(Rebuild)]
struct MatchLogger {
    path: PathBuf,
    #[config]
    moves: Vec<String>,
    #[allow(dead_code)]
    log: std::fs::File,
}

#[derive(Rebuild)]
struct Pair(#[config] String, u32);

#[derive(Rebuild)]
enum Mode {
    Quiet,
    Loud { volume: u8 },
}

fn main() {}
