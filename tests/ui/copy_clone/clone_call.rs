// A type with resources has no `Clone`, and `.clone()` on it, owned or borrowed, says
// to copy it with `rebuild()` (instead of "no method named `clone`", or of cloning the
// reference and suggesting `#[derive(Clone)]`).
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

fn copy_borrowed(logger: &Logger) -> Logger {
    logger.clone()
}

fn generic_copy<T: Clone>(value: &T) -> T {
    value.clone()
}

fn main() {
    let logger = Logger { log: File::open("/dev/null").unwrap() };
    let _ = generic_copy(&logger);
}
