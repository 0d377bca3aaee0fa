//! The console's third-party files (xterm.js and its addons), which the repository does not
//! hold: `scripts/console-assets [DIR]` downloads them, and the server reads them from
//! [`ConsoleConfig::vendor_dir`](super::ConsoleConfig) once, when the router is built.

use std::path::Path;

use axum::body::Bytes;

/// The files read from the vendor folder, served under `/assets/<version>/vendor/`.
pub const VENDOR_FILES: &[&str] = &[
    "xterm.js",
    "xterm.css",
    "addon-fit.js",
    "addon-canvas.js",
    "LICENSE",
    "VERSION",
];

/// What was read.
#[derive(Debug, Default)]
pub(super) struct Vendor {
    /// (file name, contents), in [`VENDOR_FILES`] order.
    pub(super) files: Vec<(String, Bytes)>,
    /// Whether every file of [`VENDOR_FILES`] is there.
    pub(super) complete: bool,
}

/// Reads [`VENDOR_FILES`] from `dir`; a missing folder or file is a warning, never an error.
pub(super) fn load(dir: Option<&Path>) -> Vendor {
    let Some(dir) = dir else {
        tracing::warn!(
            "the console's terminal files (xterm.js) are not configured: run \
             scripts/console-assets DIR and set the console's vendor_dir to DIR"
        );
        return Vendor::default();
    };
    let mut files = Vec::new();
    let mut missing = Vec::new();
    for name in VENDOR_FILES {
        match std::fs::read(dir.join(name)) {
            Ok(bytes) => files.push((name.to_string(), Bytes::from(bytes))),
            Err(e) => {
                tracing::debug!(file = name, error = %e, "console vendor file unreadable");
                missing.push(*name);
            }
        }
    }
    if !missing.is_empty() {
        tracing::warn!(
            dir = %dir.display(),
            missing = %missing.join(", "),
            "the console's terminal files (xterm.js) are missing: run scripts/console-assets {}",
            dir.display()
        );
    }
    Vendor {
        complete: missing.is_empty(),
        files,
    }
}
