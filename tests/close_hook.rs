//! The default close-error hook writes one line to standard error when a `Guard` is
//! dropped and closing its value fails; with feature `tracing` and no subscriber, it
//! writes the same line, so the failure is never lost.
//!
//! A process's standard error can only be read by another process, so this test (a
//! `main` of its own, `harness = false` in the manifest) runs itself again with
//! `GUARDIAN_CLOSE_HOOK_CHILD` set: the child drops a guard whose buffered writer on
//! `/dev/full` fails to flush, and the parent reads what the child wrote.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::{Command, ExitCode};

use guardian_core::fs::{AbsolutePath, AppendFile, Buffered};
use guardian_core::{Factory, Guard, Rebuild};

const CHILD: &str = "GUARDIAN_CLOSE_HOOK_CHILD";

/// A buffered writer on `/dev/full`: its close fails to flush (`ENOSPC`).
#[derive(Rebuild)]
struct Sink {
    #[config]
    path: AbsolutePath,
    #[resource(factory = Buffered::new(AppendFile), from = path)]
    out: BufWriter<File>,
}

/// The child: drops a guard whose close fails, with the default hook.
fn child() -> Result<(), Box<dyn std::error::Error>> {
    let path = AbsolutePath::new("/dev/full")?;
    let mut guard = Guard::new(Sink {
        out: Buffered::new(AppendFile).open(&path)?,
        path,
    });
    guard.out.write_all(b"pending")?;
    drop(guard);
    Ok(())
}

/// The parent: runs the child and checks its standard error.
fn parent() -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let output = Command::new(exe)
        .env(CHILD, "1")
        .output()
        .map_err(|e| format!("cannot run the child: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("the child failed ({}): {stderr}", output.status));
    }
    let lines: Vec<&str> = stderr.lines().collect();
    let expected = "guardian: a value was dropped without close(), and closing it failed: \
                    cannot close `Sink`: field `out`: cannot flush /dev/full";
    match lines.as_slice() {
        [line] if line.starts_with(expected) && line.contains("(os error 28)") => Ok(()),
        _ => Err(format!(
            "expected one line starting with {expected:?} and ending with the OS's ENOSPC, got: {stderr:?}"
        )),
    }
}

fn main() -> ExitCode {
    if std::env::var_os(CHILD).is_some() {
        return match child() {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                println!("child: {error}");
                ExitCode::FAILURE
            }
        };
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|arg| arg == "--list") {
        println!("default_hook_writes_one_line_to_stderr: test");
        return ExitCode::SUCCESS;
    }
    // `cargo test -- --ignored` runs only the ignored tests: this one is not.
    if args.iter().any(|arg| arg == "--ignored") {
        println!("close_hook: 0 passed, 0 failed");
        return ExitCode::SUCCESS;
    }
    match parent() {
        Ok(()) => {
            println!("test default_hook_writes_one_line_to_stderr ... ok");
            println!("close_hook: 1 passed, 0 failed");
            ExitCode::SUCCESS
        }
        Err(message) => {
            println!("test default_hook_writes_one_line_to_stderr ... FAILED\n{message}");
            println!("close_hook: 0 passed, 1 failed");
            ExitCode::FAILURE
        }
    }
}
