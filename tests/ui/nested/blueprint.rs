// With `#[rebuild(blueprint)]`, a `#[nested]` field's blueprint is its type's: a type
// without one is reported on the field, with what to add.
use guardian_core::Rebuild;

#[derive(Rebuild)]
struct Shard {
    #[config]
    address: String,
}

#[derive(Rebuild)]
#[rebuild(blueprint)]
struct Service {
    #[config]
    name: String,
    #[nested]
    shards: Vec<Shard>,
}

fn main() {}
