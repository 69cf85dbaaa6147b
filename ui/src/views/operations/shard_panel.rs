//! The followed stream's shards: state, parents, rate, lag, throttling and
//! quarantined records, one row each.

use egui::RichText;
use gridwatch_types::{Cell, ResultTable, ShardState, ShardStatus};

use super::CONFLICTS_HINT;
use crate::backend::Outbox;
use crate::format::{short_shard, thousands};
use crate::model::Model;
use crate::widgets::export_buttons;

pub fn show(ui: &mut egui::Ui, model: &Model, out: &mut Outbox) {
    ui.horizontal(|ui| {
        out.extend(export_buttons(ui, "shards", || shard_table(&model.shards)));
        ui.heading(format!("Shards ({})", model.shards.len()));
    });
    let conflicts = model.stats.readings_conflicting;
    if conflicts > 0 {
        ui.label(format!(
            "{} readings came again with another value",
            thousands(conflicts)
        ))
        .on_hover_text(CONFLICTS_HINT);
    }
    egui::ScrollArea::vertical().show(ui, |ui| {
        egui::Grid::new("shard_grid")
            .striped(true)
            .num_columns(7)
            .show(ui, |ui| {
                for h in [
                    "Shard",
                    "State",
                    "Parent",
                    "rec/s",
                    "Lag",
                    "Throttled",
                    "Quarantined",
                ] {
                    ui.label(RichText::new(h).strong());
                }
                ui.end_row();
                for s in &model.shards {
                    shard_row(ui, s);
                    ui.end_row();
                }
            });
    });
}

fn shard_row(ui: &mut egui::Ui, s: &ShardStatus) {
    ui.label(short_shard(&s.shard_id))
        .on_hover_text(&s.shard_id);
    let state = match s.state {
        ShardState::Waiting => "waiting for parents",
        ShardState::Reading if s.open => "open, reading",
        ShardState::Reading => "closed, draining",
        ShardState::CaughtUp => "caught up",
        ShardState::Ended => "closed, read",
    };
    let state = ui.label(state);
    if let Some(e) = &s.last_error {
        state.on_hover_text(e);
    }
    let parents: Vec<String> = [&s.parent, &s.adjacent_parent]
        .into_iter()
        .flatten()
        .map(|p| short_shard(p))
        .collect();
    ui.label(if parents.is_empty() {
        "–".into()
    } else {
        parents.join(" + ")
    });
    ui.label(format!("{:.0}", s.records_per_s));
    ui.label(s.millis_behind.map_or("–".into(), |m| format!("{m} ms")));
    ui.label(thousands(s.throttled));
    ui.label(thousands(s.quarantined));
}

/// The shard panel as a table.
pub fn shard_table(shards: &[ShardStatus]) -> ResultTable {
    let text = |s: &Option<String>| s.clone().map_or(Cell::Null, Cell::Text);
    ResultTable {
        columns: [
            "shard",
            "open",
            "state",
            "parent",
            "adjacent_parent",
            "records",
            "records_per_s",
            "millis_behind",
            "throttled",
            "expired_iterators",
            "quarantined",
        ]
        .map(String::from)
        .to_vec(),
        rows: shards
            .iter()
            .map(|s| {
                vec![
                    Cell::Text(s.shard_id.clone()),
                    Cell::Text(s.open.to_string()),
                    Cell::Text(format!("{:?}", s.state).to_lowercase()),
                    text(&s.parent),
                    text(&s.adjacent_parent),
                    Cell::Number(s.records as f64),
                    Cell::Number(s.records_per_s),
                    s.millis_behind
                        .map_or(Cell::Null, |m| Cell::Number(m as f64)),
                    Cell::Number(s.throttled as f64),
                    Cell::Number(s.expired_iterators as f64),
                    Cell::Number(s.quarantined as f64),
                ]
            })
            .collect(),
        skipped: Vec::new(),
        lake_dir: String::new(),
    }
}
