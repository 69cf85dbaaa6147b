//! The top bar above every view: the alarm count (first, so it is never
//! off the edge), the mode, the theme, clock and window buttons, the fleet
//! and what it costs on AWS, and the pipeline's rates and lag, each
//! labelled. It wraps onto a second line on a narrow screen.

use egui::RichText;
use gridwatch_types::{CostEstimate, Mode};

use super::CONFLICTS_HINT;
use crate::format::{Clock, age, format_interval, thousands};
use crate::model::Model;
use crate::theme;

/// What the operator asked for in the top bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clicked {
    Theme,
    Clock,
    Connections,
    Launcher,
    StopFleet,
    Alarms,
}

/// The running fleet's cost on AWS, as far as it is known.
#[derive(Debug, Clone, Copy)]
pub enum Cost<'a> {
    /// No fleet runs, or the question is not asked yet.
    Unknown,
    Estimating,
    Known(&'a CostEstimate),
    /// The estimate failed; why, on hover.
    Failed(&'a str),
}

/// Draws the bar.
pub fn show(
    ui: &mut egui::Ui,
    model: &Model,
    dark: bool,
    cost: Cost<'_>,
    now_us: i64,
) -> Option<Clicked> {
    let mut clicked = None;
    ui.horizontal_wrapped(|ui| {
        ui.heading(RichText::new("Gridwatch").strong());
        let open = model.alarms.unacknowledged();
        let alarms = if open == 0 {
            RichText::new("Alarms: none")
        } else {
            RichText::new(format!("Alarms: {open}")).color(theme::WARNING)
        };
        if ui
            .button(alarms)
            .on_hover_text("Unacknowledged alarms: open the list in Operations")
            .clicked()
        {
            clicked = Some(Clicked::Alarms);
        }
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
        let (clock, other) = match model.clock {
            Clock::Utc => ("Times: UTC", "local time"),
            Clock::Local => ("Times: local", "UTC"),
        };
        if ui
            .button(clock)
            .on_hover_text(format!("Show every time in {other}"))
            .clicked()
        {
            clicked = Some(Clicked::Clock);
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
                ui.label(format!(
                    "Fleet: {} devices every {}",
                    thousands(u64::from(spec.device_count())),
                    format_interval(spec.interval_ms)
                ));
                if let Some(p) = status.and_then(|s| s.production.as_ref()) {
                    ui.label(format!(
                        "sent {} records/s into {}",
                        thousands(p.records_per_s.round() as u64),
                        p.sink
                    ))
                    .on_hover_text("Records the simulated fleet writes each second");
                }
                cost_label(ui, cost);
            }
            None => {
                ui.label("Fleet stopped");
            }
        }
        ui.separator();
        pipeline(ui, model, now_us);
    });
    clicked
}

/// The live cost of running the fleet through AWS.
fn cost_label(ui: &mut egui::Ui, cost: Cost<'_>) {
    match cost {
        Cost::Known(c) => {
            ui.label(format!("≈ ${:.0}/month on AWS", c.total_usd))
                .on_hover_text(crate::windows::launcher::cost_breakdown(c));
        }
        Cost::Estimating => {
            ui.label(RichText::new("estimating AWS cost…").weak());
        }
        Cost::Failed(why) => {
            ui.label(RichText::new("AWS cost unknown").weak())
                .on_hover_text(why);
        }
        Cost::Unknown => {}
    }
}

/// What goes in and how far behind the clock it is.
fn pipeline(ui: &mut egui::Ui, model: &Model, now_us: i64) {
    let s = &model.stats;
    let rate = model
        .rate
        .per_s()
        .map_or("–".to_string(), |r| thousands(r.round() as u64));
    ui.label(format!("ingested {rate} readings/s"))
        .on_hover_text("Readings written to the cache each second, over the last seconds");
    ui.label(format!("{} readings", thousands(s.readings_ingested)));
    if let Some(lag) = model.lag_s(now_us) {
        let text = format!("lag {}", age(lag));
        let late = lag > model.stale_after_s();
        ui.label(if late {
            RichText::new(text).color(theme::WARNING)
        } else {
            RichText::new(text)
        })
        .on_hover_text(
            "How far the newest reading delivered lags the clock. While the pipeline catches \
             up, no device is called quiet for it.",
        );
    }
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
}
