// A factory whose `Config` or `Resource` does not fit the fields is reported on the
// attribute or the field, not on the derive.
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

fn main() {}
