//! The device list: search, pickers by dimension, and a row per device with
//! its region and power.

use super::Operations;
use crate::format::short_id;
use crate::model::Model;

/// Draws the list; the device the operator clicked, if any.
pub fn show(ui: &mut egui::Ui, view: &mut Operations, model: &Model) -> Option<String> {
    ui.heading(format!("Devices ({})", model.devices.len()));
    ui.add(
        egui::TextEdit::singleline(&mut view.filter)
            .hint_text("search by ID, region, feeder…")
            .desired_width(f32::INFINITY),
    )
    .accessible_name("Search devices");
    // Pickers by dimension, with the values the fleet has.
    for (key, label) in [
        ("Region", "Region"),
        ("Feeder", "Feeder"),
        ("DeviceType", "Type"),
    ] {
        let values = model.dimension_values.get(key).cloned().unwrap_or_default();
        let chosen = view.dimension_filter.entry(key.to_string()).or_default();
        egui::ComboBox::from_label(label)
            .selected_text(if chosen.is_empty() {
                "all"
            } else {
                chosen.as_str()
            })
            .show_ui(ui, |ui| {
                ui.selectable_value(chosen, String::new(), "all");
                for v in values {
                    ui.selectable_value(chosen, v.clone(), v);
                }
            });
    }
    ui.separator();
    if model.devices.is_empty() {
        // A first start: say where devices come from.
        ui.label(
            "No devices yet. Launch a simulated fleet with Fleet… (Ctrl+F), or follow a \
             Kinesis stream from Connections….",
        );
        return None;
    }
    let needle = view.filter.to_lowercase();
    let shown: Vec<&String> = model
        .devices
        .iter()
        .filter(|(id, row)| {
            needle.is_empty()
                || id.to_lowercase().contains(&needle)
                || row.info.as_ref().is_some_and(|i| {
                    i.dimensions
                        .values()
                        .any(|v| v.to_lowercase().contains(&needle))
                })
        })
        .filter(|(_, row)| {
            view.dimension_filter
                .iter()
                .all(|(k, v)| v.is_empty() || row.dimension(k) == Some(v.as_str()))
        })
        .map(|(id, _)| id)
        .collect();
    let row_height = ui.spacing().interact_size.y;
    let mut clicked = None;
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show_rows(ui, row_height, shown.len(), |ui, range| {
            for &id in &shown[range] {
                let row = &model.devices[id];
                let watt = row
                    .latest_value("watt")
                    .map_or("–".to_string(), |w| format!("{w:.0} W"));
                let region = row.dimension("Region").unwrap_or("?");
                let text = format!("{}  {}  {}", short_id(id), region, watt);
                let selected = model.selected.as_ref() == Some(id);
                if ui
                    .selectable_label(selected, text)
                    .on_hover_text(id.as_str())
                    .clicked()
                {
                    clicked = Some(id.clone());
                }
            }
        });
    clicked
}
