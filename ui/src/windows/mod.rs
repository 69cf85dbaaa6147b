//! The floating windows: connections, the fleet launcher, the alarm rules.

pub mod connections;
pub mod launcher;
pub mod rules;
