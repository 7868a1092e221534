// Mistakes around blueprints, all reported together.
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

// `#[serde]` without `#[rebuild(serde)]`.
#[derive(Rebuild)]
struct NoSerde {
    #[config]
    #[serde(rename = "p")]
    path: PathBuf,
}

// A type parameter used only by a resource cannot live in the blueprint.
#[derive(Rebuild)]
#[rebuild(blueprint)]
struct Unused<T> {
    #[config]
    path: PathBuf,
    #[resource(factory = AppendFile, from = path)]
    log: Box<T>,
}

// Unknown keys and malformed values in `#[rebuild(...)]`.
#[derive(Rebuild)]
#[rebuild(blueprint = Recipe, json)]
#[rebuild(blueprint(nmae = Recipe, derive = Debug))]
struct BadKeys {
    #[config]
    path: PathBuf,
}

#[derive(Rebuild)]
enum Placement {
    #[rebuild(blueprint)]
    Only {
        #[config]
        path: PathBuf,
    },
}

fn main() {}
