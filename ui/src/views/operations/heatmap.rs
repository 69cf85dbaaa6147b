//! Devices over time for the chosen measure: a row per device (the first 40
//! in the list), a column per 5 s of the last 2.5 minutes.

use crate::model::Model;
use crate::theme;

const COLUMNS: usize = 30;
const SPAN_US: i64 = 150_000_000;

pub fn show(ui: &mut egui::Ui, model: &Model, measure: &str) {
    let devices: Vec<String> = model.devices.keys().take(40).cloned().collect();
    let grid = model.heatmap(&devices, measure, SPAN_US, COLUMNS);
    let values = grid.iter().flatten().flatten();
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(*v), b.max(*v))
    });
    ui.label(format!(
        "Heatmap: {} of {} devices, last 2.5 min ({:.1} to {:.1})",
        measure,
        devices.len(),
        if lo.is_finite() { lo } else { 0.0 },
        if hi.is_finite() { hi } else { 0.0 }
    ));
    let cell = egui::vec2(
        (ui.available_width() / COLUMNS as f32).clamp(4.0, 24.0),
        4.0,
    );
    let (rect, _) = ui.allocate_exact_size(
        egui::vec2(cell.x * COLUMNS as f32, cell.y * devices.len() as f32),
        egui::Sense::hover(),
    );
    let painter = ui.painter_at(rect);
    for (r, row) in grid.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            let Some(v) = v else { continue };
            let t = if hi > lo {
                ((v - lo) / (hi - lo)) as f32
            } else {
                0.5
            };
            let min = rect.min + egui::vec2(c as f32 * cell.x, r as f32 * cell.y);
            painter.rect_filled(egui::Rect::from_min_size(min, cell), 0.0, theme::heat(t));
        }
    }
}
