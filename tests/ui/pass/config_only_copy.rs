// A type without resources may be `Clone` and `Copy`: its `rebuild()` is a clone, and
// there is nothing to double-book or to close. (Only types with resources are refused.)
use guardian_core::Rebuild;

#[derive(Rebuild, Clone, Copy, Debug, PartialEq)]
struct Retries {
    #[config]
    count: u8,
}

#[derive(Rebuild)]
#[derive(Clone, Copy, Debug, PartialEq)]
struct LaterAttribute {
    #[config]
    count: u8,
}

fn main() {
    let retries = Retries { count: 3 };
    let copy = retries;
    assert_eq!(retries.rebuild().unwrap(), copy);
    let later = LaterAttribute { count: 1 };
    assert_eq!(later.rebuild().unwrap(), later);
}
