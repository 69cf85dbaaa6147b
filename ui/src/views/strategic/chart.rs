//! The strategic figures' energy as bars: one colour per group of the
//! first key, named in a legend; the second key (a day, a week) along the
//! axis, each bar labelled; energy scaled to kWh, MWh or GWh.

use egui_plot::{Bar, BarChart, GridMark, Legend, Plot};
use gridwatch_types::{Cell, ResultTable};

use crate::format::{axis_value, value, value_ticks};
use crate::theme;

/// Bars per axis label at most: past that, labels skip.
const LABEL_SPACING_PX: f32 = 70.0;

fn text(c: Option<&Cell>) -> String {
    match c {
        Some(Cell::Text(t)) => t.clone(),
        Some(Cell::Number(n)) => format!("{n}"),
        _ => "–".into(),
    }
}

/// The energy bars of a table.
#[derive(Debug, PartialEq)]
pub struct Bars {
    /// The first key's values, in order: one colour each, in the legend.
    pub groups: Vec<String>,
    /// The second key's values (or the only key's): along the axis.
    pub places: Vec<String>,
    /// (group, place, energy in kWh), in table order.
    pub bars: Vec<(usize, usize, f64)>,
}

/// The bars of `table`.
pub fn bars_of(table: &ResultTable) -> Option<Bars> {
    let energy = table.columns.iter().position(|c| c == "energy_kwh")?;
    let keys = table
        .columns
        .iter()
        .position(|c| c == "records")
        .unwrap_or(0)
        .min(energy);
    let mut groups: Vec<String> = Vec::new();
    let mut places: Vec<String> = Vec::new();
    let mut bars = Vec::new();
    for row in &table.rows {
        let (group, place) = match keys {
            0 => (String::new(), String::new()),
            1 => (String::new(), text(row.first())),
            _ => (text(row.first()), text(row.get(1))),
        };
        let g = groups.iter().position(|x| *x == group).unwrap_or_else(|| {
            groups.push(group);
            groups.len() - 1
        });
        let p = places.iter().position(|x| *x == place).unwrap_or_else(|| {
            places.push(place);
            places.len() - 1
        });
        let v = match row.get(energy) {
            Some(Cell::Number(n)) => *n,
            _ => 0.0,
        };
        bars.push((g, p, v));
    }
    Some(Bars {
        groups,
        places,
        bars,
    })
}

pub fn show(ui: &mut egui::Ui, table: &ResultTable) {
    let Some(Bars {
        groups,
        places,
        bars,
    }) = bars_of(table)
    else {
        return;
    };
    let n = groups.len().max(1);
    let width = 0.8 / n as f64;
    let top = bars.iter().map(|b| b.2.abs()).fold(0.0, f64::max);
    let mut charts: Vec<Vec<Bar>> = vec![Vec::new(); n];
    for (g, p, v) in &bars {
        let x = *p as f64 + (*g as f64 - (n as f64 - 1.0) / 2.0) * width;
        let name = if groups[*g].is_empty() {
            places[*p].clone()
        } else {
            format!("{} · {}", groups[*g], places[*p])
        };
        charts[*g].push(
            Bar::new(x, *v)
                .width(width * 0.95)
                .name(format!("{name}: {}", value(*v, "kWh"))),
        );
    }
    let every = {
        let px_per_place = ui.available_width() / places.len().max(1) as f32;
        (LABEL_SPACING_PX / px_per_place).ceil().max(1.0) as usize
    };
    let labels = places.clone();
    let mut plot = Plot::new("energy_chart")
        .height(200.0)
        .allow_drag(false)
        .allow_scroll(false)
        .allow_zoom(false)
        .y_axis_min_width(crate::chart::VALUE_AXIS_WIDTH)
        .x_grid_spacer(move |_| {
            (0..labels.len())
                .step_by(every)
                .map(|i| GridMark {
                    value: i as f64,
                    step_size: every as f64,
                })
                .collect()
        })
        .x_axis_formatter(move |mark, _| {
            let i = mark.value.round();
            if (mark.value - i).abs() > 0.01 || i < 0.0 {
                return String::new();
            }
            places.get(i as usize).cloned().unwrap_or_default()
        })
        .y_grid_spacer(|input| {
            let (step, ticks) = value_ticks(input.bounds.0, input.bounds.1, 5, "kWh");
            ticks
                .into_iter()
                .map(|value| GridMark {
                    value,
                    step_size: step,
                })
                .collect()
        })
        .y_axis_formatter(move |mark, range| {
            let magnitude = range.start().abs().max(range.end().abs()).max(top);
            axis_value(mark.value, mark.step_size, magnitude, "kWh")
        })
        .include_y(0.0);
    let named = groups.iter().any(|g| !g.is_empty());
    if named {
        plot = plot.legend(Legend::default());
    }
    plot.show(ui, |plot| {
        for (g, bars) in charts.into_iter().enumerate() {
            let name = if named {
                groups[g].clone()
            } else {
                "energy".to_string()
            };
            plot.bar_chart(BarChart::new(name, bars).color(theme::GROUPS[g % theme::GROUPS.len()]));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_keys_make_groups_in_a_legend_and_labels_along_the_axis() {
        let row = |r: &str, d: &str, e: f64| {
            vec![
                Cell::Text(r.into()),
                Cell::Text(d.into()),
                Cell::Number(1.0),
                Cell::Number(e),
            ]
        };
        let table = ResultTable {
            columns: ["region", "day", "records", "energy_kwh"]
                .map(String::from)
                .to_vec(),
            rows: vec![
                row("north", "d1", 1.0),
                row("north", "d2", 2.0),
                row("south", "d1", 3.0),
            ],
            skipped: Vec::new(),
            lake_dir: String::new(),
        };
        let Bars {
            groups,
            places,
            bars,
        } = bars_of(&table).unwrap();
        assert_eq!(groups, ["north", "south"]);
        assert_eq!(places, ["d1", "d2"]);
        assert_eq!(bars, vec![(0, 0, 1.0), (0, 1, 2.0), (1, 0, 3.0)]);
    }
}
