// Every field needs a role; all role-less fields are reported at once, and code that
// uses the type (`rebuild`, `close`) adds no error of its own: the derive emits a stub
// impl beside its errors, so a mistake is one error, not a cascade.
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

fn copy(logger: &MatchLogger) -> Result<(), Box<dyn std::error::Error>> {
    let branch = logger.rebuild()?;
    branch.close()?;
    Ok(())
}

fn main() {
    let _ = copy;
}
