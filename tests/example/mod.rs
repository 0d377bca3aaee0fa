//! What the tests that run the example server as a process share.
#![allow(dead_code)]

use std::path::PathBuf;

/// The example binary `cargo test` built beside this test (with `--test NAME` alone, build it
/// first: `cargo build --example server`).
pub fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let debug = exe.parent().unwrap().parent().unwrap();
    let path = debug.join("examples").join("server");
    assert!(
        path.exists(),
        "{} is missing: `cargo test` builds the examples; with --test, run `cargo build --example server` first",
        path.display()
    );
    path
}
