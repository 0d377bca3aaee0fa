//! VibeBox facade. See the README.
pub use vibebox_core::*;
