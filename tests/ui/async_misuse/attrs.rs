// `sequential` orders the opens of an async rebuild; without `async` it means nothing.
use guardian_core::Rebuild;

#[derive(Rebuild)]
#[rebuild(sequential)]
struct Settings {
    #[config]
    retries: u8,
}

#[derive(Rebuild)]
#[rebuild(async, async)]
struct Twice {
    #[config]
    retries: u8,
}

fn main() {}
