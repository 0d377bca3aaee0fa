//! The web console's third-party files (xterm.js and its addons). The repository does not hold
//! them: `scripts/console-assets DIR` fetches them (a pinned Debian package, checked against
//! its SHA-256). At startup the server runs it when DIR has no `VERSION` yet; without the
//! files the console still serves, only its terminal is unavailable.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where the files go by default: the repository's `target/console-vendor`.
pub const DEFAULT_VENDOR_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/target/console-vendor");

/// `scripts/console-assets` in the repository this example was built from.
fn script_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join("console-assets")
}

/// Fetches the files into `dir` with `scripts/console-assets` unless they are there. A
/// failure is a warning: the server serves the console without its terminal.
pub async fn ensure_vendor(dir: &Path) {
    if dir.join("VERSION").is_file() {
        return;
    }
    let script = script_path();
    if !script.is_file() {
        println!(
            "warning: the console's terminal files are not in {} and {} is not there to fetch \
             them: the console serves without its terminal",
            dir.display(),
            script.display()
        );
        return;
    }
    println!(
        "the console's terminal files are not in {}: fetching them with {}",
        dir.display(),
        script.display()
    );
    let target = dir.to_path_buf();
    // The script's progress goes to stderr; it prints the folder on stdout.
    let run = tokio::task::spawn_blocking(move || {
        Command::new(&script)
            .arg(&target)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
    })
    .await;
    match run {
        Ok(Ok(status)) if status.success() => {}
        Ok(Ok(status)) => println!(
            "warning: scripts/console-assets failed ({status}): the console serves without its \
             terminal until it runs"
        ),
        Ok(Err(e)) => println!("warning: cannot run scripts/console-assets ({e})"),
        Err(e) => println!("warning: scripts/console-assets did not finish ({e})"),
    }
}
