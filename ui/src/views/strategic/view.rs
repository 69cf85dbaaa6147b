//! Drawing the strategic view: the range and grouping, the lake job's
//! progress, what to do while there is no lake, and the figures as a bar
//! chart and a table.

use egui::RichText;
use gridwatch_types::{Cell, FillLake, FleetSpec, Request, SaveReport};

use super::{GROUPINGS, RANGES, Strategic};
use crate::backend::Outbox;
use crate::model::Model;
use crate::widgets::{error_label, export_buttons};

impl Strategic {
    /// Where the views run: the lake folder, or Athena (Connections).
    fn engine_picker(&mut self, ui: &mut egui::Ui) {
        let shown = if self.on_athena {
            "Athena"
        } else {
            "Lake folder"
        };
        egui::ComboBox::from_id_salt("engine")
            .selected_text(shown)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut self.on_athena, false, "Lake folder");
                ui.selectable_value(&mut self.on_athena, true, "Athena");
            })
            .response
            .accessible_name("Engine");
    }

    /// What a run on Athena would scan and cost, beside Run.
    fn estimate_label(&self, ui: &mut egui::Ui) {
        let limit = self.athena_target.connection.max_scan_bytes();
        match &self.estimate {
            None => {
                ui.label(RichText::new("estimating the scan…").weak());
            }
            Some(Ok(e)) => {
                let text = format!(
                    "≈ {} in {} partitions, ${:.4} (limit {})",
                    gridwatch_types::bytes_text(e.bytes),
                    e.partitions,
                    e.cost_usd,
                    gridwatch_types::bytes_text(limit)
                );
                let text = RichText::new(text);
                ui.label(if e.bytes > limit { text.color(crate::theme::WARNING) } else { text.weak() })
                    .on_hover_text("From the sizes of the objects under the range's partitions; Athena bills at least 10 MB a query");
            }
            Some(Err(e)) => {
                ui.label(RichText::new(format!("no estimate: {e}")).weak());
            }
        }
    }

    /// Draws the view. `now_us` is where the ranges end.
    pub fn show(&mut self, ui: &mut egui::Ui, model: &Model, now_us: i64, out: &mut Outbox) {
        self.run_when_a_lake_may_be_there(model, now_us, out);
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
            self.measure_picker(ui);
            self.engine_picker(ui);
            if ui
                .add_enabled(!self.waiting, egui::Button::new("Run"))
                .clicked()
            {
                self.run(now_us, out);
            }
            if self.waiting {
                // Why Run is greyed, beside it.
                ui.spinner();
                let doing = if self.on_athena {
                    "asking Athena…"
                } else {
                    "reading the lake…"
                };
                ui.label(RichText::new(doing).weak());
            } else if self.on_athena {
                self.estimate_label(ui);
            }
        });
        self.estimate_when_asked_anew(now_us, out);
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
        if let Some(e) = &self.error {
            error_label(ui, e);
        }
        self.sql_box(ui, now_us, out);
        if self.table.is_none() && !self.on_athena {
            self.empty_state(ui, model, out);
        }
        let Some(table) = &self.table else {
            return;
        };
        ui.horizontal(|ui| {
            let name = GROUPINGS[self.grouping]
                .0
                .to_lowercase()
                .replace([' ', '×'], "-");
            out.extend(export_buttons(ui, &name, || table.clone()));
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
        self.show_notes(ui);
        super::chart::show(ui, table);
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
                                Cell::Number(n) => crate::format::table_number(*n),
                                Cell::Text(t) => t.clone(),
                                Cell::Null => "–".into(),
                            });
                        }
                        ui.end_row();
                    }
                });
        });
    }
}

impl Strategic {
    /// No figures yet: why, and what the operator can do about it.
    fn empty_state(&self, ui: &mut egui::Ui, model: &Model, out: &mut Outbox) {
        let busy = self.job.as_ref().is_some_and(|j| j.running);
        if busy {
            ui.label("Simulated history is being written into the lake; its figures appear here when it is done.");
            return;
        }
        let folder = model.status.as_ref().map_or("", |s| s.lake_dir.as_str());
        if !self.lake_empty && !folder.is_empty() {
            if self.waiting {
                ui.spinner();
            }
            return;
        }
        if folder.is_empty() {
            ui.label("No lake folder yet: choose one in Connections…, or write simulated history:");
        } else {
            ui.label(format!(
                "The lake has no extracts yet ({folder}). Sync them from S3 with `gridwatch lake sync`, \
                 choose a folder that holds a lake in Connections…, or write simulated history:"
            ));
        }
        if ui.button("Write 30 days of simulated history").clicked() {
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
}
