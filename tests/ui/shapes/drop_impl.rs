// `close` takes a value with resources apart to hand each resource to its factory, so
// such a type cannot also implement `Drop`: the compiler refuses it.
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

impl Drop for Logger {
    fn drop(&mut self) {}
}

fn main() {}
