// A map's key appears in the path of a failure through its `Debug`
// (`regions["eu"].conn`), so a `#[nested]` map needs keys that implement it.
use guardian_core::Rebuild;
use std::collections::BTreeMap;

#[derive(Rebuild)]
struct Shard {
    #[config]
    address: String,
}

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Region(u8);

#[derive(Rebuild)]
struct Service {
    #[nested]
    regions: BTreeMap<Region, Shard>,
}

fn main() {}
