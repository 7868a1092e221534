// A `#[nested]` field must hold a `Rebuild` value: a plain value (it belongs in
// `#[config]`), a live handle (it belongs in `#[resource(...)]`), a container of
// either, or a shared pointer (which would share the live handles: a double booking).
// Each is one error, on the field's type, and every one is reported.
use guardian_core::Rebuild;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Rebuild)]
struct Shard {
    #[config]
    address: String,
}

#[derive(Rebuild)]
struct Service {
    #[nested]
    name: String,
    #[nested]
    log: std::fs::File,
    #[nested]
    logs: Vec<std::fs::File>,
    #[nested]
    shared: Arc<Shard>,
    #[nested]
    by_score: HashMap<f64, Shard>,
}

fn main() {}
