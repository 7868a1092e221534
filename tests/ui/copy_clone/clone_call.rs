// A derived type has no `Clone`: a handle can never be copied by accident. (The
// compiler's own hint to derive `Clone` leads to `clone_with_resources.rs`.)
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

#[derive(Rebuild)]
struct Logger {
    #[resource(factory = DevNull)]
    log: File,
}

fn copy(logger: Logger) -> (Logger, Logger) {
    let copy = logger.clone();
    (logger, copy)
}

fn generic_copy<T: Clone>(value: &T) -> T {
    value.clone()
}

fn main() {
    let logger = Logger { log: File::open("/dev/null").unwrap() };
    let _ = generic_copy(&logger);
}
