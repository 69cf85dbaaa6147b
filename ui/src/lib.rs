//! Gridwatch's interface in egui + egui_plot.
//!
//! Compiled to wasm32 and loaded by the Tauri webview (`web.rs`), it talks to
//! the shell through Tauri's IPC. It also builds natively, without eframe,
//! so its tests drive [`GridwatchUi`] through egui_kittest.
//!
//! The pieces: `app` (the frame), `views` (Operations, History,
//! Strategic), `windows` (Connections, the fleet launcher, alarm rules),
//! `routing` (requests by id, answers to their sender), `backend` (the
//! shell as the UI sees it), `model` (what the live batches say), `alarms`,
//! and the shared `widgets`, `format` and `theme`.

pub mod alarms;
pub mod app;
pub mod backend;
pub mod chart;
pub mod clock;
pub mod decimate;
pub mod every;
pub mod format;
pub mod freshness;
mod health;
pub mod model;
mod polling;
pub mod routing;
mod settings;
pub mod theme;
pub mod views;
#[cfg(target_arch = "wasm32")]
mod web;
pub mod widgets;
pub mod windows;

pub use app::GridwatchUi;
pub use backend::{Answer, Backend, Event, Outbox, RequestId};
