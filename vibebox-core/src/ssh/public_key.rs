//! [`PublicKeyLine`]: one OpenSSH public key, as in `~/.ssh/id_ed25519.pub` or an
//! `authorized_keys` line without options.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use sha2::{Digest, Sha256};

use super::KeyAlgorithm;
use super::wire::{self, Refusal};
use crate::error::{Error, Result};

/// The field every refusal names.
const FIELD: &str = "public_key";

fn refuse(reason: Refusal) -> Error {
    Error::invalid(FIELD, reason)
}

/// A checked OpenSSH public key: its type, the key blob in SSH wire format, and the comment
/// it came with. Two lines with the same type and blob are the same key, whatever their
/// comments; the [fingerprint](Self::fingerprint) names it.
///
/// ```
/// use vibebox_core::ssh::{KeyAlgorithm, PublicKeyLine};
///
/// let key = PublicKeyLine::parse(
///     "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPTtA0C0H5qjMD7Vwo/BqPlwn0WzKHBO6P7YepGDR7TC me@laptop",
/// )?;
/// assert_eq!(key.algorithm(), KeyAlgorithm::Ed25519);
/// assert_eq!(key.comment(), Some("me@laptop"));
/// // The same as `ssh-keygen -lf`.
/// assert_eq!(key.fingerprint(), "SHA256:8my0RNUEnKfqpswH6Td8D1zouTrmlLbVtGqPC0RDuPo");
/// # Ok::<(), vibebox_core::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKeyLine {
    algorithm: KeyAlgorithm,
    blob: Vec<u8>,
    comment: Option<String>,
}

impl PublicKeyLine {
    /// The longest line accepted, in bytes (a 16384-bit RSA key takes about 2.8 KB).
    pub const MAX_LEN: usize = 16 * 1024;

    /// Parses `<type> <base64 blob> [comment]`, trimmed. The blob's wire format is checked:
    /// the type it embeds must be the line's, and its fields those of the type.
    ///
    /// Errors: `InvalidInput` naming `public_key`, saying why (an unaccepted type, RSA under
    /// 2048 bits, bad base64, a truncated or malformed blob, a type mismatch, several lines,
    /// control characters).
    pub fn parse(line: &str) -> Result<Self> {
        let line = line.trim();
        if line.len() > Self::MAX_LEN {
            return Err(refuse("is too long (at most 16384 bytes)"));
        }
        if line.contains(['\n', '\r']) {
            return Err(refuse("must be a single line"));
        }
        if line.chars().any(|c| c.is_control() && c != '\t') {
            return Err(refuse("must not contain control characters"));
        }
        let (kind, rest) = line
            .split_once([' ', '\t'])
            .ok_or_else(|| refuse("must be '<type> <base64 key> [comment]'"))?;
        let rest = rest.trim_start();
        let (data, comment) = match rest.split_once([' ', '\t']) {
            Some((data, comment)) => (data, Some(comment.trim())),
            None => (rest, None),
        };
        if data.is_empty() {
            return Err(refuse("must be '<type> <base64 key> [comment]'"));
        }
        let algorithm = KeyAlgorithm::from_name(kind).ok_or_else(|| refuse(wire::UNSUPPORTED))?;
        let blob = STANDARD
            .decode(data)
            .map_err(|_| refuse("key data is not valid base64"))?;
        wire::check_blob(algorithm, &blob).map_err(refuse)?;
        Ok(Self {
            algorithm,
            blob,
            comment: comment.filter(|c| !c.is_empty()).map(str::to_string),
        })
    }

    /// A key from its blob in SSH wire format (what an SSH client presents), with no comment.
    ///
    /// Errors: as [`parse`](Self::parse).
    pub fn from_blob(blob: &[u8]) -> Result<Self> {
        if blob.len() > Self::MAX_LEN {
            return Err(refuse("is too long (at most 16384 bytes)"));
        }
        let algorithm = wire::algorithm_of(blob).map_err(refuse)?;
        wire::check_blob(algorithm, blob).map_err(refuse)?;
        Ok(Self {
            algorithm,
            blob: blob.to_vec(),
            comment: None,
        })
    }

    /// The key type.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The key blob in SSH wire format.
    pub fn blob(&self) -> &[u8] {
        &self.blob
    }

    /// The blob in standard base64, as in the line.
    pub fn blob_base64(&self) -> String {
        STANDARD.encode(&self.blob)
    }

    /// The comment, if the line had one.
    pub fn comment(&self) -> Option<&str> {
        self.comment.as_deref()
    }

    /// The OpenSSH SHA-256 fingerprint, as `ssh-keygen -lf` prints it:
    /// `SHA256:<base64 without padding of sha256(blob)>`.
    pub fn fingerprint(&self) -> String {
        fingerprint_of(&self.blob)
    }
}

/// The OpenSSH SHA-256 fingerprint of a key blob.
pub(crate) fn fingerprint_of(blob: &[u8]) -> String {
    format!("SHA256:{}", STANDARD_NO_PAD.encode(Sha256::digest(blob)))
}

impl std::fmt::Display for PublicKeyLine {
    /// The line: `<type> <base64 blob>`, then ` <comment>` when there is one.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.algorithm, self.blob_base64())?;
        if let Some(comment) = &self.comment {
            write!(f, " {comment}")?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for PublicKeyLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKeyLine")
            .field("algorithm", &self.algorithm)
            .field("fingerprint", &self.fingerprint())
            .field("comment", &self.comment)
            .finish()
    }
}

impl std::str::FromStr for PublicKeyLine {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}
