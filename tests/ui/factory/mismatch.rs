// A factory whose `Config` or `Resource` does not fit the fields, or a value that is
// not a factory, is one error each, reported on the attribute or the field (not on the
// derive), naming the types involved and what to change.
use guardian_core::{Factory, Rebuild};
use std::fs::File;
use std::path::{Path, PathBuf};

struct AppendFile;
impl Factory for AppendFile {
    type Config = Path;
    type Resource = File;
    type Error = std::io::Error;
    fn open(&self, path: &Path) -> std::io::Result<File> {
        File::options().append(true).open(path)
    }
}

#[derive(Rebuild)]
struct WrongConfig {
    #[config]
    port: u16,
    #[resource(factory = AppendFile, from = port)]
    log: File,
}

#[derive(Rebuild)]
struct WrongResource {
    #[config]
    path: PathBuf,
    #[resource(factory = AppendFile, from = path)]
    log: String,
}

#[derive(Rebuild)]
struct MissingFrom {
    #[resource(factory = AppendFile)]
    log: File,
}

#[derive(Rebuild)]
struct NotAFactory {
    #[config]
    path: PathBuf,
    #[resource(factory = "append", from = path)]
    log: File,
}

/// The most common mistake: a `PathBuf` where the built-in factory's recipe is an
/// `AbsolutePath`.
#[derive(Rebuild)]
struct BuiltinRecipe {
    #[config]
    path: PathBuf,
    #[resource(factory = guardian_core::fs::AppendFile, from = path)]
    log: File,
}

fn main() {}
