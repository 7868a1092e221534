// A `#[repr(packed)]` struct's fields cannot be borrowed: its config fields are copied
// by value, so they must be `Copy` (as for `#[derive(Clone)]`), and it cannot hold
// resources, which `rebuild()` lends to the factory by reference.
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
#[repr(C, packed)]
struct WithResource {
    #[config]
    id: u32,
    #[resource(factory = DevNull)]
    log: File,
}

#[derive(Rebuild)]
#[repr(packed(2))]
struct NotCopy {
    #[config]
    id: u32,
    #[config]
    name: String,
}

fn main() {}
