// Mistakes in the attributes themselves, all reported in one build.
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
struct Logger {
    #[config]
    path: PathBuf,
    #[resource]
    no_list: File,
    #[resource(from = path)]
    no_factory: File,
    #[resource(factory = AppendFile, from = path, retries = 3)]
    unknown_key: File,
    #[resource(factory = AppendFile, factory = AppendFile, from = path)]
    duplicate_factory: File,
    #[resource(factory = AppendFile, from = path, from = path)]
    duplicate_from: File,
    #[resource(factory = , from = path)]
    empty_factory: File,
    #[resource(factory = AppendFile, from = "path")]
    string_from: File,
    #[resource(factory = AppendFile, from)]
    from_without_value: File,
    #[resource = AppendFile]
    name_value: File,
    #[config(deep)]
    unknown_config_key: String,
    #[config = true]
    config_value: String,
    #[config(shared = yes)]
    shared_value: String,
    #[config]
    #[resource(factory = AppendFile, from = path)]
    two_roles: File,
}

#[derive(Rebuild)]
#[config]
struct Misplaced {
    #[config]
    path: PathBuf,
}

fn main() {}
