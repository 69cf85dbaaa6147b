//! Drawing the history view: the source and range pickers, the buttons,
//! and the answer as a chart and a table.

use egui::RichText;
use egui_plot::{Line, Plot, PlotPoints};
use gridwatch_types::{Cell, Request, TimestreamConnection};

use super::{DESCRIBE, History, RANGES, SHOW_MEASURES, Source};
use crate::backend::Outbox;
use crate::format::time_axis;
use crate::model::Model;
use crate::theme;
use crate::widgets::{error_label, export_buttons, inline_field};

impl History {
    /// Draws the view. `now_us` is where ranges that end now end.
    pub fn show(&mut self, ui: &mut egui::Ui, model: &Model, now_us: i64, out: &mut Outbox) {
        let device = model.selected.as_deref();
        ui.horizontal(|ui| {
            ui.heading("History");
            ui.selectable_value(&mut self.source, Source::Cache, "Local cache");
            ui.selectable_value(&mut self.source, Source::Timestream, "Timestream");
            if self.source == Source::Timestream {
                inline_field(ui, "Database", &mut self.connection.database, 110.0);
                inline_field(ui, "Table", &mut self.connection.table, 110.0);
                let mut endpoint = self.connection.endpoint_url.clone().unwrap_or_default();
                inline_field(ui, "Endpoint URL", &mut endpoint, 170.0);
                self.connection.endpoint_url =
                    (!endpoint.trim().is_empty()).then(|| endpoint.trim().to_owned());
            }
        });
        let width = ui.available_width().max(100.0) as u32;
        let range = self.range_us(now_us);
        // Only Timestream queries meter bytes; the cache needs no cap.
        let cap = match self.source {
            Source::Timestream => self.max_bytes().map(Some),
            Source::Cache => Ok(None),
        };
        // A newcomer sees the chosen device's history at once, and again
        // when another device is chosen.
        if self.source == Source::Cache
            && device.is_some()
            && self.charted_device.as_deref() != device
            && !self.waiting
            && let Ok(range) = &range
        {
            out.push(self.cache_chart(device, *range, width));
        }
        ui.horizontal(|ui| {
            ui.label(format!("Device: {}", device.unwrap_or("the whole fleet")));
            inline_field(ui, "Measure", &mut self.measure, 90.0);
            for (label, secs) in RANGES {
                ui.selectable_value(&mut self.range_s, secs, label);
            }
            if ui.selectable_label(self.range_s == 0, "Custom").clicked() && self.range_s > 0 {
                // Start the custom range from the one that was chosen.
                let from = now_us - self.range_s * 1_000_000;
                self.custom_from = crate::clock::format_utc(from);
                self.custom_to = crate::clock::format_utc(now_us);
                self.range_s = 0;
            }
            if self.range_s == 0 {
                inline_field(ui, "From", &mut self.custom_from, 150.0);
                inline_field(ui, "To", &mut self.custom_to, 150.0);
            }
        });
        ui.horizontal(|ui| {
            let ready = !self.waiting && range.is_ok() && cap.is_ok();
            if ui.add_enabled(ready, egui::Button::new("Chart")).clicked()
                && let (Ok(range), Ok(cap)) = (&range, &cap)
            {
                self.waiting = true;
                self.note = None;
                // A cap is there exactly when the source is Timestream.
                out.push(match *cap {
                    None => self.cache_chart(device, *range, width),
                    Some(cap) => Request::History(self.query(
                        device.map(String::from),
                        None,
                        width,
                        *range,
                        cap,
                    )),
                });
            }
            if let Err(e) = &range {
                error_label(ui, e);
            }
            if self.source == Source::Timestream {
                inline_field(ui, "Max bytes", &mut self.max_bytes, 110.0);
                if let Err(e) = &cap {
                    error_label(ui, e);
                }
                if ui
                    .add_enabled(ready, egui::Button::new("Discover"))
                    .clicked()
                    && let (Ok(range), Ok(Some(cap))) = (&range, &cap)
                {
                    for sql in [SHOW_MEASURES, DESCRIBE] {
                        out.push(Request::History(self.query(
                            None,
                            Some(sql.into()),
                            width,
                            *range,
                            *cap,
                        )));
                    }
                }
            }
        });
        if !self.measures.is_empty() {
            ui.horizontal_wrapped(|ui| {
                ui.label("Measures:");
                for m in &self.measures {
                    let name = m.strip_suffix("_measure").unwrap_or(m).to_owned();
                    ui.selectable_value(&mut self.measure, name.clone(), m.as_str());
                }
            });
        }
        if !self.dimensions.is_empty() {
            ui.label(format!("Dimensions: {}", self.dimensions.join(", ")));
        }
        if self.source == Source::Timestream {
            ui.add(
                egui::TextEdit::multiline(&mut self.sql)
                    .code_editor()
                    .desired_rows(4)
                    .desired_width(f32::INFINITY),
            )
            .accessible_name("Query");
        }
        ui.horizontal(|ui| {
            if self.source == Source::Timestream
                && ui
                    .add_enabled(
                        !self.waiting && range.is_ok() && cap.is_ok(),
                        egui::Button::new("Run query"),
                    )
                    .clicked()
                && let (Ok(range), Ok(Some(cap))) = (&range, &cap)
            {
                self.waiting = true;
                out.push(Request::History(self.query(
                    device.map(String::from),
                    Some(self.sql.clone()),
                    width,
                    *range,
                    *cap,
                )));
            }
            if ui
                .add_enabled(self.waiting, egui::Button::new("Cancel"))
                .clicked()
            {
                out.push(Request::CancelHistory);
                self.waiting = false;
            }
            if self.waiting {
                ui.spinner();
            }
        });
        if let Some(e) = &self.error {
            error_label(ui, e);
        }
        if let Some(note) = &self.note {
            ui.label(RichText::new(note).weak());
        }
        let Some(result) = &self.result else {
            if !self.waiting && self.error.is_none() {
                empty_state(ui, self.source, &self.connection, device.is_some());
            }
            return;
        };
        ui.horizontal(|ui| {
            out.extend(export_buttons(ui, "history", || result.table.clone()));
            if let Some(path) = &self.saved {
                ui.label(RichText::new(format!("Saved to {path}")).weak());
            }
            match result.cached_at_us {
                _ if self.from_cache => {
                    ui.label(format!(
                        "{} columns from the local cache",
                        result.table.rows.len()
                    ));
                }
                Some(at) => {
                    ui.label(
                        RichText::new(format!(
                            " CACHED, fetched {} ",
                            crate::clock::format_utc(at)
                        ))
                        .background_color(theme::CACHED)
                        .color(egui::Color32::WHITE),
                    );
                }
                None => {
                    ui.label(format!(
                        "{} rows · {} bytes scanned · {} bytes metered",
                        result.table.rows.len(),
                        result.bytes_scanned,
                        result.bytes_metered
                    ));
                }
            }
        });
        if !result.table.skipped.is_empty() {
            // Values Timestream sent that could not be read (out of range,
            // malformed): shown as –, and said here.
            ui.label(
                RichText::new(format!(
                    "Some values could not be read and are shown as –: {}",
                    result.table.skipped.join("; ")
                ))
                .weak(),
            );
        }
        // A chart when the first column is a time and another is a number.
        if let Some(chart) = &self.chart {
            let pixels = (ui.available_width() * ui.ctx().pixels_per_point()) as usize;
            Plot::new("history_chart")
                .height(220.0)
                .x_axis_formatter(time_axis)
                .show(ui, |plot| {
                    // Auto-fitting: the whole answer is in view; otherwise
                    // what the operator zoomed to.
                    let (lo, hi) = if plot.auto_bounds().x {
                        chart.span
                    } else {
                        let b = plot.plot_bounds();
                        (b.min()[0], b.max()[0])
                    };
                    let shown = chart.pyramid.view(&chart.points, lo, hi, pixels);
                    plot.line(Line::new(self.measure.clone(), PlotPoints::from(shown)));
                });
        }
        egui::ScrollArea::both().show(ui, |ui| {
            egui::Grid::new("history_table")
                .striped(true)
                .show(ui, |ui| {
                    for c in &result.table.columns {
                        ui.label(RichText::new(c).strong());
                    }
                    ui.end_row();
                    for row in result.table.rows.iter().take(2_000) {
                        for c in row {
                            ui.label(match c {
                                Cell::Number(n) => format!("{n}"),
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

/// What to do when there is nothing to show yet.
fn empty_state(ui: &mut egui::Ui, source: Source, connection: &TimestreamConnection, device: bool) {
    let hint = match source {
        Source::Timestream
            if connection.database.trim().is_empty() || connection.table.trim().is_empty() =>
        {
            "No Timestream connection yet: name the database and table above (or in \
             Connections…), then Run query."
        }
        Source::Timestream => "Run query, or Chart the measure over the range.",
        Source::Cache if device => "Chart the measure over the range.",
        Source::Cache => {
            "No device chosen: Chart shows the whole fleet. Choose a device in Operations to \
             chart its history."
        }
    };
    ui.label(RichText::new(hint).weak());
}
