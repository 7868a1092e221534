//! x
use guardian_core::{Factory, Rebuild};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

struct AppendFile;
impl Factory for AppendFile {
    type Config = Path;
    type Resource = File;
    type Error = std::io::Error;
    fn open(&self, path: &Path) -> std::io::Result<File> {
        File::options().create(true).append(true).open(path)
    }
}

#[derive(Rebuild, Clone, Copy)]
struct Cp {
    #[config]
    x: u8,
}

#[derive(Rebuild)]
struct WrongRes {
    #[config]
    path: PathBuf,
    #[resource(factory = AppendFile, from = path)]
    log: String,
}

#[derive(Rebuild)]
struct WrongCfg {
    #[config]
    path: u32,
    #[resource(factory = AppendFile, from = path)]
    log: File,
}

#[derive(Rebuild)]
struct NotFactory {
    #[config]
    path: PathBuf,
    #[resource(factory = 42u8, from = path)]
    log: File,
}

#[derive(Rebuild)]
struct NotClone {
    #[config]
    c: NoClone,
}
struct NoClone;

#[derive(Rebuild)]
struct Handles {
    #[config]
    a: File,
    #[config]
    b: Arc<Mutex<File>>,
    c: u8,
    #[resource(from = zz)]
    d: File,
    #[resource(factory = AppendFile, from = zz, bogus = 1, factory = AppendFile)]
    e: File,
}

#[derive(Rebuild, Clone)]
struct WithRes {
    #[resource(factory = AppendFile, from = path)]
    f: File,
    #[config]
    path: PathBuf,
}

fn main() {}
