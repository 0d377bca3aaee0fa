//! The key types VibeBox accepts.

/// An accepted SSH public key type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// `ssh-ed25519`.
    Ed25519,
    /// `ecdsa-sha2-nistp256`.
    EcdsaP256,
    /// `ecdsa-sha2-nistp384`.
    EcdsaP384,
    /// `ecdsa-sha2-nistp521`.
    EcdsaP521,
    /// `sk-ssh-ed25519@openssh.com` (a FIDO security key).
    SkEd25519,
    /// `sk-ecdsa-sha2-nistp256@openssh.com` (a FIDO security key).
    SkEcdsaP256,
    /// `ssh-rsa` (at least 2048 bits).
    Rsa,
}

impl KeyAlgorithm {
    /// Every accepted type.
    pub const ALL: &'static [KeyAlgorithm] = &[
        KeyAlgorithm::Ed25519,
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
        KeyAlgorithm::EcdsaP521,
        KeyAlgorithm::SkEd25519,
        KeyAlgorithm::SkEcdsaP256,
        KeyAlgorithm::Rsa,
    ];

    /// The OpenSSH name, as in an `authorized_keys` line and inside the key blob.
    pub fn name(self) -> &'static str {
        match self {
            KeyAlgorithm::Ed25519 => "ssh-ed25519",
            KeyAlgorithm::EcdsaP256 => "ecdsa-sha2-nistp256",
            KeyAlgorithm::EcdsaP384 => "ecdsa-sha2-nistp384",
            KeyAlgorithm::EcdsaP521 => "ecdsa-sha2-nistp521",
            KeyAlgorithm::SkEd25519 => "sk-ssh-ed25519@openssh.com",
            KeyAlgorithm::SkEcdsaP256 => "sk-ecdsa-sha2-nistp256@openssh.com",
            KeyAlgorithm::Rsa => "ssh-rsa",
        }
    }

    /// The type named `name`, if it is accepted.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|a| a.name() == name)
    }

    /// For ECDSA types: the curve name inside the blob and the byte length of one coordinate.
    pub(super) fn curve(self) -> Option<(&'static str, usize)> {
        match self {
            KeyAlgorithm::EcdsaP256 | KeyAlgorithm::SkEcdsaP256 => Some(("nistp256", 32)),
            KeyAlgorithm::EcdsaP384 => Some(("nistp384", 48)),
            KeyAlgorithm::EcdsaP521 => Some(("nistp521", 66)),
            _ => None,
        }
    }

    /// Whether the key lives on a FIDO security key (its blob ends with an application
    /// string).
    pub(super) fn is_security_key(self) -> bool {
        matches!(self, KeyAlgorithm::SkEd25519 | KeyAlgorithm::SkEcdsaP256)
    }
}

impl std::fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
