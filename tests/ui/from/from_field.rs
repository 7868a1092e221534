// `from` must name a `#[config]` field of the same struct or variant.
use guardian_core::{Factory, Rebuild};
use std::fs::File;
use std::path::{Path, PathBuf};

struct ReadFile;
impl Factory for ReadFile {
    type Config = Path;
    type Resource = File;
    type Error = std::io::Error;
    fn open(&self, path: &Path) -> std::io::Result<File> {
        File::open(path)
    }
}

#[derive(Rebuild)]
struct Named {
    #[config]
    path: PathBuf,
    #[resource(factory = ReadFile, from = paht)]
    missing: File,
    #[resource(factory = ReadFile, from = missing)]
    from_resource: File,
    #[resource(factory = ReadFile, from = itself)]
    itself: File,
}

#[derive(Rebuild)]
struct Tuple(#[config] PathBuf, #[resource(factory = ReadFile, from = 2)] File);

#[derive(Rebuild)]
enum Source {
    Disk {
        #[config]
        path: PathBuf,
        #[resource(factory = ReadFile, from = path)]
        file: File,
    },
    // `path` belongs to the other variant.
    Other {
        #[resource(factory = ReadFile, from = path)]
        file: File,
    },
}

fn main() {}
