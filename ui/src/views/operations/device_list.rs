//! The device list: search (`/` goes there), pickers by dimension, offline
//! devices hidden on request, and a row per device with its region, power
//! and the age of its last reading; the arrow keys move through it.

use egui::{Key, Modifiers, RichText};

use super::Operations;
use crate::format::{age, short_id, thousands, value};
use crate::freshness::age_s;
use crate::model::Model;
use crate::theme;

/// The search field's id: `/` gives it the keyboard.
fn search_id() -> egui::Id {
    egui::Id::unique("device_search")
}

/// The devices the search, the pickers and "Hide offline" leave, in order.
pub fn shown<'a>(view: &Operations, model: &'a Model) -> Vec<&'a String> {
    let needle = view.filter.to_lowercase();
    model
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
        .filter(|(_, row)| !view.hide_offline || model.online(row))
        .map(|(id, _)| id)
        .collect()
}

/// Draws the list; the device the operator clicked or moved to, if any.
pub fn show(
    ui: &mut egui::Ui,
    view: &mut Operations,
    model: &Model,
    now_us: i64,
) -> Option<String> {
    let list = shown(view, model);
    let total = model.devices.len();
    ui.heading(if list.len() == total {
        format!("Devices ({})", thousands(total as u64))
    } else {
        format!(
            "Devices ({} of {})",
            thousands(list.len() as u64),
            thousands(total as u64)
        )
    });
    // `/` anywhere but in a text field goes to the search. The slash's
    // text may come a frame after its key: it is not typed into the field.
    if view.swallow_slash > 0 {
        view.swallow_slash -= 1;
        ui.ctx().input_mut(|i| {
            i.events
                .retain(|e| !matches!(e, egui::Event::Text(t) if t == "/"));
        });
    }
    let typing = ui.ctx().egui_wants_keyboard_input();
    if !typing
        && ui.ctx().input_mut(|i| {
            let slash = i
                .events
                .iter()
                .any(|e| matches!(e, egui::Event::Text(t) if t == "/"));
            i.events
                .retain(|e| !matches!(e, egui::Event::Text(t) if t == "/"));
            slash || i.consume_key(Modifiers::NONE, Key::Slash)
        })
    {
        ui.ctx().memory_mut(|m| m.request_focus(search_id()));
        view.swallow_slash = 2;
    }
    ui.add(
        egui::TextEdit::singleline(&mut view.filter)
            .id(search_id())
            .hint_text("search by ID, region, feeder… ( / )")
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
    ui.checkbox(&mut view.hide_offline, "Hide offline devices")
        .on_hover_text("Hide devices with no reading in the last three intervals, such as those of an earlier fleet");
    ui.separator();
    if model.devices.is_empty() {
        // A first start: say where devices come from.
        ui.label(
            "No devices yet. Launch a simulated fleet with Fleet… (Ctrl+F), or follow a \
             Kinesis stream from Connections….",
        );
        return None;
    }
    if list.is_empty() {
        ui.label(if view.filter.trim().is_empty() {
            "No device matches the pickers.".to_string()
        } else {
            format!("No device matches \"{}\".", view.filter.trim())
        });
        return None;
    }
    let mut clicked = moved(ui, &list, model, search_id());
    let row_height = ui.spacing().interact_size.y;
    let mut scroll = egui::ScrollArea::vertical().auto_shrink([false, false]);
    if let Some(to) = &clicked
        && let Some(i) = list.iter().position(|d| *d == to)
    {
        // Keep the row moved to in view, mid-list.
        let offset = (i as f32 * (row_height + ui.spacing().item_spacing.y)
            - ui.available_height() / 2.0)
            .max(0.0);
        scroll = scroll.vertical_scroll_offset(offset);
    }
    let stale_after = model.stale_after_s();
    scroll.show_rows(ui, row_height, list.len(), |ui, range| {
        for &id in &list[range] {
            let row = &model.devices[id];
            let watt = row
                .latest_value("watt")
                .map_or("–".to_string(), |w| value(w, "W"));
            let region = row.dimension("Region").unwrap_or("?");
            let reading_age = row.latest.as_ref().map(|l| age_s(now_us, l.time_us));
            let mut text = format!("{}  {}  {}", short_id(id), region, watt);
            if let Some(a) = reading_age {
                text.push_str(&format!("  {}", age(a)));
            }
            let stale = reading_age.is_none_or(|a| a > stale_after);
            let text = if stale {
                RichText::new(format!("{text}  stale")).color(theme::WARNING)
            } else {
                RichText::new(text)
            };
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

/// The device the arrow keys moved to, when no other text field has the
/// keyboard.
fn moved(ui: &egui::Ui, list: &[&String], model: &Model, search: egui::Id) -> Option<String> {
    let focus = ui.ctx().memory(|m| m.focused());
    if focus.is_some_and(|f| f != search) {
        return None;
    }
    let (down, up) = ui.ctx().input_mut(|i| {
        (
            i.consume_key(Modifiers::NONE, Key::ArrowDown),
            i.consume_key(Modifiers::NONE, Key::ArrowUp),
        )
    });
    if !down && !up {
        return None;
    }
    let at = model
        .selected
        .as_ref()
        .and_then(|s| list.iter().position(|d| *d == s));
    let next = match (at, down) {
        (None, _) => 0,
        (Some(i), true) => (i + 1).min(list.len() - 1),
        (Some(i), false) => i.saturating_sub(1),
    };
    list.get(next).map(|d| (*d).clone())
}
