//! SSH keys and the SSH login rule (issue 17): the public key parser, the keys of a user, and
//! `Vibebox::authorize_ssh`, on MemoryStore and FakeRuntime.
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;
mod keys;
mod login;
mod public_keys;
