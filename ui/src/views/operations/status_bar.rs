//! The status bar under every view: the cache, the shards, the last error
//! no view took as its own, and a stopped stream's cause with Retry.

use gridwatch_types::{ApiError, ErrorCode, Mode};

use crate::model::Model;
use crate::widgets::error_label;

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
                ErrorCode::Cache => format!("Cache problem: {}", e.message),
                _ => e.message.clone(),
            };
            error_label(ui, text);
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
            error_label(ui, format!("Stream: {e}"));
            retry = ui
                .small_button("Retry")
                .on_hover_text("Connect to the stream again; it resumes after its checkpoints")
                .clicked();
        }
    });
    retry
}
