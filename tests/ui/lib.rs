//! The compile-fail suite's package (see `Cargo.toml` beside this file); nothing here.
//!
//! trybuild's project depends on this library so that the suite's `serde` feature
//! reaches guardian-core; the cases themselves use `guardian_core` only.
