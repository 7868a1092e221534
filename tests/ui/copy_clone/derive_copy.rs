// `Copy` beside `Rebuild` is refused, wherever it is derived or implemented.
use guardian_core::Rebuild;

#[derive(Rebuild, Clone, Copy)]
struct SameList {
    #[config]
    retries: u8,
}

#[derive(Rebuild)]
#[derive(Clone, Copy)]
struct LaterAttribute {
    #[config]
    retries: u8,
}

#[derive(Rebuild)]
struct ManualImpl<T> {
    #[config]
    value: T,
}
impl<T: Copy> Clone for ManualImpl<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: Copy> Copy for ManualImpl<T> {}

fn main() {}
