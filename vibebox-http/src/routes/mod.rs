//! The resource routes, one file per area of DESIGN.md §6.

pub mod auth;
pub mod environments;
pub mod projects;
pub mod users;
