// Unions are refused: the macro cannot tell which field is live.
use guardian_core::Rebuild;

#[derive(Rebuild)]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
