//! The `ContainerRuntime` conformance suite against the real Docker engine.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

vibebox_core::runtime_conformance!(
    common::runtime(),
    vibebox_core::testing::runtime_checks::RuntimeFixture::new(common::TEST_IMAGE),
);
