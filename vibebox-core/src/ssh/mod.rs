//! SSH public keys: parsing and checking an OpenSSH public key line, its SHA-256 fingerprint,
//! and the usernames the SSH gateway accepts (DESIGN.md §10, issue 17).
//!
//! Accepted key types: `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ecdsa-sha2-nistp384`,
//! `ecdsa-sha2-nistp521`, `sk-ssh-ed25519@openssh.com`, `sk-ecdsa-sha2-nistp256@openssh.com`,
//! and `ssh-rsa` with a modulus of 2048 to 16384 bits. Everything else (DSA, short RSA keys,
//! certificates) is refused with `InvalidInput` naming `public_key`.

mod algorithm;
mod public_key;
mod target;
mod wire;

pub use algorithm::KeyAlgorithm;
pub use public_key::PublicKeyLine;
pub(crate) use target::SshTarget;
