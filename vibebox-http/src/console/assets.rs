//! The console's own files, embedded by `build.rs` from `vibebox-http/console/`, their media
//! types, and the version that names them in URLs.

use axum::body::Bytes;
use sha2::{Digest, Sha256};

// `FILES`: every file as (path relative to `console/`, contents), in path order; `INDEX`:
// `index.html`, with its placeholders.
include!(concat!(env!("OUT_DIR"), "/console_assets.rs"));

/// The page's path among [`FILES`].
pub(super) const INDEX_PATH: &str = "index.html";

/// The version of a set of files: the first 12 hex digits of the SHA-256 over each file's
/// path and contents (lengths included, so no two sets collide by moving bytes between
/// files), in the order given.
pub(super) fn version(files: &[(String, Bytes)]) -> String {
    let mut hash = Sha256::new();
    for (path, bytes) in files {
        hash.update((path.len() as u64).to_be_bytes());
        hash.update(path.as_bytes());
        hash.update((bytes.len() as u64).to_be_bytes());
        hash.update(bytes);
    }
    hash.finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The `Content-Type` of a file, by its extension.
pub(super) fn content_type(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path);
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref() {
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        Some("json") => "application/json",
        Some("webmanifest") => "application/manifest+json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        // LICENSE, VERSION
        None => "text/plain; charset=utf-8",
        Some(_) => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_embedded_with_its_placeholder() {
        let index = String::from_utf8_lossy(INDEX);
        assert!(index.contains("{{assets}}"), "{index}");
    }

    #[test]
    fn each_kind_of_file_has_its_media_type() {
        assert_eq!(content_type("js/main.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("css/app.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("img/logo.SVG"), "image/svg+xml");
        assert_eq!(content_type("img/a.png"), "image/png");
        assert_eq!(content_type("fonts/f.woff2"), "font/woff2");
        assert_eq!(content_type("manifest.json"), "application/json");
        assert_eq!(content_type("vendor/LICENSE"), "text/plain; charset=utf-8");
        assert_eq!(content_type("x.bin"), "application/octet-stream");
    }

    #[test]
    fn the_version_changes_with_any_path_or_byte() {
        let files = |p: &str, b: &'static [u8]| vec![(p.to_string(), Bytes::from_static(b))];
        let v = version(&files("a.js", b"x"));
        assert_eq!(v.len(), 12);
        assert!(v.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(v, version(&files("b.js", b"x")));
        assert_ne!(v, version(&files("a.js", b"y")));
        assert_eq!(v, version(&files("a.js", b"x")));
    }
}
