// A handle behind a shared pointer is a double booking: refused unless marked
// `#[config(shared)]`.
use guardian_core::Rebuild;
use std::fs::File;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

#[derive(Rebuild)]
struct Shared<'a> {
    #[config]
    log: Arc<Mutex<File>>,
    #[config]
    rc: Rc<File>,
    #[config]
    borrowed: &'a File,
    #[config(shared)]
    knowingly: Arc<Mutex<File>>,
}

fn main() {}
