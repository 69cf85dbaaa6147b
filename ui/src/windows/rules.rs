//! The "Alarm rules" window: tolerances, and limits per measure. Changes
//! apply at once (and are saved with the layout).

use std::collections::BTreeMap;

use egui::RichText;
use gridwatch_types::{AlarmRules, MeasureLimit};

use crate::format::unit;
use crate::model::MeasureStats;
use crate::widgets::error_label;

/// The limit fields, per measure (min, max), as typed; None when the
/// window is closed.
#[derive(Debug, Default)]
pub struct RulesWindow {
    pub form: Option<BTreeMap<String, (String, String)>>,
}

impl RulesWindow {
    /// Opens the window with the rules as they are and a row for every
    /// measure the fleet reports; or closes it.
    pub fn toggle(&mut self, rules: &AlarmRules, fleet_summary: &[MeasureStats]) {
        if self.form.take().is_some() {
            return;
        }
        let text = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
        let mut form: BTreeMap<String, (String, String)> = rules
            .limits
            .iter()
            .map(|(m, l)| (m.clone(), (text(l.min), text(l.max))))
            .collect();
        for m in fleet_summary {
            form.entry(m.measure.clone()).or_default();
        }
        self.form = Some(form);
    }

    pub fn show(&mut self, ctx: &egui::Context, rules: &mut AlarmRules) {
        let Some(mut form) = self.form.take() else {
            return;
        };
        let mut open = true;
        egui::Window::new("Alarm rules")
            .default_pos(egui::pos2(330.0, 300.0))
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .show(ctx, |ui| {
                tolerances(ui, rules);
                ui.separator();
                ui.label("Limits per measure (empty: none)");
                egui::Grid::new("alarm_limits")
                    .num_columns(3)
                    .striped(true)
                    .show(ui, |ui| {
                        for h in ["measure", "min", "max"] {
                            ui.label(RichText::new(h).strong());
                        }
                        ui.end_row();
                        for (measure, (min, max)) in form.iter_mut() {
                            limit_row(ui, rules, measure, min, max);
                            ui.end_row();
                        }
                    });
            });
        if open {
            self.form = Some(form);
        }
    }
}

fn tolerances(ui: &mut egui::Ui, rules: &mut AlarmRules) {
    egui::Grid::new("alarm_tolerances")
        .num_columns(2)
        .show(ui, |ui| {
            ui.label("Voltage tolerance (± % of nominal)");
            ui.add(
                egui::DragValue::new(&mut rules.voltage_tolerance_pct)
                    .range(0.5..=50.0)
                    .speed(0.1),
            )
            .accessible_name("Voltage tolerance");
            ui.end_row();
            ui.label("Rapid power change (× from one reading)");
            ui.add(
                egui::DragValue::new(&mut rules.rapid_change_factor)
                    .range(1.1..=100.0)
                    .speed(0.05),
            )
            .accessible_name("Rapid change factor");
            ui.end_row();
            ui.label("Stale after (missed readings)");
            ui.add(egui::DragValue::new(&mut rules.stale_intervals).range(1..=1000))
                .accessible_name("Stale intervals");
            ui.end_row();
        });
}

/// One measure's min and max fields; a rule changes only when both parse.
fn limit_row(
    ui: &mut egui::Ui,
    rules: &mut AlarmRules,
    measure: &str,
    min: &mut String,
    max: &mut String,
) {
    ui.label(format!("{measure} ({})", unit(measure)));
    let parse = |ui: &mut egui::Ui, text: &mut String, name: String| {
        ui.add(egui::TextEdit::singleline(text).desired_width(70.0))
            .accessible_name(name);
        let t = text.trim();
        if t.is_empty() {
            Ok(None)
        } else {
            t.parse::<f64>().map(Some).map_err(|_| t.to_owned())
        }
    };
    let lo = parse(ui, min, format!("{measure} min"));
    let hi = parse(ui, max, format!("{measure} max"));
    match (lo, hi) {
        (Ok(None), Ok(None)) => {
            rules.limits.remove(measure);
        }
        (Ok(min), Ok(max)) => {
            rules
                .limits
                .insert(measure.to_owned(), MeasureLimit { min, max });
        }
        (Err(bad), _) | (_, Err(bad)) => {
            error_label(ui, format!("{bad:?} is not a number"));
        }
    }
}
