// `#[nested]` takes no arguments, is one role among three, and a resource cannot be
// opened `from` a nested value: every mistake is reported at once.
use guardian_core::Rebuild;

#[derive(Rebuild)]
struct Shard {
    #[config]
    address: String,
}

#[derive(Rebuild)]
struct Service {
    #[nested(deep)]
    first: Shard,
    #[config]
    #[nested]
    second: Shard,
    #[nested]
    third: Shard,
    #[resource(factory = guardian_core::fs::ReadFile, from = third)]
    file: std::fs::File,
}

fn main() {}
