//! The axum REST and WebSocket front for VibeBox.
//!
//! Skeleton: the HTTP front lands with issue 5. Until then this crate only re-exports the service
//! it will serve.

pub use vibebox_core::Vibebox;
