// Users' own types with handle-like names are accepted when written by a qualified
// path, type parameters are never handles whatever their names, and
// `#[config(shared)]` accepts a handle shared on purpose.
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

/// Type parameters named like handles.
#[derive(Rebuild)]
struct Slots<File, Child: Clone, Mutex> {
    #[config]
    file: File,
    #[config]
    children: Vec<Child>,
    #[config]
    lock: Option<Mutex>,
}

fn main() {
    let slots = Slots { file: 1_u8, children: vec!['c'], lock: Some("m") };
    let copy = slots.rebuild().unwrap();
    assert_eq!((copy.file, copy.children, copy.lock), (1, vec!['c'], Some("m")));
    let log = Arc::new(Mutex::new(std::fs::File::open("/dev/null").unwrap()));
    let board = Board { file: chess::File('e'), files: vec![chess::File('a')], log };
    let copy = board.rebuild().unwrap();
    assert_eq!(copy.file, chess::File('e'));
    assert!(Arc::ptr_eq(&copy.log, &board.log));
    copy.close().unwrap();
    board.close().unwrap();
}
