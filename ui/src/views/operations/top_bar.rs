//! The top bar above every view: the mode, the theme and window buttons,
//! the fleet and what it costs on AWS, and the pipeline's throughput.

use egui::RichText;
use gridwatch_types::{CostEstimate, Mode};

use super::CONFLICTS_HINT;
use crate::format::{format_interval, thousands};
use crate::model::Model;
use crate::theme;

/// What the operator asked for in the top bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clicked {
    Theme,
    Connections,
    Launcher,
    StopFleet,
}

/// Draws the bar. `cost` is the running fleet's, when known.
pub fn show(
    ui: &mut egui::Ui,
    model: &Model,
    dark: bool,
    cost: Option<&CostEstimate>,
) -> Option<Clicked> {
    let mut clicked = None;
    ui.horizontal(|ui| {
        ui.heading(RichText::new("Gridwatch").strong());
        let (badge, hover) = match (&model.mode(), model.status.as_ref()) {
            (Mode::Kinesis, Some(s)) => (
                format!(" KINESIS {} ", s.stream.as_deref().unwrap_or("")),
                "Live data from the stream's shards, cached locally",
            ),
            _ => (
                " EMBEDDED ".to_string(),
                "The whole pipeline on this machine: simulator, in-process bus, cache",
            ),
        };
        ui.label(
            RichText::new(badge)
                .background_color(theme::NAVY)
                .color(theme::YELLOW),
        )
        .on_hover_text(hover);
        // Buttons come before anything whose width changes as data
        // arrives, so they never move under the pointer.
        if ui
            .button(if dark { "Light" } else { "Dark" })
            .on_hover_text("Switch the theme (Ctrl+D)")
            .clicked()
        {
            clicked = Some(Clicked::Theme);
        }
        if ui
            .button("Connections…")
            .on_hover_text("AWS, Kinesis, Timestream, S3, lake folder and cache")
            .clicked()
        {
            clicked = Some(Clicked::Connections);
        }
        ui.separator();
        if ui
            .button("Fleet…")
            .on_hover_text("Launch or stop a simulated fleet (Ctrl+F)")
            .clicked()
        {
            clicked = Some(Clicked::Launcher);
        }
        let status = model.status.as_ref();
        match status.and_then(|s| s.running.as_ref()) {
            Some(spec) => {
                if ui.button("Stop fleet").clicked() {
                    clicked = Some(Clicked::StopFleet);
                }
                let into = status
                    .and_then(|s| s.production.as_ref())
                    .map_or(String::new(), |p| {
                        format!(
                            " into {}: {} records/s",
                            p.sink,
                            thousands(p.records_per_s.round() as u64)
                        )
                    });
                ui.label(format!(
                    "Fleet: {} devices every {}{into}",
                    spec.device_count(),
                    format_interval(spec.interval_ms)
                ));
                // The live cost of running this fleet through AWS.
                if let Some(c) = cost {
                    ui.label(format!("≈ ${:.0}/month on AWS", c.total_usd))
                        .on_hover_text(crate::windows::launcher::cost_breakdown(c));
                }
            }
            None => {
                ui.label("Fleet stopped");
            }
        }
        ui.separator();
        let s = &model.stats;
        ui.label(format!(
            "{} records/s",
            thousands(s.records_per_s.round() as u64)
        ));
        ui.label(format!("{} readings", thousands(s.readings_ingested)));
        let q = RichText::new(format!("{} quarantined", thousands(s.records_quarantined)));
        ui.label(if s.records_quarantined > 0 {
            q.color(theme::WARNING)
        } else {
            q
        });
        if s.readings_conflicting > 0 {
            ui.label(
                RichText::new(format!("{} conflicts", thousands(s.readings_conflicting)))
                    .color(theme::WARNING),
            )
            .on_hover_text(CONFLICTS_HINT);
        }
        let open = model.alarms.unacknowledged();
        if open > 0 {
            ui.separator();
            ui.label(RichText::new(format!("{open} alarms")).color(theme::WARNING));
        }
    });
    clicked
}
