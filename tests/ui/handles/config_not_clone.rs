// A `#[config]` field is copied with `Clone`; a type that is not `Clone` (such as a
// handle hidden behind an alias) is refused on the field.
use guardian_core::Rebuild;

type Log = std::fs::File;
struct Settings;

#[derive(Rebuild)]
struct Logger {
    #[config]
    settings: Settings,
    #[config]
    log: Log,
}

fn main() {}
