// A `#[nested]` field of an async type must hold an `AsyncRebuild` value: a blocking
// `Rebuild` type there is one error, on the field's type, that says so.
use guardian_core::Rebuild;

#[derive(Rebuild)]
struct Settings {
    #[config]
    retries: u8,
}

#[derive(Rebuild)]
#[rebuild(async)]
struct Service {
    #[nested]
    settings: Settings,
}

fn main() {}
