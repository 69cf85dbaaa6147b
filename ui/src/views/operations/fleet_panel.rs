//! The fleet at a glance: each measure across every device's latest reading,
//! the heatmap, and the fleet's total power.

use egui::RichText;
use gridwatch_types::{Cell, ResultTable};

use super::{Operations, heatmap};
use crate::backend::Outbox;
use crate::chart::{self, TimeChart};
use crate::format::{thousands, unit, value};
use crate::model::Model;
use crate::theme;
use crate::widgets::export_buttons;

/// The fleet's figures, the heatmap and the fleet's power on the charts'
/// time axis (`fit_x` as they have it this frame).
pub fn show(
    ui: &mut egui::Ui,
    view: &mut Operations,
    model: &Model,
    link: egui::Id,
    fit_x: Option<(f64, f64)>,
    out: &mut Outbox,
) {
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
                        ui.label(value(v, unit(&m.measure)));
                    }
                    ui.end_row();
                }
            });
            if let Some(device) = heatmap::show(ui, model, &view.measure) {
                view.open = Some((device, None));
            }
            let s = &model.stats;
            ui.label(format!(
                "{} records, {} readings ingested since start",
                thousands(s.records_ingested),
                thousands(s.readings_ingested)
            ));
        });
    let fleet = model.fleet.to_vec();
    let reporting = model.last_fleet.map_or(0, |f| f.devices_reporting);
    let total = model.last_fleet.map_or(0.0, |f| f.total_watt);
    ui.horizontal(|ui| {
        out.extend(export_buttons(ui, "fleet-power", || {
            chart_table("fleet_watt", &fleet)
        }));
        ui.label(format!(
            "Fleet total power: {} from {reporting} devices",
            value(total, "W")
        ));
    });
    let span = fleet.first().map(|p| p[0]).zip(fleet.last().map(|p| p[0]));
    chart::show(
        ui,
        TimeChart {
            id: egui::Id::unique("fleet_chart"),
            name: "fleet power",
            unit: "W",
            height: 140.0,
            link: Some(link),
            clock: model.clock,
            span,
            fit_x,
            interval_s: Some(model.interval_s()),
            color: theme::YELLOW,
        },
        |range, pixels| match range {
            Some((lo, hi)) => crate::decimate::min_max(&fleet, lo, hi, pixels),
            None => fleet.clone(),
        },
    );
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
