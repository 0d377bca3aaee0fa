//! The resource routes, one file per area of DESIGN.md §6.

pub mod auth;
pub mod environments;
pub mod exec;
pub mod extensions;
pub mod files;
pub mod logs;
pub mod oauth;
pub mod preview;
pub mod projects;
pub mod session;
pub mod sessions;
pub mod ssh_gateway;
pub mod ssh_keys;
pub mod suspend;
pub mod teams;
pub mod users;
