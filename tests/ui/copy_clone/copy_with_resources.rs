// A type with resources must be neither `Clone` nor `Copy`, wherever that comes from:
// a derive the macro can see (an error of its own, on the derive), one it cannot (in
// the same list), or an impl. A resource that is `Copy` (a raw descriptor number) is
// the worst case: copies would share the descriptor silently.
use guardian_core::{Factory, Rebuild};
use std::os::fd::RawFd;

/// Opens a descriptor and hands out its number.
struct RawOpen;
impl Factory for RawOpen {
    type Config = ();
    type Resource = RawFd;
    type Error = std::io::Error;
    fn open(&self, (): &()) -> std::io::Result<RawFd> {
        Ok(3)
    }
}

#[derive(Rebuild, Clone, Copy)]
struct SameList {
    #[resource(factory = RawOpen)]
    fd: RawFd,
}

#[derive(Rebuild)]
#[derive(Clone, Copy)]
struct LaterAttribute {
    #[resource(factory = RawOpen)]
    fd: RawFd,
}

#[derive(Rebuild)]
struct ManualImpl<T> {
    #[config]
    value: T,
    #[resource(factory = RawOpen)]
    fd: RawFd,
}
impl<T: Clone> Clone for ManualImpl<T> {
    fn clone(&self) -> Self {
        ManualImpl { value: self.value.clone(), fd: self.fd }
    }
}

fn main() {}
