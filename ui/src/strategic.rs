//! The strategic view: figures over the lake's extracts (energy, peak
//! demand, load factor, voltage quality) by region, device, type and period,
//! as a table and a chart; and, for an empty lake, a job that writes
//! simulated history into it, with progress and Cancel.

use egui::RichText;
use egui_plot::{Bar, BarChart, Plot};
use gridwatch_types::{
    AggregateQuery, Cell, ErrorCode, FillLake, FleetSpec, JobStatus, ResultTable, SaveReport,
};

use crate::backend::Request;

/// The groupings offered, as an operator names them.
pub const GROUPINGS: [(&str, &[&str], Option<u32>); 6] = [
    ("Region × day", &["region", "day"], None),
    ("Region", &["region"], None),
    ("Device type × week", &["type", "week"], None),
    ("Month", &["month"], None),
    ("Top 10 consumers", &["device"], Some(10)),
    ("Feeder", &["feeder"], None),
];

pub const RANGES: [(&str, i64); 3] = [
    ("Last 7 days", 7),
    ("Last 30 days", 30),
    ("Last 90 days", 90),
];

#[derive(Debug)]
pub struct Strategic {
    pub grouping: usize,
    pub range_days: i64,
    pub table: Option<ResultTable>,
    pub lake_empty: bool,
    pub job: Option<JobStatus>,
    pub waiting: bool,
    /// Where the last export or report went.
    pub saved: Option<String>,
}

impl Default for Strategic {
    fn default() -> Self {
        Strategic {
            grouping: 0,
            range_days: 30,
            table: None,
            lake_empty: false,
            job: None,
            waiting: false,
            saved: None,
        }
    }
}

impl Strategic {
    pub fn query(&self, now_us: i64) -> AggregateQuery {
        let (_, by, top) = GROUPINGS[self.grouping];
        AggregateQuery {
            from_us: now_us - self.range_days * 86_400_000_000,
            to_us: now_us + 1,
            by: by.iter().map(|s| s.to_string()).collect(),
            filters: Vec::new(),
            top,
        }
    }

    /// Takes a failed aggregate: an empty lake is a state, not an error.
    pub fn failed(&mut self, code: ErrorCode) -> bool {
        self.waiting = false;
        if code == ErrorCode::NotFound {
            self.lake_empty = true;
            self.table = None;
            return true;
        }
        false
    }

    /// Draws the view; returns the requests it wants sent.
    pub fn show(&mut self, ui: &mut egui::Ui, now_us: i64) -> Vec<Request> {
        let mut out = Vec::new();
        ui.horizontal(|ui| {
            ui.heading("Strategic");
            ui.separator();
            for (label, days) in RANGES {
                ui.selectable_value(&mut self.range_days, days, label);
            }
            ui.separator();
            egui::ComboBox::from_id_salt("grouping")
                .selected_text(GROUPINGS[self.grouping].0)
                .show_ui(ui, |ui| {
                    for (i, (label, _, _)) in GROUPINGS.iter().enumerate() {
                        ui.selectable_value(&mut self.grouping, i, *label);
                    }
                })
                .response
                .accessible_name("Group by");
            if ui
                .add_enabled(!self.waiting, egui::Button::new("Run"))
                .clicked()
            {
                self.waiting = true;
                out.push(Request::Aggregate(self.query(now_us)));
            }
        });
        if let Some(job) = &self.job {
            ui.horizontal(|ui| {
                if job.running {
                    ui.add(
                        egui::ProgressBar::new(job.fraction)
                            .desired_width(300.0)
                            .text(format!("{}: {}", job.name, job.message)),
                    );
                    if ui.button("Cancel").clicked() {
                        out.push(Request::CancelJob);
                    }
                } else if let Some(e) = &job.error {
                    ui.label(format!("{}: {e}", job.name));
                } else {
                    ui.label(format!("{}: done, {}", job.name, job.message));
                }
            });
        }
        if self.lake_empty && self.table.is_none() {
            ui.label("The lake has no extracts yet. Sync them from S3 with `gridwatch lake sync`, or write simulated history:");
            let busy = self.job.as_ref().is_some_and(|j| j.running);
            if ui
                .add_enabled(
                    !busy,
                    egui::Button::new("Write 30 days of simulated history"),
                )
                .clicked()
            {
                out.push(Request::FillLake(FillLake {
                    days: 30,
                    spec: FleetSpec {
                        smart_meters: 100,
                        feeders: 2,
                        transformers: 3,
                        interval_ms: 15 * 60 * 1000,
                        ..FleetSpec::default()
                    },
                }));
            }
        }
        let Some(table) = &self.table else {
            return out;
        };
        ui.horizontal(|ui| {
            let name = GROUPINGS[self.grouping]
                .0
                .to_lowercase()
                .replace([' ', '×'], "-");
            out.extend(crate::export::export_buttons(ui, &name, || table.clone()));
            let query = self.query(now_us);
            for (label, pdf) in [("Save report (HTML)…", false), ("Save report (PDF)…", true)] {
                if ui.button(label).clicked() {
                    out.push(Request::SaveReport(SaveReport {
                        from_us: query.from_us,
                        to_us: query.to_us,
                        region: None,
                        pdf,
                    }));
                }
            }
            if let Some(path) = &self.saved {
                ui.label(RichText::new(format!("Saved to {path}")).weak());
            }
        });
        ui.label(
            RichText::new(format!(
                "{} rows from {}{}",
                table.rows.len(),
                table.lake_dir,
                if table.skipped.is_empty() {
                    String::new()
                } else {
                    format!(", {} unreadable lines skipped", table.skipped.len())
                }
            ))
            .weak(),
        );
        let energy = table.columns.iter().position(|c| c == "energy_kwh");
        let keys = table
            .columns
            .iter()
            .position(|c| c == "records")
            .unwrap_or(0);
        if let Some(e) = energy {
            let bars: Vec<Bar> = table
                .rows
                .iter()
                .enumerate()
                .map(|(i, row)| {
                    let v = match row.get(e) {
                        Some(Cell::Number(n)) => *n,
                        _ => 0.0,
                    };
                    Bar::new(i as f64, v).name(label(&row[..keys]))
                })
                .collect();
            Plot::new("energy_chart")
                .height(180.0)
                .allow_drag(false)
                .allow_scroll(false)
                .show(ui, |plot| {
                    plot.bar_chart(BarChart::new("energy (kWh)", bars));
                });
        }
        egui::ScrollArea::both().show(ui, |ui| {
            egui::Grid::new("aggregate_table")
                .striped(true)
                .show(ui, |ui| {
                    for c in &table.columns {
                        ui.label(RichText::new(c).strong());
                    }
                    ui.end_row();
                    for row in &table.rows {
                        for c in row {
                            ui.label(match c {
                                Cell::Number(n) if n.fract() == 0.0 => format!("{n:.0}"),
                                Cell::Number(n) => format!("{n:.3}"),
                                Cell::Text(t) => t.clone(),
                                Cell::Null => "–".into(),
                            });
                        }
                        ui.end_row();
                    }
                });
        });
        out
    }
}

fn label(keys: &[Cell]) -> String {
    keys.iter()
        .map(|c| match c {
            Cell::Text(t) => t.clone(),
            Cell::Number(n) => format!("{n}"),
            Cell::Null => "–".into(),
        })
        .collect::<Vec<_>>()
        .join(" · ")
}
