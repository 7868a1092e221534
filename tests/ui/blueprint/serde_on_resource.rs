// A resource field is never serialised: `#[serde]` on it is refused.
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
#[rebuild(blueprint)]
struct Saved {
    #[config]
    path: PathBuf,
    #[serde(skip)]
    #[resource(factory = AppendFile, from = path)]
    log: File,
}

fn main() {}
