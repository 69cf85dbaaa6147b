//! Devices over time for the chosen measure: a row per online device
//! (scrolling, only the rows in view computed), a column per 5 s of the
//! last 2.5 minutes, with device names, a time axis and a colour legend.
//! Clicking a row opens that device.

use egui::{Align2, FontId, RichText};

use crate::format::{short_id, unit, value};
use crate::model::Model;
use crate::theme;

const COLUMNS: usize = 30;
const SPAN_US: i64 = 150_000_000;
/// A row: tall enough for its device's name.
const ROW_HEIGHT: f32 = 14.0;
const NAME_WIDTH: f32 = 84.0;
/// The most rows in view at once; the rest scroll.
const VISIBLE_ROWS: f32 = 10.0;

/// Draws the heatmap; the device whose row was clicked, if any.
pub fn show(ui: &mut egui::Ui, model: &Model, measure: &str) -> Option<String> {
    let online: Vec<&String> = model
        .devices
        .iter()
        .filter(|(_, row)| model.online(row))
        .map(|(id, _)| id)
        .collect();
    // The colour scale: the online devices' latest readings.
    let (lo, hi) = online
        .iter()
        .filter_map(|id| model.devices[*id].latest_value(measure))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    let u = unit(measure);
    ui.label(format!(
        "Heatmap: {measure} of {} online devices (of {}), last 2.5 min",
        online.len(),
        model.devices.len()
    ));
    if online.is_empty() {
        ui.label(RichText::new("No device has reported in the last three intervals.").weak());
        return None;
    }
    legend(ui, lo, hi, u);
    let width = ui.available_width();
    let cell_w = ((width - NAME_WIDTH) / COLUMNS as f32).max(2.0);
    let mut clicked = None;
    egui::ScrollArea::vertical()
        .id_salt("heatmap")
        .max_height(ROW_HEIGHT * VISIBLE_ROWS)
        .auto_shrink([false, true])
        .show_rows(ui, ROW_HEIGHT, online.len(), |ui, range| {
            let ids: Vec<String> = online[range].iter().map(|s| (*s).clone()).collect();
            let grid = model.heatmap(&ids, measure, SPAN_US, COLUMNS);
            for (id, row) in ids.iter().zip(grid) {
                let (rect, response) = ui.allocate_exact_size(
                    egui::vec2(NAME_WIDTH + cell_w * COLUMNS as f32, ROW_HEIGHT),
                    egui::Sense::click(),
                );
                let painter = ui.painter_at(rect);
                painter.text(
                    rect.left_center(),
                    Align2::LEFT_CENTER,
                    short_id(id),
                    FontId::proportional(11.0),
                    ui.visuals().text_color(),
                );
                for (c, v) in row.iter().enumerate() {
                    let Some(v) = v else { continue };
                    let t = if hi > lo {
                        ((v - lo) / (hi - lo)).clamp(0.0, 1.0) as f32
                    } else {
                        0.5
                    };
                    let min = rect.min + egui::vec2(NAME_WIDTH + c as f32 * cell_w, 1.0);
                    let cell = egui::vec2(cell_w, ROW_HEIGHT - 2.0);
                    painter.rect_filled(egui::Rect::from_min_size(min, cell), 0.0, theme::heat(t));
                }
                let latest = model.devices[id].latest_value(measure);
                let response = response.on_hover_text(format!(
                    "{id}: {} now. Click to open it.",
                    latest.map_or("–".into(), |v| value(v, u))
                ));
                if response.clicked() {
                    clicked = Some(id.clone());
                }
            }
        });
    time_axis(ui, cell_w);
    clicked
}

/// The colour scale from its lowest to its highest value, in the unit.
fn legend(ui: &mut egui::Ui, lo: f64, hi: f64, unit: &str) {
    ui.horizontal(|ui| {
        ui.label(RichText::new(value(lo, unit)).small());
        let (rect, _) = ui.allocate_exact_size(egui::vec2(160.0, 10.0), egui::Sense::hover());
        let steps = 32;
        let w = rect.width() / steps as f32;
        for i in 0..steps {
            let min = rect.min + egui::vec2(i as f32 * w, 0.0);
            ui.painter().rect_filled(
                egui::Rect::from_min_size(min, egui::vec2(w + 0.5, rect.height())),
                0.0,
                theme::heat(i as f32 / (steps - 1) as f32),
            );
        }
        ui.label(RichText::new(value(hi, unit)).small());
    });
}

/// Under the columns: how long ago each is.
fn time_axis(ui: &mut egui::Ui, cell_w: f32) {
    let (rect, _) = ui.allocate_exact_size(
        egui::vec2(NAME_WIDTH + cell_w * COLUMNS as f32, 14.0),
        egui::Sense::hover(),
    );
    let painter = ui.painter_at(rect);
    let colour = ui.visuals().weak_text_color();
    let span_s = SPAN_US as f32 / 1e6;
    for (seconds_ago, text, align) in [
        (span_s, "-2.5 min", Align2::LEFT_TOP),
        (120.0, "-2 min", Align2::CENTER_TOP),
        (60.0, "-1 min", Align2::CENTER_TOP),
        (0.0, "now", Align2::RIGHT_TOP),
    ] {
        let x = rect.left() + NAME_WIDTH + (1.0 - seconds_ago / span_s) * cell_w * COLUMNS as f32;
        painter.text(
            egui::pos2(x, rect.top()),
            align,
            text,
            FontId::proportional(11.0),
            colour,
        );
    }
}
