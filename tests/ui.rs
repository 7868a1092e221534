//! Compile-time promises of `#[derive(Rebuild)]`, proven by compile-fail tests.
//!
//! Each file under `tests/ui/<topic>/` holds one or more mistakes and, beside it, the
//! `.stderr` the compiler gives (made with `TRYBUILD=overwrite` on Rust 1.95 stable and
//! reviewed by hand). `tests/ui/pass/` holds inputs that must compile.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/roles/*.rs");
    t.compile_fail("tests/ui/handles/*.rs");
    t.compile_fail("tests/ui/attrs/*.rs");
    t.compile_fail("tests/ui/from/*.rs");
    t.compile_fail("tests/ui/factory/*.rs");
    t.compile_fail("tests/ui/copy_clone/*.rs");
    t.compile_fail("tests/ui/shapes/*.rs");
    t.compile_fail("tests/ui/blueprint/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
