use guardian_core::{Factory, Rebuild};
use std::fs::File;
use std::path::{Path, PathBuf};

struct AppendFile;
impl Factory for AppendFile {
    type Config = Path;
    type Resource = File;
    type Error = std::io::Error;
    fn open(&self, path: &Path) -> std::io::Result<File> {
        File::options().create(true).append(true).open(path)
    }
}

#[derive(Rebuild)]
struct MatchLogger {
    #[config]
    path: PathBuf,
    #[config]
    moves: Vec<String>,
    #[resource(factory = AppendFile, from = path)]
    log: File,
    #[resource(factory = AppendFile, from = path)]
    log2: File,
}

#[derive(Rebuild)]
enum E<T: Clone, const N: usize> {
    A(
        #[config] PathBuf,
        #[resource(factory = AppendFile, from = 0)] File,
    ),
    B {
        #[config]
        t: [T; N],
    },
    C,
}

#[derive(Rebuild)]
struct Unit;

#[derive(Rebuild)]
enum Never {}

fn main() {
    let p = std::env::temp_dir().join("probe.log");
    let l = MatchLogger {
        log: AppendFile.open(&p).unwrap(),
        log2: AppendFile.open(&p).unwrap(),
        path: p,
        moves: vec![],
    };
    let b = l.rebuild().unwrap();
    b.close().unwrap();
    l.close().unwrap();
    let e: E<u8, 2> = E::B { t: [1, 2] };
    let _ = e.rebuild().unwrap().close();
    let _ = Unit.rebuild().unwrap().close();
}
