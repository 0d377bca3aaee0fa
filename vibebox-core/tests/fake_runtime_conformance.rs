//! The runtime conformance suite against FakeRuntime.
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use vibebox_core::testing::FakeRuntime;
use vibebox_core::testing::runtime_checks::RuntimeFixture;

vibebox_core::runtime_conformance!(
    async { FakeRuntime::new().with_stats_interval(Duration::from_millis(50)) },
    RuntimeFixture::new("vibebox/busybox:test"),
);
