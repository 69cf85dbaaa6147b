//! The chosen device's charts, one per measure, stacked on one time axis
//! with a linked cursor, each drawn at two points per pixel column and
//! saying how old its last reading is; then the fleet panel.

use egui::RichText;

use super::{Operations, fleet_panel};
use crate::backend::Outbox;
use crate::chart::{self, TimeChart};
use crate::format::{age, short_id, unit};
use crate::freshness::age_s;
use crate::model::Model;
use crate::theme;
use crate::widgets::{error_label, export_buttons};

/// The live window a chart shows while following live, in seconds.
const LIVE_WINDOW_S: f64 = 300.0;
/// Around an alarm opened from the list: this much either side.
const ALARM_WINDOW_S: f64 = super::ALARM_WINDOW_US as f64 / 1e6;

pub fn show(
    ui: &mut egui::Ui,
    view: &mut Operations,
    model: &Model,
    now_us: i64,
    out: &mut Outbox,
) {
    let Some(selected) = model.selected.clone() else {
        ui.centered_and_justified(|ui| {
            // A first start: say what brings readings.
            ui.label(if model.feeding() {
                "Waiting for the first readings…"
            } else {
                "No readings yet. Launch a simulated fleet with Fleet… (Ctrl+F), or follow a \
                 Kinesis stream from Connections…."
            });
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
        if ui
            .checkbox(&mut view.follow_live, "Follow live")
            .on_hover_text("Show the last five minutes, moving. Scroll or drag to look back.")
            .changed()
        {
            view.fit_pending = true;
        }
    });
    if let Some(m) = toggled {
        if let Some(i) = view.charted.iter().position(|c| *c == m) {
            // One chart always stays.
            if view.charted.len() > 1 {
                view.charted.remove(i);
            }
        } else {
            view.charted.push(m.clone());
            view.request_history(model, &m, None, out);
        }
        view.measure = m;
        view.fit_pending = true;
    }
    if let Some(e) = &view.error {
        error_label(ui, e);
    }

    let link = egui::Id::unique("gridwatch_time_axis");
    let series: Vec<(String, Vec<[f64; 2]>)> = view
        .charted
        .iter()
        .map(|m| {
            let points = model.series.get(m).map(|s| s.to_vec()).unwrap_or_default();
            (m.clone(), points)
        })
        .collect();
    // One time range for every chart of the stack: the newest reading of
    // any of them, and all they hold when fitted.
    let first = series
        .iter()
        .filter_map(|(_, p)| p.first().map(|p| p[0]))
        .reduce(f64::min);
    let newest = series
        .iter()
        .filter_map(|(_, p)| p.last().map(|p| p[0]))
        .reduce(f64::max);
    let fit_x = if let Some(t) = view.focus_s.take() {
        view.follow_live = false;
        Some((t - ALARM_WINDOW_S, t + ALARM_WINDOW_S))
    } else if view.follow_live {
        newest.map(|t| (t - LIVE_WINDOW_S, t + 5.0))
    } else if view.fit_pending {
        first.zip(newest).filter(|(a, b)| b > a)
    } else {
        None
    };
    if fit_x.is_some() || newest.is_some() {
        view.fit_pending = false;
    }
    let grid_height = (ui.available_height() - 40.0).max(200.0) * 0.55;
    let height = (grid_height / view.charted.len() as f32 - 24.0).max(120.0);
    // The running fleet's interval; stopped, what the readings show.
    let interval = if model.fleet_running() {
        model.interval_s()
    } else {
        model
            .series
            .get(&view.measure)
            .and_then(|s| chart::typical_step(s.points.iter().map(|p| p[0])))
            .unwrap_or_else(|| model.interval_s())
    };
    let stale_after = model.stale_after_s();
    let mut shown = Vec::new();
    let mut reset = false;
    for (measure, points) in series {
        let last = points.last().map(|p| p[0]);
        ui.horizontal(|ui| {
            // Controls first: the label after them grows with the data.
            let name = format!("{}-{}", short_id(&selected), measure);
            out.extend(export_buttons(ui, &name, || {
                fleet_panel::chart_table(&measure, &points)
            }));
            ui.label(format!(
                "Chart: {} of {} ({} points)",
                measure,
                short_id(&selected),
                points.len()
            ));
            freshness_label(ui, last, now_us, stale_after);
        });
        let span = points.first().map(|p| p[0]).zip(last);
        let drawn = chart::show(
            ui,
            TimeChart {
                id: egui::Id::unique(("device_chart", measure.as_str())),
                name: &measure,
                unit: unit(&measure),
                height,
                link: Some(link),
                clock: model.clock,
                span,
                fit_x,
                interval_s: Some(interval),
                color: theme::LINE,
            },
            |range, pixels| match range {
                Some((lo, hi)) => crate::decimate::min_max(&points, lo, hi, pixels),
                None => points.clone(),
            },
        );
        reset |= drawn.reset;
        shown.push(drawn);
    }
    if reset {
        // A double-click fits every chart of the stack, together.
        view.follow_live = false;
        view.fit_pending = true;
    }
    view.shown = shown;
    if let Some(path) = &view.saved {
        ui.label(RichText::new(format!("Saved to {path}")).weak());
    }
    fleet_panel::show(ui, view, model, link, fit_x, out);
}

/// "last reading 2.0 s ago", marked stale past the limit.
pub fn freshness_label(ui: &mut egui::Ui, last_s: Option<f64>, now_us: i64, stale_after_s: f64) {
    let Some(last) = last_s else {
        return;
    };
    let a = age_s(now_us, (last * 1e6) as i64);
    if a > stale_after_s {
        ui.label(
            RichText::new(format!(" STALE: last reading {} ago ", age(a)))
                .color(egui::Color32::BLACK)
                .background_color(theme::WARNING),
        )
        .on_hover_text(format!(
            "No reading for more than {} (three intervals)",
            age(stale_after_s)
        ));
    } else {
        ui.label(RichText::new(format!("last reading {} ago", age(a))).weak());
    }
}
