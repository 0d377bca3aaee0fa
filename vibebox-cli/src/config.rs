//! Where the CLI keeps its sign-ins: one file, `hosts.json`, in the user's config directory
//! (`$XDG_CONFIG_HOME/vibebox`, or `VIBEBOX_CONFIG_DIR`), readable by its owner only.
//!
//! The file maps each server's URL to the credential for it, and names the server used when
//! neither `--url` nor `VIBEBOX_URL` says. A file that others may read is refused with the
//! command that fixes it, as OpenSSH does with a private key. Writes go to a temporary file
//! created with mode 0600 and are renamed over the old one, so a crash leaves the old file or
//! the new one, never half of either.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::error::CliError;

/// The file's name inside the config directory.
const FILE: &str = "hosts.json";

/// What the file holds.
#[derive(Default, Serialize, Deserialize)]
pub struct Hosts {
    /// The server used when neither `--url` nor `VIBEBOX_URL` names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Each server's sign-in, keyed by its URL (no trailing slash).
    #[serde(default)]
    pub servers: BTreeMap<String, Login>,
}

/// One server's sign-in.
#[derive(Clone, Serialize, Deserialize)]
pub struct Login {
    /// Who signed in (an email), shown by `whoami` without asking the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The credential.
    pub credential: StoredCredential,
}

/// A stored credential. Its `Debug` never shows the secret.
#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StoredCredential {
    /// An access token and the refresh token that renews it (a password or OAuth sign-in).
    Tokens {
        /// The access token (a JWT).
        #[serde(with = "secret")]
        access_token: SecretString,
        /// The refresh token; it rotates at every refresh.
        #[serde(with = "secret")]
        refresh_token: SecretString,
    },
    /// A bearer that is not refreshed: an API key (`vbx_…`) or an access token given with
    /// `login --token`.
    Bearer {
        /// The token.
        #[serde(with = "secret")]
        token: SecretString,
    },
}

impl std::fmt::Debug for StoredCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Tokens { .. } => f.write_str("Tokens(<redacted>)"),
            Self::Bearer { .. } => f.write_str("Bearer(<redacted>)"),
        }
    }
}

/// Serde for secrets: written as strings (the file's mode is what protects them).
mod secret {
    use secrecy::{ExposeSecret, SecretString};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &SecretString, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(value.expose_secret())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SecretString, D::Error> {
        String::deserialize(d).map(SecretString::from)
    }
}

/// The config directory: `VIBEBOX_CONFIG_DIR`, else `<config dir>/vibebox`.
pub fn dir() -> Result<PathBuf, CliError> {
    if let Some(dir) = std::env::var_os("VIBEBOX_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    dirs::config_dir()
        .map(|d| d.join("vibebox"))
        .ok_or_else(|| {
            CliError::config(
                "no config directory: neither XDG_CONFIG_HOME nor HOME is set",
                "set VIBEBOX_CONFIG_DIR to a directory of your own",
            )
        })
}

/// The hosts file's path.
pub fn path() -> Result<PathBuf, CliError> {
    Ok(dir()?.join(FILE))
}

impl Hosts {
    /// Reads the file; a missing file is an empty one. Refuses a file that group or others
    /// may read or write, or that another user owns.
    pub fn load() -> Result<Self, CliError> {
        Self::load_from(&path()?)
    }

    /// [`Hosts::load`] from a given path.
    pub fn load_from(path: &Path) -> Result<Self, CliError> {
        let meta = match fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(CliError::io(path, e)),
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(CliError::config(
                format!(
                    "refusing to read {}: its mode is {mode:04o} and it holds credentials",
                    path.display()
                ),
                format!("run `chmod 600 {}`", path.display()),
            ));
        }
        // The owner must be this process's user: `/proc/self` belongs to it (std has no
        // `geteuid`, and the workspace forbids unsafe code).
        if let Ok(me) = fs::metadata("/proc/self")
            && me.uid() != meta.uid()
        {
            return Err(CliError::config(
                format!("refusing to read {}: another user owns it", path.display()),
                "sign in again with `vibebox login`, which writes a file of your own",
            ));
        }
        let text = fs::read_to_string(path).map_err(|e| CliError::io(path, e))?;
        serde_json::from_str(&text).map_err(|e| {
            CliError::config(
                format!("{} is not a valid hosts file: {e}", path.display()),
                "remove it and sign in again with `vibebox login`",
            )
        })
    }

    /// Writes the file atomically with mode 0600 (its directory 0700).
    pub fn save(&self) -> Result<(), CliError> {
        self.save_to(&path()?)
    }

    /// [`Hosts::save`] to a given path.
    pub fn save_to(&self, path: &Path) -> Result<(), CliError> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| CliError::config(format!("cannot encode the hosts file: {e}"), ""))?;
        write_atomically(path, &text, 0o600)
    }

    /// The server to use: `explicit` (from `--url` or `VIBEBOX_URL`), else the default.
    pub fn server(&self, explicit: Option<&str>) -> Result<String, CliError> {
        match explicit.or(self.default.as_deref()) {
            Some(url) => Ok(normalize(url)),
            None => Err(CliError::auth(
                "no server: not signed in anywhere",
                "run `vibebox login URL`, or pass --url / set VIBEBOX_URL",
            )),
        }
    }

    /// Replaces the stored tokens of `server` (after a refresh rotated them).
    pub fn replace_tokens(&mut self, server: &str, access: &SecretString, refresh: &SecretString) {
        if let Some(login) = self.servers.get_mut(server) {
            login.credential = StoredCredential::Tokens {
                access_token: SecretString::from(access.expose_secret().to_owned()),
                refresh_token: SecretString::from(refresh.expose_secret().to_owned()),
            };
        }
    }
}

