//! Paths of file operations: checked, made absolute and normalized lexically. The result is
//! only ever handed to a shell as a positional argument (`"$1"`), never put into a script, and
//! the kernel resolves it inside the container as the environment's user.

use crate::error::{Error, Result};

/// Longest path accepted, in bytes (Linux's `PATH_MAX`).
pub const FILE_PATH_MAX_BYTES: usize = 4096;

/// The home directory of the images' user, used for relative paths when the configuration
/// names no home volume.
pub(crate) const DEFAULT_HOME: &str = "/home/vibebox";

/// Checks `raw` and returns it absolute (relative paths start at `home`) and normalized
/// lexically: `.` and empty components dropped, `..` removes the component before it (and
/// stays at `/`). Symlinks are not looked at: the kernel follows them later, as the user.
///
/// Errors: `InvalidInput` (`path`) when it is empty, contains a NUL byte or is longer than
/// [`FILE_PATH_MAX_BYTES`].
pub(crate) fn normalize(home: &str, raw: &str) -> Result<String> {
    if raw.is_empty() {
        return Err(Error::invalid("path", "is required"));
    }
    if raw.contains('\0') {
        return Err(Error::invalid("path", "must not contain a NUL byte"));
    }
    if raw.len() > FILE_PATH_MAX_BYTES {
        return Err(Error::invalid(
            "path",
            format!("must be at most {FILE_PATH_MAX_BYTES} bytes"),
        ));
    }
    let mut parts: Vec<&str> = Vec::new();
    let base = if raw.starts_with('/') { "" } else { home };
    for part in base.split('/').chain(raw.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            name => parts.push(name),
        }
    }
    let path = format!("/{}", parts.join("/"));
    if path.len() > FILE_PATH_MAX_BYTES {
        return Err(Error::invalid(
            "path",
            format!("must be at most {FILE_PATH_MAX_BYTES} bytes once made absolute"),
        ));
    }
    Ok(path)
}

/// The directory and the name of a normalized path; `None` for `/`, which names no file.
pub(crate) fn split(path: &str) -> Option<(&str, &str)> {
    let (dir, name) = path.rsplit_once('/')?;
    if name.is_empty() {
        return None;
    }
    Some((if dir.is_empty() { "/" } else { dir }, name))
}

/// `dir/name`, without doubling the slash at the root.
pub(crate) fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: &str = "/home/vibebox";

    fn norm(raw: &str) -> String {
        normalize(HOME, raw).unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn relative_paths_start_at_home() {
        assert_eq!(norm("notes.txt"), "/home/vibebox/notes.txt");
        assert_eq!(norm("./a/b"), "/home/vibebox/a/b");
        assert_eq!(norm("."), "/home/vibebox");
    }

    #[test]
    fn dot_dot_and_repeated_slashes_are_normalized_lexically() {
        assert_eq!(norm("/a//b/./c/"), "/a/b/c");
        assert_eq!(norm("../../../../etc/passwd"), "/etc/passwd");
        assert_eq!(norm("/../.."), "/");
        assert_eq!(norm("a/../../x"), "/home/x");
        assert_eq!(norm("/"), "/");
    }

    #[test]
    fn each_rule_names_path() {
        for raw in ["", "a\0b", &"x".repeat(FILE_PATH_MAX_BYTES + 1)] {
            let e = normalize(HOME, raw).err();
            assert_eq!(e.as_ref().and_then(|e| e.field()), Some("path"), "{raw:?}");
        }
        let long_relative = "x".repeat(FILE_PATH_MAX_BYTES - 2);
        assert!(normalize(HOME, &long_relative).is_err());
    }

    #[test]
    fn split_gives_the_directory_and_the_name() {
        assert_eq!(split("/home/vibebox/a"), Some(("/home/vibebox", "a")));
        assert_eq!(split("/a"), Some(("/", "a")));
        assert_eq!(split("/"), None);
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/home", "a"), "/home/a");
    }
}
