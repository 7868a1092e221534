// Users' own types with handle-like names are accepted when written by a qualified
// path, and `#[config(shared)]` accepts a handle shared on purpose.
use guardian_core::Rebuild;
use std::sync::{Arc, Mutex};

mod chess {
    /// A column of the chessboard, not a file handle.
    #[derive(Clone, Debug, PartialEq)]
    pub struct File(pub char);
}

#[derive(Rebuild)]
struct Board {
    #[config]
    file: chess::File,
    #[config]
    files: Vec<crate::chess::File>,
    #[config(shared)]
    log: Arc<Mutex<std::fs::File>>,
}

fn main() {
    let log = Arc::new(Mutex::new(std::fs::File::open("/dev/null").unwrap()));
    let board = Board { file: chess::File('e'), files: vec![chess::File('a')], log };
    let copy = board.rebuild().unwrap();
    assert_eq!(copy.file, chess::File('e'));
    assert!(Arc::ptr_eq(&copy.log, &board.log));
    copy.close().unwrap();
    board.close().unwrap();
}
