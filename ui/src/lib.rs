//! Gridwatch's interface in egui + egui_plot.
//!
//! Compiled to wasm32 and loaded by the Tauri webview (`web.rs`), it talks to
//! the shell through Tauri's IPC. It also builds natively, without eframe,
//! so its tests drive [`GridwatchUi`] through egui_kittest.

pub mod alarms;
pub mod app;
pub mod backend;
pub mod clock;
pub mod connections;
pub mod decimate;
pub mod export;
pub mod history;
pub mod launcher;
pub mod model;
pub mod strategic;
#[cfg(target_arch = "wasm32")]
mod web;

pub use app::GridwatchUi;
pub use backend::{Backend, Reply, Request};
