//! The Strategic view's SQL box: the operator's SQL over the lake's
//! readings of the chosen range (the CLI's `lake sql`, through polars), its
//! answer as a chart and a table, exportable. Errors are polars' words.

use egui::RichText;
use egui_plot::{Bar, BarChart, Plot};
use gridwatch_types::{Cell, ErrorCode, LakeSqlQuery, Reply, Request, ResultTable, format_figure};

use crate::backend::{Answer, Outbox};
use crate::widgets::{error_label, export_buttons};

/// What the box starts with: a question the fixed views do not answer.
pub const EXAMPLE: &str = "SELECT Region, count(*) AS readings, avg(watt_measure) AS mean_w \
FROM readings GROUP BY Region ORDER BY Region";

#[derive(Debug)]
pub struct SqlBox {
    pub sql: String,
    pub open: bool,
    pub waiting: bool,
    pub table: Option<ResultTable>,
    pub error: Option<String>,
    /// What ended the last query without an error: "Cancelled.".
    pub note: Option<String>,
}

impl Default for SqlBox {
    fn default() -> Self {
        SqlBox {
            sql: EXAMPLE.to_string(),
            open: false,
            waiting: false,
            table: None,
            error: None,
            note: None,
        }
    }
}

/// The first text column (the labels) and the first numeric column after
/// it (the bars) of a table, if it has both.
pub fn chart_columns(table: &ResultTable) -> Option<(usize, usize)> {
    let first = table.rows.first()?;
    let label = first.iter().position(|c| matches!(c, Cell::Text(_)))?;
    let value = first
        .iter()
        .enumerate()
        .position(|(i, c)| i != label && matches!(c, Cell::Number(_)))?;
    Some((label, value))
}

impl SqlBox {
    /// Draws the box; `range` is the view's range, where the query reads.
    pub fn show(&mut self, ui: &mut egui::Ui, range: (i64, i64), out: &mut Outbox) {
        egui::CollapsingHeader::new("SQL over the lake")
            .default_open(self.open)
            .show(ui, |ui| {
                self.open = true;
                ui.label(
                    RichText::new(
                        "One table, readings: Time (epoch ms), time, DeviceID, each dimension \
                         (Region…) and each measure (watt_measure…), over the range above.",
                    )
                    .weak(),
                );
                ui.add(
                    egui::TextEdit::multiline(&mut self.sql)
                        .code_editor()
                        .desired_rows(3)
                        .desired_width(f32::INFINITY),
                )
                .accessible_name("SQL");
                ui.horizontal(|ui| {
                    if ui
                        .add_enabled(!self.waiting, egui::Button::new("Run SQL"))
                        .clicked()
                    {
                        self.waiting = true;
                        self.error = None;
                        self.note = None;
                        out.push(Request::LakeSql(LakeSqlQuery {
                            sql: self.sql.clone(),
                            from_us: range.0,
                            to_us: range.1,
                        }));
                    }
                    if self.waiting {
                        ui.spinner();
                        if ui.button("Cancel query").clicked() {
                            out.push(Request::CancelLakeSql);
                        }
                    }
                    if let Some(note) = &self.note {
                        ui.label(RichText::new(note).weak());
                    }
                    if let Some(table) = &self.table {
                        out.extend(export_buttons(ui, "lake-sql", || table.clone()));
                    }
                });
                if let Some(e) = &self.error {
                    error_label(ui, e);
                }
                if let Some(table) = &self.table {
                    answer(ui, table);
                }
            });
    }

    /// Takes the answer to a LakeSql request; gives back any other.
    pub fn on_reply(&mut self, answer: Answer) -> Option<Answer> {
        match (answer.request, answer.result) {
            (Request::LakeSql(_), Ok(Reply::Table(table))) => {
                self.waiting = false;
                self.table = Some(table);
            }
            // A cancelled query leaves no answer on screen, and no error.
            (Request::LakeSql(_), Err(e)) if e.code == ErrorCode::Cancelled => {
                self.waiting = false;
                self.table = None;
                self.note = Some("Cancelled.".into());
            }
            (Request::LakeSql(_), Err(e)) => {
                self.waiting = false;
                self.table = None;
                self.error = Some(e.message);
            }
            // The cancel's own acknowledgement: the query's answer says it.
            (Request::CancelLakeSql, Ok(_)) => {}
            (request, result) => return Some(Answer { request, result }),
        }
        None
    }
}

fn answer(ui: &mut egui::Ui, table: &ResultTable) {
    ui.label(RichText::new(format!("{} rows", table.rows.len())).weak());
    if let Some((label, value)) = chart_columns(table) {
        let bars: Vec<Bar> = table
            .rows
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let v = match row.get(value) {
                    Some(Cell::Number(n)) => *n,
                    _ => 0.0,
                };
                let name = match row.get(label) {
                    Some(Cell::Text(t)) => t.clone(),
                    _ => String::new(),
                };
                Bar::new(i as f64, v).name(name)
            })
            .collect();
        Plot::new("lake_sql_chart")
            .height(140.0)
            .allow_drag(false)
            .allow_scroll(false)
            .show(ui, |plot| {
                plot.bar_chart(BarChart::new(table.columns[value].clone(), bars));
            });
    }
    egui::ScrollArea::both()
        .id_salt("lake_sql_rows")
        .max_height(240.0)
        .show(ui, |ui| {
            egui::Grid::new("lake_sql_table")
                .striped(true)
                .show(ui, |ui| {
                    for c in &table.columns {
                        ui.label(RichText::new(c).strong());
                    }
                    ui.end_row();
                    for row in table.rows.iter().take(1000) {
                        for (c, name) in row.iter().zip(&table.columns) {
                            ui.label(match c {
                                Cell::Number(n) => format_figure(name, *n),
                                Cell::Text(t) => t.clone(),
                                Cell::Null => "–".into(),
                            });
                        }
                        ui.end_row();
                    }
                });
        });
}
