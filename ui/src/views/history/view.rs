//! Drawing the history view: the source and range pickers, the buttons,
//! and the answer as a chart and a table.

use egui::RichText;
use gridwatch_types::{Cell, Request, TimestreamConnection};

use super::{DESCRIBE, DevicePick, History, RANGES, SHOW_MEASURES, Source};
use crate::backend::Outbox;
use crate::chart::{self, TimeChart};
use crate::format::{moment, short_id, table_number, unit};
use crate::model::Model;
use crate::theme;
use crate::widgets::{error_label, export_buttons, inline_field};

/// The most devices the device picker lists; the search narrows them.
const PICKER_DEVICES: usize = 500;

impl History {
    /// Draws the view. `now_us` is where ranges that end now end.
    pub fn show(&mut self, ui: &mut egui::Ui, model: &Model, now_us: i64, out: &mut Outbox) {
        let device = self.device(model.selected.as_deref()).map(String::from);
        let device = device.as_deref();
        ui.horizontal(|ui| {
            ui.heading("History");
            ui.selectable_value(&mut self.source, Source::Cache, "Local cache");
            ui.selectable_value(&mut self.source, Source::Timestream, "Timestream");
            ui.selectable_value(&mut self.source, Source::Influx, "InfluxDB");
            // The editor's first text follows the source's language.
            match (self.source, self.sql.as_str()) {
                (Source::Influx, super::TIMESTREAM_SQL) => self.sql = super::INFLUXQL.into(),
                (Source::Timestream, super::INFLUXQL) => self.sql = super::TIMESTREAM_SQL.into(),
                _ => {}
            }
            if self.source == Source::Influx {
                inline_field(ui, "InfluxDB URL", &mut self.influx.url, 200.0);
                inline_field(ui, "InfluxDB database", &mut self.influx.database, 110.0);
            }
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
            // InfluxDB meters nothing: no cap to keep, only a remote ask.
            Source::Influx => Ok(Some(i64::MAX)),
            Source::Cache => Ok(None),
        };
        // A newcomer sees the chosen device's history at once; and the
        // chart follows a change of preset, device or measure by itself.
        let now = self.asking(device);
        let first_look = self.source == Source::Cache && device.is_some() && self.asked.is_none();
        let changed = self
            .asked
            .as_ref()
            .is_some_and(|asked| *asked != now && (now.range_s > 0 || asked.range_s > 0));
        if (first_look || changed)
            && !self.waiting
            && let (Ok(range), Ok(cap)) = (&range, &cap)
        {
            out.push(self.chart_request(device, *range, width, *cap));
        }
        ui.horizontal(|ui| {
            self.device_picker(ui, model, device);
            self.measure_picker(ui, model, device);
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
        self.action_row(ui, device, &range, &cap, width, out);
        if !self.dimensions.is_empty() {
            ui.label(format!("Dimensions: {}", self.dimensions.join(", ")));
        }
        self.query_editor(ui, device, &range, &cap, width, out);
        if let Some(e) = &self.error {
            error_label(ui, e);
        }
        if let Some(note) = &self.note {
            ui.label(RichText::new(note).weak());
        }
        self.show_answer(ui, model, device, out);
    }

    /// Chart and Discover, with why they are greyed.
    fn action_row(
        &mut self,
        ui: &mut egui::Ui,
        device: Option<&str>,
        range: &Result<(i64, i64), String>,
        cap: &Result<Option<i64>, String>,
        width: u32,
        out: &mut Outbox,
    ) {
        ui.horizontal(|ui| {
            let ready = !self.waiting && range.is_ok() && cap.is_ok();
            let named = match self.source {
                Source::Influx => {
                    !self.influx.url.trim().is_empty() && !self.influx.database.trim().is_empty()
                }
                _ => {
                    !self.connection.database.trim().is_empty()
                        && !self.connection.table.trim().is_empty()
                }
            };
            let chartable = ready && (named || self.source == Source::Cache);
            if ui
                .add_enabled(chartable, egui::Button::new("Chart"))
                .clicked()
                && let (Ok(range), Ok(cap)) = (range, cap)
            {
                self.note = None;
                out.push(self.chart_request(device, *range, width, *cap));
            }
            if let Err(e) = range {
                error_label(ui, e);
            }
            if self.source == Source::Timestream {
                inline_field(ui, "Max bytes", &mut self.max_bytes, 110.0);
                if let Err(e) = cap {
                    error_label(ui, e);
                }
                if ui
                    .add_enabled(ready && named, egui::Button::new("Discover"))
                    .clicked()
                    && let (Ok(range), Ok(Some(cap))) = (range, cap)
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
                if !named {
                    // Why Chart and Discover are greyed, beside them.
                    ui.label(RichText::new("Name the Timestream database and table first").weak());
                }
            }
        });
    }

    /// The operator's SQL (Grafana's macros allowed), Run and Cancel.
    fn query_editor(
        &mut self,
        ui: &mut egui::Ui,
        device: Option<&str>,
        range: &Result<(i64, i64), String>,
        cap: &Result<Option<i64>, String>,
        width: u32,
        out: &mut Outbox,
    ) {
        let mut rerun = false;
        let remote = self.source != Source::Cache;
        if remote {
            let editor = ui
                .add(
                    egui::TextEdit::multiline(&mut self.sql)
                        .code_editor()
                        .desired_rows(4)
                        .desired_width(f32::INFINITY),
                )
                .accessible_name("Query");
            let edited = self.variable_pickers(ui);
            rerun = edited.selection;
            // The variables are asked for when the SQL or a definition is
            // left changed (not at each keystroke: a query variable costs
            // a Timestream query).
            let signature = self.variables_signature();
            let settled =
                editor.lost_focus() || edited.definitions || self.variables_asked.is_none();
            if settled
                && !editor.has_focus()
                && self.variables_asked.as_deref() != Some(signature.as_str())
                && let (Ok(range), Ok(Some(cap))) = (range, cap)
            {
                self.variables_asked = Some(signature);
                out.push(Request::HistoryVariables(self.query(
                    device.map(String::from),
                    Some(self.sql.clone()),
                    width,
                    *range,
                    *cap,
                )));
            }
        }
        // The query's macros need what they stand for: say so beside the
        // greyed button, in the view's words (not the CLI's flags).
        let uses = |m: &str, v: &str| {
            self.source == Source::Timestream && self.sql.contains(m) && v.trim().is_empty()
        };
        let missing = if uses("$__database", &self.connection.database) {
            Some("the query uses $__database: name the Timestream database above")
        } else if uses("$__table", &self.connection.table) {
            Some("the query uses $__table: name the Timestream table above")
        } else {
            None
        };
        ui.horizontal(|ui| {
            if remote
                && (ui
                    .add_enabled(
                        !self.waiting && range.is_ok() && cap.is_ok() && missing.is_none(),
                        egui::Button::new("Run query"),
                    )
                    .clicked()
                    | (rerun && !self.waiting && missing.is_none()))
                && let (Ok(range), Ok(Some(cap))) = (range, cap)
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
            if let Some(why) = missing {
                ui.label(RichText::new(why).weak());
            }
        });
    }

    /// The answer: export, where it came from, the chart and the table.
    fn show_answer(
        &mut self,
        ui: &mut egui::Ui,
        model: &Model,
        device: Option<&str>,
        out: &mut Outbox,
    ) {
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
            // The whole range asked, not only the readings found in it.
            let whole = self.asked_range.unwrap_or(chart.span);
            let fit_x = std::mem::take(&mut self.fit_pending).then_some(whole);
            let measure = self.measure.clone();
            let shown = chart::show(
                ui,
                TimeChart {
                    id: egui::Id::unique("history_chart"),
                    name: &measure,
                    unit: unit(&measure),
                    height: 220.0,
                    link: None,
                    clock: model.clock,
                    span: Some(chart.span),
                    fit_x,
                    interval_s: chart.interval_s,
                    color: theme::LINE,
                },
                |range, pixels| {
                    let (lo, hi) = range.unwrap_or(chart.span);
                    chart.pyramid.view(&chart.points, lo, hi, pixels)
                },
            );
            if shown.reset {
                self.fit_pending = true;
            }
            self.shown = Some(shown);
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
                                Cell::Number(n) => table_number(*n),
                                Cell::Text(t) => match crate::clock::parse_utc(t) {
                                    Some(at) => moment(at, model.clock),
                                    None => t.clone(),
                                },
                                Cell::Null => "–".into(),
                            });
                        }
                        ui.end_row();
                    }
                });
        });
    }
}

