//! The chosen device's charts, one per measure, stacked with a linked time
//! cursor, each drawn at two points per pixel column; then the fleet panel.

use egui::RichText;
use egui_plot::{Legend, Line, Plot, PlotPoints};

use super::{Operations, fleet_panel};
use crate::backend::Outbox;
use crate::format::{short_id, time_axis, unit};
use crate::model::Model;
use crate::widgets::{error_label, export_buttons};

pub fn show(ui: &mut egui::Ui, view: &mut Operations, model: &Model, out: &mut Outbox) {
    let Some(selected) = model.selected.clone() else {
        ui.centered_and_justified(|ui| {
            // A first start: say what brings readings.
            ui.label(
                if model.fleet_running() || model.mode() == gridwatch_types::Mode::Kinesis {
                    "Waiting for the first readings…"
                } else {
                    "No readings yet. Launch a simulated fleet with Fleet… (Ctrl+F), or follow a \
                 Kinesis stream from Connections…."
                },
            );
        });
        return;
    };
    let row = model.devices.get(&selected).cloned().unwrap_or_default();
    ui.horizontal(|ui| {
        ui.heading(short_id(&selected));
        for key in ["DeviceType", "Region", "Feeder"] {
            if let Some(v) = row.dimension(key) {
                ui.label(RichText::new(v).weak());
            }
        }
    });
    let mut measures = model.selected_measures();
    for m in &view.charted {
        if !measures.contains(m) {
            measures.push(m.clone());
        }
    }
    let mut toggled = None;
    ui.horizontal(|ui| {
        ui.label("Charts:");
        for m in &measures {
            let on = view.charted.contains(m);
            if ui
                .selectable_label(on, m.as_str())
                .on_hover_text("Show or hide this measure's chart")
                .clicked()
            {
                toggled = Some(m.clone());
            }
        }
        ui.checkbox(&mut view.follow_live, "Follow live");
    });
    if let Some(m) = toggled {
        if let Some(i) = view.charted.iter().position(|c| *c == m) {
            // One chart always stays.
            if view.charted.len() > 1 {
                view.charted.remove(i);
            }
        } else {
            view.charted.push(m.clone());
            view.request_history(model, &m, out);
        }
        view.measure = m;
    }
    if let Some(e) = &view.error {
        error_label(ui, e);
    }

    let link = egui::Id::unique("gridwatch_time_axis");
    let grid_height = (ui.available_height() - 40.0).max(200.0) * 0.6;
    let height = (grid_height / view.charted.len() as f32 - 24.0).max(80.0);
    for measure in view.charted.clone() {
        let points = model
            .series
            .get(&measure)
            .map(|s| s.to_vec())
            .unwrap_or_default();
        ui.horizontal(|ui| {
            // Controls first: the label after them grows with the data.
            let name = format!("{}-{}", short_id(&selected), measure);
            out.extend(export_buttons(ui, &name, || {
                fleet_panel::chart_table(&measure, &points)
            }));
            ui.label(format!(
                "Chart: {} of {} ({} points, UTC)",
                measure,
                short_id(&selected),
                points.len()
            ));
        });
        device_chart(ui, view.follow_live, &measure, points, link, height);
    }
    if let Some(path) = &view.saved {
        ui.label(RichText::new(format!("Saved to {path}")).weak());
    }
    fleet_panel::show(ui, view, model, link, out);
}

/// One measure's chart of the chosen device, with a time cursor linked to
/// the others.
fn device_chart(
    ui: &mut egui::Ui,
    follow_live: bool,
    measure: &str,
    points: Vec<[f64; 2]>,
    link: egui::Id,
    height: f32,
) {
    let newest = points.last().map(|p| p[0]);
    // Following live: the last five minutes, moving; otherwise the
    // operator's own pan and zoom stay put.
    let live = newest.filter(|_| follow_live).map(|t| (t - 300.0, t + 5.0));
    let pixels = (ui.available_width() * ui.ctx().pixels_per_point()) as usize;
    Plot::new(("device_chart", measure))
        .height(height)
        .legend(Legend::default())
        .x_axis_formatter(time_axis)
        .link_cursor(link, [true, false])
        .link_axis(link, [true, false])
        .show(ui, |plot| {
            if let Some((lo, hi)) = live {
                plot.set_plot_bounds_x(lo..=hi);
                plot.set_auto_bounds([false, true]);
            }
            // Two points per pixel column of what is in view, at most.
            // Auto-fitting to the data: the whole series is in view (the
            // bounds would otherwise follow what was decimated).
            let bounds = plot.plot_bounds();
            let whole = (points.first().map_or(0.0, |p| p[0]), newest.unwrap_or(0.0));
            let (lo, hi) = if let Some(window) = live {
                window
            } else if plot.auto_bounds().x {
                whole
            } else {
                (bounds.min()[0], bounds.max()[0])
            };
            let shown = if hi > lo {
                crate::decimate::min_max(&points, lo, hi, pixels)
            } else {
                points
            };
            plot.line(Line::new(
                format!("{measure} ({})", unit(measure)),
                PlotPoints::from(shown),
            ));
        });
}