/// Writes `text` to `path` atomically (a temporary file beside it, synced, then renamed) with
/// `mode`, making its directory (0700) when missing.
pub fn write_atomically(path: &Path, text: &str, mode: u32) -> Result<(), CliError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| CliError::io(dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        CliError::io(path, e)
    })
}

/// A server URL without its trailing slashes, so that `http://h/` and `http://h` are one key.
pub fn normalize(url: &str) -> String {
    url.trim().trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("vibebox-cli-config-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn sample() -> Hosts {
        let mut hosts = Hosts {
            default: Some("http://h:1".into()),
            ..Hosts::default()
        };
        hosts.servers.insert(
            "http://h:1".into(),
            Login {
                user: Some("a@example.com".into()),
                credential: StoredCredential::Tokens {
                    access_token: SecretString::from("access-secret"),
                    refresh_token: SecretString::from("refresh-secret"),
                },
            },
        );
        hosts
    }

    #[test]
    fn saved_file_is_private_and_reads_back() -> Result<(), Box<dyn std::error::Error>> {
        let dir = temp_dir("roundtrip");
        let path = dir.join(FILE);
        sample().save_to(&path)?;
        assert_eq!(fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::metadata(&dir)?.permissions().mode() & 0o777, 0o700);
        let back = Hosts::load_from(&path)?;
        assert_eq!(back.default.as_deref(), Some("http://h:1"));
        let Some(login) = back.servers.get("http://h:1") else {
            return Err("the login is gone".into());
        };
        let StoredCredential::Tokens { refresh_token, .. } = &login.credential else {
            return Err("the credential changed kind".into());
        };
        assert_eq!(refresh_token.expose_secret(), "refresh-secret");
        fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn file_readable_by_others_is_refused_with_chmod_hint() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = temp_dir("mode");
        let path = dir.join(FILE);
        sample().save_to(&path)?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644))?;
        let Err(e) = Hosts::load_from(&path) else {
            return Err("a 0644 file was read".into());
        };
        assert!(e.to_string().contains("0644"), "{e}");
        assert!(e.hint().contains("chmod 600"), "{}", e.hint());
        fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn credential_debug_hides_the_secret() {
        let text = format!(
            "{:?}",
            sample().servers.values().next().map(|l| &l.credential)
        );
        assert!(!text.contains("secret"), "{text}");
    }

    #[test]
    fn server_urls_are_one_key_with_or_without_trailing_slash() -> Result<(), CliError> {
        let hosts = Hosts::default();
        assert_eq!(hosts.server(Some("http://h:1/"))?, "http://h:1");
        assert!(hosts.server(None).is_err());
        Ok(())
    }
}