impl History {
    /// A chart of the measure over `range`: from the cache, or (with a cap)
    /// aggregated by Timestream.
    fn chart_request(
        &mut self,
        device: Option<&str>,
        range: (i64, i64),
        width: u32,
        cap: Option<i64>,
    ) -> Request {
        match cap {
            None => self.cache_chart(device, range, width),
            Some(cap) => {
                self.waiting = true;
                self.asked = Some(self.asking(device));
                self.asked_range = Some((range.0 as f64 / 1e6, range.1 as f64 / 1e6));
                Request::History(self.query(device.map(String::from), None, width, range, cap))
            }
        }
    }

    /// The device to chart: the whole fleet, or one of the devices seen.
    fn device_picker(&mut self, ui: &mut egui::Ui, model: &Model, device: Option<&str>) {
        let mut pick = None;
        egui::ComboBox::from_id_salt("history_device")
            .selected_text(device.map_or("the whole fleet".to_string(), |d| short_id(d).to_owned()))
            .height(320.0)
            .show_ui(ui, |ui| {
                if ui
                    .selectable_label(device.is_none(), "the whole fleet")
                    .clicked()
                {
                    pick = Some(DevicePick::Fleet);
                }
                for id in model.devices.keys().take(PICKER_DEVICES) {
                    if ui
                        .selectable_label(device == Some(id.as_str()), short_id(id))
                        .on_hover_text(id.as_str())
                        .clicked()
                    {
                        pick = Some(DevicePick::Device(id.clone()));
                    }
                }
            })
            .response
            .accessible_name("Device");
        if pick.is_some() {
            self.device = pick;
        }
    }

