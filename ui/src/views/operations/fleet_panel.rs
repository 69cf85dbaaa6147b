//! The fleet at a glance: each measure across every device's latest reading,
//! the heatmap, and the fleet's total power.

use egui::RichText;
use egui_plot::{Line, Plot, PlotPoints};
use gridwatch_types::{Cell, ResultTable};

use super::{Operations, heatmap};
use crate::backend::Outbox;
use crate::format::{thousands, time_axis, unit};
use crate::model::Model;
use crate::theme;
use crate::widgets::export_buttons;

pub fn show(ui: &mut egui::Ui, view: &Operations, model: &Model, link: egui::Id, out: &mut Outbox) {
    egui::CollapsingHeader::new("Fleet panel")
        .default_open(true)
        .show(ui, |ui| {
            egui::Grid::new("fleet_panel").striped(true).show(ui, |ui| {
                for h in ["measure", "devices", "readings", "avg", "p90", "p95", "p99"] {
                    ui.label(RichText::new(h).strong());
                }
                ui.end_row();
                let mut last_measure = None;
                for m in &model.fleet_summary {
                    let of = m
                        .device_type
                        .as_ref()
                        .map_or(String::new(), |t| format!(" · {t}"));
                    ui.label(format!("{} ({}){of}", m.measure, unit(&m.measure)));
                    ui.label(m.devices.to_string());
                    // Readings are counted per measure, not per type: on
                    // the measure's first row.
                    let first = last_measure != Some(m.measure.as_str());
                    last_measure = Some(m.measure.as_str());
                    let readings = model.readings_by_measure.get(&m.measure).filter(|_| first);
                    ui.label(readings.map_or(String::new(), |n| thousands(*n)));
                    for v in [m.avg, m.p90, m.p95, m.p99] {
                        ui.label(format!("{v:.2}"));
                    }
                    ui.end_row();
                }
            });
            heatmap::show(ui, model, &view.measure);
            let s = &model.stats;
            ui.label(format!(
                "{} records, {} readings ingested since start",
                thousands(s.records_ingested),
                thousands(s.readings_ingested)
            ));
        });
    let fleet = model.fleet.to_vec();
    let reporting = model.last_fleet.map_or(0, |f| f.devices_reporting);
    let total = model.last_fleet.map_or(0.0, |f| f.total_watt / 1000.0);
    ui.horizontal(|ui| {
        out.extend(export_buttons(ui, "fleet-power", || {
            chart_table("fleet_kw", &fleet)
        }));
        ui.label(format!(
            "Fleet total power: {total:.1} kW from {reporting} devices"
        ));
    });
    Plot::new("fleet_chart")
        .height(ui.available_height().max(120.0))
        .x_axis_formatter(time_axis)
        .link_cursor(link, [true, false])
        .show(ui, |plot| {
            plot.line(Line::new("fleet power (kW)", PlotPoints::from(fleet)).color(theme::YELLOW));
        });
}

/// A chart's points as a table: time (UTC) and value.
pub fn chart_table(measure: &str, points: &[[f64; 2]]) -> ResultTable {
    ResultTable {
        columns: vec!["time".into(), measure.to_owned()],
        rows: points
            .iter()
            .map(|[t, v]| {
                vec![
                    Cell::Text(crate::clock::format_utc((t * 1e6) as i64)),
                    Cell::Number(*v),
                ]
            })
            .collect(),
        skipped: Vec::new(),
        lake_dir: String::new(),
    }
}
