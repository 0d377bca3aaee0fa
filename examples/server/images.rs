//! The image environments run on. No registry serves `vibebox/base:bookworm`: the repository's
//! `scripts/base-image` builds it (about a minute, once). At startup the server checks that the
//! image is on the engine and, when it runs from the repository, builds it if it is not.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Instant;

use vibebox::runtime::ContainerRuntime;

use crate::options::BoxError;

/// The image `scripts/base-image` builds, and the one the README's environments use.
pub const BASE_IMAGE: &str = "vibebox/base:bookworm";

/// What the script builds, for messages.
const BUILDS: &str = "vibebox/base:bookworm and vibebox/busybox:test";

/// `scripts/base-image` in the repository this example was built from.
fn script_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join("base-image")
}

/// The script as the user would type it: relative when the server runs from the repository
/// root, else its full path.
pub fn build_command() -> String {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    match std::env::current_dir() {
        Ok(cwd) if cwd == repo => "scripts/base-image".to_string(),
        _ => script_path().display().to_string(),
    }
}

/// What the runtime appends to the error of an image that is absent and cannot be pulled.
pub fn missing_image_hint() -> String {
    format!("{} builds {BUILDS}", build_command())
}

/// Makes sure `image` is on the engine: builds it with `scripts/base-image` when it is absent
/// and the script is there. Errors, in one line naming the command that builds it, when the
/// image is still absent. An engine that cannot say is a warning: the server still serves.
pub async fn ensure(runtime: &dyn ContainerRuntime, image: &str) -> Result<(), BoxError> {
    match runtime.image_present(image).await {
        Ok(true) => return Ok(()),
        Ok(false) => {}
        Err(e) => {
            println!("warning: cannot tell whether {image} is on the Docker engine ({e})");
            return Ok(());
        }
    }
    let script = script_path();
    if !script.is_file() {
        return Err(format!(
            "image {image} is not on the Docker engine, and {} is not there to build it: \
             run scripts/base-image from the vibebox repository (it builds {BUILDS}), \
             or start with --no-build-images",
            script.display()
        )
        .into());
    }
    let command = build_command();
    println!("{image} is not on the Docker engine: building it with {command} (about a minute)");
    let started = Instant::now();
    let (status, log) = tokio::task::spawn_blocking(move || run(&script))
        .await
        .map_err(|e| format!("{command} did not finish: {e}"))??;
    if !status.success() {
        print_tail(&log);
        return Err(format!(
            "{command} could not build {image} ({status}; its log is {}): run it yourself \
             (it needs root and the Docker engine), or start with --no-build-images",
            log.display()
        )
        .into());
    }
    std::fs::remove_file(&log).ok();
    match runtime.image_present(image).await {
        Ok(true) => {
            println!("built {image} in {} s", started.elapsed().as_secs());
            Ok(())
        }
        Ok(false) => Err(format!(
            "image {image} is still not on the Docker engine after {command} ran (it builds \
             {BUILDS}): build or pull {image}, or start with --no-build-images"
        )
        .into()),
        Err(e) => Err(format!("after {command} ran, the Docker engine failed: {e}").into()),
    }
}

/// Runs the script with its output in a log file; the exit status and the log.
fn run(script: &Path) -> Result<(ExitStatus, PathBuf), BoxError> {
    let log = std::env::temp_dir().join(format!("vibebox-base-image-{}.log", std::process::id()));
    let file =
        std::fs::File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let status = Command::new(script)
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    Ok((status, log))
}

/// The last lines of a failed build, so the reason shows above the error.
fn print_tail(log: &Path) {
    let Ok(file) = std::fs::File::open(log) else {
        return;
    };
    let lines: Vec<String> = BufReader::new(file).lines().map_while(Result::ok).collect();
    for line in &lines[lines.len().saturating_sub(10)..] {
        eprintln!("  {line}");
    }
}