    /// The measure: one of those Timestream discovered, or that the device
    /// (the fleet) reports.
    fn measure_picker(&mut self, ui: &mut egui::Ui, model: &Model, device: Option<&str>) {
        let mut names: Vec<String> =
            if self.source == Source::Timestream && !self.measures.is_empty() {
                self.measures
                    .iter()
                    .map(|m| m.strip_suffix("_measure").unwrap_or(m).to_owned())
                    .collect()
            } else {
                match device
                    .and_then(|d| model.devices.get(d))
                    .and_then(|r| r.latest.as_ref())
                {
                    Some(l) => l.values.iter().map(|v| v.measure.clone()).collect(),
                    None => model.readings_by_measure.keys().cloned().collect(),
                }
            };
        if !names.contains(&self.measure) {
            names.push(self.measure.clone());
        }
        egui::ComboBox::from_label("Measure")
            .selected_text(self.measure.as_str())
            .show_ui(ui, |ui| {
                for m in names {
                    let label = m.clone();
                    ui.selectable_value(&mut self.measure, m, label);
                }
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
        Source::Influx => {
            "Name the InfluxDB URL and database above (or in Connections…), then Run query \
             (InfluxQL, Grafana's macros) or Chart the measure."
        }
        Source::Cache if device => "Chart the measure over the range.",
        Source::Cache => {
            "No device chosen: Chart shows the whole fleet. Choose a device in Operations to \
             chart its history."
        }
    };
    ui.label(RichText::new(hint).weak());
}
