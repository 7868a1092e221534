// A name that may be the user's own type gets the hint to write its path from the
// crate root: a bare `File`, and a path under a module name std has too (`fs::File`
// may be `std::fs::File` imported as `fs`, or the user's `fs` module). A path that
// starts at a crate (`std::fs::File`) gets no hint: it is the handle.
use guardian_core::Rebuild;

mod fs {
    #[derive(Clone)]
    pub struct File;
}

#[derive(Rebuild)]
struct Board {
    #[config]
    module_path: fs::File,
    #[config]
    crate_path: std::fs::File,
}

fn main() {}
