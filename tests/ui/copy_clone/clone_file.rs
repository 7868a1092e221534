// `#[derive(Clone, Rebuild)]` on a type whose resource is not `Clone` (a `File`): the
// compiler reports the `Clone` derive's own failure (`File: Clone`), which no other
// macro can silence, and ours says why the type must not be `Clone` and what to do.
use guardian_core::{Factory, Rebuild};
use std::fs::File;

struct DevNull;
impl Factory for DevNull {
    type Config = ();
    type Resource = File;
    type Error = std::io::Error;
    fn open(&self, (): &()) -> std::io::Result<File> {
        File::open("/dev/null")
    }
}

#[derive(Clone, Rebuild)]
struct Logger {
    #[resource(factory = DevNull)]
    log: File,
}

fn main() {}
