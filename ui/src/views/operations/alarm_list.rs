//! The alarms panel: the unacknowledged alarms, newest first, and the
//! buttons to acknowledge them and to edit the rules.

use egui::RichText;

use crate::alarms::{Alarm, Alarms};
use crate::format::{Clock, moment, short_id};
use crate::model::MeasureStats;
use crate::theme;
use crate::windows::rules::RulesWindow;

/// Draws the panel; the device and time (epoch microseconds) of the
/// alarm the operator clicked, to open it there.
pub fn show(
    ui: &mut egui::Ui,
    alarms: &mut Alarms,
    rules: &mut RulesWindow,
    fleet_summary: &[MeasureStats],
    clock: Clock,
) -> Option<(String, i64)> {
    let mut opened = None;
    let open = alarms.unacknowledged();
    let mut acknowledge = Vec::new();
    ui.horizontal(|ui| {
        // The button before the count, so it stays put as alarms come.
        if ui
            .add_enabled(open > 0, egui::Button::new("Acknowledge all").small())
            .clicked()
        {
            acknowledge.extend(alarms.list.iter().map(|a| a.id));
        }
        if ui.small_button("Rules…").clicked() {
            rules.toggle(&alarms.rules, fleet_summary);
        }
        ui.heading(format!("Alarms ({open} unacknowledged)"));
    });
    // Only the rows in view are laid out: a busy fleet keeps hundreds of
    // alarms, and the panel shows a handful.
    let shown: Vec<&Alarm> = alarms
        .list
        .iter()
        .rev()
        .filter(|a| !a.acknowledged)
        .collect();
    let row_height = ui.spacing().interact_size.y;
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show_rows(ui, row_height, shown.len(), |ui, range| {
            for a in &shown[range] {
                ui.horizontal(|ui| {
                    let colour = if a.cleared {
                        theme::CLEARED
                    } else {
                        theme::WARNING
                    };
                    ui.label(RichText::new(moment(a.raised_us as f64 / 1e6, clock)).weak());
                    if ui
                        .link(short_id(&a.device_id))
                        .on_hover_text(format!("Open {} at the alarm's time", a.device_id))
                        .clicked()
                    {
                        opened = Some((a.device_id.clone(), a.raised_us));
                    }
                    ui.label(RichText::new(&a.message).color(colour));
                    if a.cleared {
                        ui.label(RichText::new("(cleared)").weak());
                    }
                    if ui.small_button("Acknowledge").clicked() {
                        acknowledge.push(a.id);
                    }
                });
            }
        });
    for id in acknowledge {
        alarms.acknowledge(id);
    }
    opened
}
