//! Fuzz targets on stable Rust (issue 19, item 7) for the HTTP front: JWT access tokens,
//! bearer credentials and WebSocket tickets (`access_tokens`), the JSON request bodies of
//! every route (`bodies`) and the control frames of the terminal, exec and tunnel sockets
//! (`ws_frames`). proptest strategies build near-valid input from each format as well as
//! random bytes; `PROPTEST_CASES` sets the case count (CI runs the defaults, `scripts/fuzz` a
//! large count). The oracle everywhere: no panic and no 5xx, only documented refusals.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../common/mod.rs"]
mod common;
#[path = "../../../vibebox-core/tests/fuzz_parsers/harness.rs"]
mod harness;

mod access_tokens;
mod bodies;
mod json_mutation;
mod ws_frames;

use vibebox_http::HttpConfig;

/// The test configuration without rate limits: a fuzz run sends thousands of requests as one
/// user from one address (core's sign-in throttle still applies, and answers 429).
pub fn fuzz_config() -> HttpConfig {
    HttpConfig {
        per_ip_rate_limit: None,
        auth_rate_limit: None,
        per_user_rate_limit: None,
        ..common::config()
    }
}

/// An app on the in-memory kit with [`fuzz_config`].
pub fn fuzz_app() -> common::App {
    harness::count_panics();
    common::App::with(fuzz_config())
}

/// A runtime for one target; cases run on it with `block_on`.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}
