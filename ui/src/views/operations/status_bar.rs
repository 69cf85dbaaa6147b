//! The status bar under every view: the cache, the shards, the last error
//! no view took as its own, and a stopped stream's cause with Retry.

use gridwatch_types::{ApiError, ErrorCode, Mode};

use egui::RichText;

use crate::format::{FAILURE_CHARS, failure, one_line};
use crate::model::Model;
use crate::theme;

/// Draws the bar; true when the operator asked to connect to the stream
/// again.
pub fn show(ui: &mut egui::Ui, model: &Model, last_error: &mut Option<ApiError>) -> bool {
    let mut retry = false;
    ui.horizontal(|ui| {
        if let Some(s) = &model.status {
            ui.label(format!("Cache: {}", s.cache_path));
            ui.label(format!("{} shards", s.shards));
        }
        if let Some(e) = last_error {
            let text = match e.code {
                ErrorCode::FleetRunning => format!("A fleet is already running. {}", e.message),
                ErrorCode::Cache => format!("Cache problem: {}", one_line(&e.message, 100)),
                _ => failure(e),
            };
            ui.label(RichText::new(text).color(theme::ERROR))
                .on_hover_text(&e.message);
            if ui.small_button("Dismiss").clicked() {
                *last_error = None;
            }
        }
        // The followed stream's trouble: a stopped follower (its cache
        // writer or the stream failed) leaves its cause on every shard.
        let stream_error = (model.mode() == Mode::Kinesis)
            .then(|| model.shards.iter().find_map(|s| s.last_error.clone()))
            .flatten();
        if let Some(e) = stream_error {
            ui.label(
                RichText::new(format!("Stream: {}", one_line(&e, FAILURE_CHARS)))
                    .color(theme::ERROR),
            )
            .on_hover_text(&e);
            retry = ui
                .small_button("Retry")
                .on_hover_text("Connect to the stream again; it resumes after its checkpoints")
                .clicked();
        }
    });
    retry
}
