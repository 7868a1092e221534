//! Compile-time promises of `#[derive(Rebuild)]`, proven by compile-fail tests.
//!
//! Every directory beside this file is a topic: each `<topic>/*.rs` holds one or more
//! mistakes and, beside it, the `.stderr` the compiler gives (made with
//! `TRYBUILD=overwrite` on Rust 1.95 stable and reviewed by hand). `pass/` holds inputs
//! that must compile. A new topic directory is picked up without editing this file.
//!
//! ```sh
//! cargo test -p guardian-ui --features serde              # this suite alone
//! TRYBUILD=overwrite cargo test -p guardian-ui --features serde   # rewrite the .stderr
//! ```

use std::path::Path;

/// The topic directories: every directory beside this file that holds a `.rs` case,
/// except `pass`, sorted so the run order is stable.
fn topics(root: &Path) -> std::io::Result<Vec<String>> {
    let mut topics = Vec::new();
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !entry.file_type()?.is_dir() || name == "pass" || name.starts_with('.') {
            continue;
        }
        for case in std::fs::read_dir(entry.path())? {
            if case?.path().extension().is_some_and(|ext| ext == "rs") {
                topics.push(name);
                break;
            }
        }
    }
    topics.sort();
    Ok(topics)
}

#[test]
fn ui() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let topics = topics(root)?;
    // Not vacuous: a suite that found no case would pass without testing anything.
    assert!(
        !topics.is_empty(),
        "no topic directory in {}",
        root.display()
    );
    let t = trybuild::TestCases::new();
    for topic in &topics {
        t.compile_fail(format!("{topic}/*.rs"));
    }
    t.pass("pass/*.rs");
    Ok(())
}
