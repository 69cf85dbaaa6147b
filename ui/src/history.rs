//! The history view: Timestream history of a device's measure, aggregated on
//! the server to the chart's width, and a query editor that takes a Grafana
//! panel's SQL as it is. Offline, the cached answer is shown, marked.

use egui::{Color32, RichText};
use egui_plot::{Line, Plot, PlotPoints};
use gridwatch_types::{
    Cell, ChartRequest, ChartSeries, HistoryQuery, HistoryResult, ResultTable, TimestreamConnection,
};

use crate::backend::Request;

pub const RANGES: [(&str, i64); 4] = [
    ("5 min", 300),
    ("1 h", 3_600),
    ("24 h", 86_400),
    ("7 d", 604_800),
];

/// Where the history view reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The local cache: what this machine saw, offline too.
    Cache,
    Timestream,
}

#[derive(Debug)]
pub struct History {
    pub source: Source,
    pub connection: TimestreamConnection,
    pub measure: String,
    /// The range ending now, in seconds; 0 for the custom range below.
    pub range_s: i64,
    /// The custom range, UTC (`2026-11-26 08:00`).
    pub custom_from: String,
    pub custom_to: String,
    pub sql: String,
    pub max_bytes: String,
    pub result: Option<HistoryResult>,
    pub waiting: bool,
    pub error: Option<String>,
    /// Where the last export went.
    pub saved: Option<String>,
    /// What `SHOW MEASURES` and `DESCRIBE` found, for the pickers.
    pub measures: Vec<String>,
    pub dimensions: Vec<String>,
    /// The result shown came from the local cache.
    pub from_cache: bool,
    /// The result as a chart, parsed once (an answer can hold millions of
    /// rows; each frame draws a few points per pixel of it).
    pub chart: Option<HistoryChart>,
}

/// A result's first time column against its first number column.
#[derive(Debug)]
pub struct HistoryChart {
    pub points: Vec<[f64; 2]>,
    pyramid: crate::decimate::MinMaxPyramid,
    span: (f64, f64),
}

impl HistoryChart {
    /// None when the result has no time and number columns to chart.
    pub fn of(result: &HistoryResult) -> Option<HistoryChart> {
        let mut points: Vec<[f64; 2]> = result
            .table
            .rows
            .iter()
            .filter_map(|r| {
                let t = match r.first()? {
                    Cell::Text(t) => crate::clock::parse_utc(t)?,
                    _ => return None,
                };
                let v = r.iter().skip(1).find_map(|c| match c {
                    Cell::Number(n) => Some(*n),
                    _ => None,
                })?;
                Some([t, v])
            })
            .collect();
        if points.is_empty() {
            return None;
        }
        // The operator's SQL may not order by time; the chart needs it.
        points.sort_by(|a, b| a[0].total_cmp(&b[0]));
        let span = (points[0][0], points[points.len() - 1][0]);
        Some(HistoryChart {
            pyramid: crate::decimate::MinMaxPyramid::new(&points),
            points,
            span,
        })
    }
}

const SHOW_MEASURES: &str = "SHOW MEASURES FROM $__database.$__table";
const DESCRIBE: &str = "DESCRIBE $__database.$__table";

impl Default for History {
    fn default() -> Self {
        History {
            source: Source::Cache,
            connection: TimestreamConnection::default(),
            measure: "voltage".into(),
            range_s: 3_600,
            custom_from: String::new(),
            custom_to: String::new(),
            sql: "SELECT bin(time, $__interval_ms ms) AS t, avg(measure_value::double) AS avg\nFROM $__database.$__table\nWHERE measure_name = '$__measure' AND $__timeFilter\nGROUP BY 1 ORDER BY 1".into(),
            max_bytes: "10000000000".into(),
            result: None,
            waiting: false,
            error: None,
            saved: None,
            measures: Vec::new(),
            dimensions: Vec::new(),
            from_cache: false,
            chart: None,
        }
    }
}

fn text(ui: &mut egui::Ui, name: &str, value: &mut String, width: f32) {
    ui.label(name);
    ui.add(egui::TextEdit::singleline(value).desired_width(width))
        .accessible_name(name);
}

impl History {
    /// Takes a result: discovery answers fill the pickers, others are shown.
    pub fn take(&mut self, result: HistoryResult) {
        self.waiting = false;
        self.error = None;
        let first_column = |r: &HistoryResult| -> Vec<String> {
            r.table
                .rows
                .iter()
                .filter_map(|row| match row.first() {
                    Some(Cell::Text(t)) => Some(t.clone()),
                    _ => None,
                })
                .collect()
        };
        if result.sql.starts_with("SHOW MEASURES") {
            self.measures = first_column(&result);
        } else if result.sql.starts_with("DESCRIBE") {
            // Dimensions are the VARCHAR columns Timestream marks DIMENSION.
            self.dimensions = result
                .table
                .rows
                .iter()
                .filter(|row| {
                    row.iter()
                        .any(|c| matches!(c, Cell::Text(t) if t == "DIMENSION"))
                })
                .filter_map(|row| match row.first() {
                    Some(Cell::Text(t)) => Some(t.clone()),
                    _ => None,
                })
                .collect();
        } else {
            self.chart = HistoryChart::of(&result);
            self.result = Some(result);
            self.from_cache = false;
        }
    }

    /// The chosen range in epoch microseconds, or what is wrong with the
    /// custom one.
    pub fn range_us(&self, now_us: i64) -> Result<(i64, i64), String> {
        if self.range_s > 0 {
            return Ok((now_us - self.range_s * 1_000_000, now_us));
        }
        let parse = |name: &str, text: &str| {
            crate::clock::parse_utc(text)
                .map(|s| (s * 1e6) as i64)
                .ok_or_else(|| format!("{name} {text:?} is not a UTC time like 2026-11-26 08:00"))
        };
        let from = parse("From", &self.custom_from)?;
        let to = parse("To", &self.custom_to)?;
        if to <= from {
            return Err("the range must end after it starts".into());
        }
        Ok((from, to))
    }

    /// The cap on the bytes a query may meter, or what is wrong with the
    /// field. Never "no cap" by accident: a typo used to drop the cap.
    pub fn max_bytes(&self) -> Result<i64, String> {
        let text = self.max_bytes.trim();
        let wrong =
            || format!("Max bytes {text:?} is not a number of bytes: e.g. 10000000000 or 1e10");
        if text.is_empty() {
            return Err("give Max bytes, the most a query may meter: e.g. 10000000000".into());
        }
        let bytes = match text.parse::<i64>() {
            Ok(n) => n,
            // 1e10, 2.5e9: whole numbers of bytes only.
            Err(_) => match text.parse::<f64>() {
                Ok(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.2e18 => f as i64,
                _ => return Err(wrong()),
            },
        };
        if bytes <= 0 {
            return Err(format!("Max bytes must be more than zero, not {text}"));
        }
        Ok(bytes)
    }

    /// A Timestream query over the chosen range and under the cap (both
    /// checked by the caller).
    fn query(
        &self,
        device: Option<String>,
        sql: Option<String>,
        pixels: u32,
        (from_us, to_us): (i64, i64),
        max_bytes: i64,
    ) -> HistoryQuery {
        HistoryQuery {
            connection: self.connection.clone(),
            sql,
            device,
            measure: self.measure.clone(),
            from_us,
            to_us,
            pixels,
            max_bytes: Some(max_bytes),
        }
    }

    /// A chart from the local cache, shown like a Timestream answer: a
    /// row per pixel column with its time, average, minimum and maximum.
    pub fn take_cache(&mut self, chart: ChartSeries) {
        self.waiting = false;
        self.error = None;
        let table = ResultTable {
            columns: ["time", "avg", "min", "max", "readings"]
                .map(String::from)
                .to_vec(),
            rows: chart
                .columns
                .iter()
                .map(|c| {
                    vec![
                        Cell::Text(crate::clock::format_utc(c.first_us)),
                        Cell::Number(c.sum / c.count as f64),
                        Cell::Number(c.min),
                        Cell::Number(c.max),
                        Cell::Number(c.count as f64),
                    ]
                })
                .collect(),
            skipped: Vec::new(),
            lake_dir: String::new(),
        };
        let result = HistoryResult {
            table,
            sql: String::new(),
            bytes_scanned: 0,
            bytes_metered: 0,
            cached_at_us: None,
        };
        self.chart = HistoryChart::of(&result);
        self.result = Some(result);
        self.from_cache = true;
    }

    /// Draws the view; returns the requests it wants sent.
    pub fn show(&mut self, ui: &mut egui::Ui, device: Option<&str>, now_us: i64) -> Vec<Request> {
        let mut out = Vec::new();
        ui.horizontal(|ui| {
            ui.heading("History");
            ui.selectable_value(&mut self.source, Source::Cache, "Local cache");
            ui.selectable_value(&mut self.source, Source::Timestream, "Timestream");
            if self.source == Source::Timestream {
                text(ui, "Database", &mut self.connection.database, 110.0);
                text(ui, "Table", &mut self.connection.table, 110.0);
                let mut endpoint = self.connection.endpoint_url.clone().unwrap_or_default();
                text(ui, "Endpoint URL", &mut endpoint, 170.0);
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
        ui.horizontal(|ui| {
            ui.label(format!("Device: {}", device.unwrap_or("the whole fleet")));
            text(ui, "Measure", &mut self.measure, 90.0);
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
                text(ui, "From", &mut self.custom_from, 150.0);
                text(ui, "To", &mut self.custom_to, 150.0);
            }
        });
        ui.horizontal(|ui| {
            let ready = !self.waiting && range.is_ok() && cap.is_ok();
            if ui.add_enabled(ready, egui::Button::new("Chart")).clicked()
                && let (Ok(range), Ok(cap)) = (&range, &cap)
            {
                self.waiting = true;
                // A cap is there exactly when the source is Timestream.
                out.push(match *cap {
                    None => Request::HistoryFromCache(ChartRequest {
                        device_id: device.map(String::from),
                        measure: self.measure.clone(),
                        from_us: range.0,
                        to_us: range.1,
                        pixels: width,
                    }),
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
                crate::app::error_label(ui, e);
            }
            if self.source == Source::Timestream {
                text(ui, "Max bytes", &mut self.max_bytes, 110.0);
                if let Err(e) = &cap {
                    crate::app::error_label(ui, e);
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
            crate::app::error_label(ui, e);
        }
        let Some(result) = &self.result else {
            return out;
        };
        ui.horizontal(|ui| {
            out.extend(crate::export::export_buttons(ui, "history", || {
                result.table.clone()
            }));
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
                        .background_color(Color32::from_rgb(120, 80, 0))
                        .color(Color32::WHITE),
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
                .x_axis_formatter(crate::app::time_axis)
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
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_bytes_is_a_positive_whole_number_or_an_error() {
        let cap = |text: &str| {
            History {
                max_bytes: text.into(),
                ..History::default()
            }
            .max_bytes()
        };
        assert_eq!(cap("10000000000"), Ok(10_000_000_000));
        assert_eq!(cap(" 1e9 "), Ok(1_000_000_000));
        assert_eq!(cap("2.5e9"), Ok(2_500_000_000));
        assert_eq!(
            cap("1e9x"),
            Err("Max bytes \"1e9x\" is not a number of bytes: e.g. 10000000000 or 1e10".into())
        );
        assert!(cap("").unwrap_err().starts_with("give Max bytes"));
        assert!(cap("0").is_err());
        assert!(cap("-5").is_err());
        assert!(cap("1.5").is_err());
        assert!(cap("1e30").is_err());
        assert!(cap("NaN").is_err());
    }

    #[test]
    fn the_cache_history_shows_each_columns_mean_and_extremes() {
        let mut h = History::default();
        h.take_cache(ChartSeries {
            device_id: Some("m1".into()),
            measure: "watt".into(),
            columns: vec![gridwatch_types::ChartColumn {
                first_us: 1_772_409_600_000_000,
                last_us: 1_772_409_601_000_000,
                min: 1.0,
                max: 9.0,
                sum: 12.0,
                count: 4,
            }],
        });
        let table = &h.result.as_ref().unwrap().table;
        assert_eq!(table.columns, ["time", "avg", "min", "max", "readings"]);
        // The mean of 1, 1, 1 and 9, not the midpoint of 1 and 9.
        assert_eq!(
            table.rows[0][1..],
            [
                Cell::Number(3.0),
                Cell::Number(1.0),
                Cell::Number(9.0),
                Cell::Number(4.0)
            ]
        );
        assert!(h.from_cache);
    }

    #[test]
    fn a_large_answer_is_parsed_once_sorted_and_drawn_a_few_points_a_pixel() {
        let base = 1_772_409_600_000_000_i64;
        // 200,000 rows, newest first, as an ORDER BY ... DESC would give.
        let rows: Vec<Vec<Cell>> = (0..200_000i64)
            .rev()
            .map(|i| {
                let v = if i == 123_456 { 999.0 } else { (i % 10) as f64 };
                vec![
                    Cell::Text(crate::clock::format_utc(base + i * 1_000_000)),
                    Cell::Number(v),
                ]
            })
            .collect();
        let result = HistoryResult {
            table: ResultTable {
                columns: vec!["t".into(), "v".into()],
                rows,
                skipped: Vec::new(),
                lake_dir: String::new(),
            },
            sql: "SELECT …".into(),
            bytes_scanned: 0,
            bytes_metered: 0,
            cached_at_us: None,
        };
        let chart = HistoryChart::of(&result).unwrap();
        assert_eq!(chart.points.len(), 200_000);
        assert!(
            chart.points.windows(2).all(|w| w[0][0] < w[1][0]),
            "time order"
        );
        let shown = chart
            .pyramid
            .view(&chart.points, chart.span.0, chart.span.1, 600);
        assert!(shown.len() <= 2 * 601, "{}", shown.len());
        let spike = (base + 123_456 * 1_000_000) as f64 / 1e6;
        assert!(shown.contains(&[spike, 999.0]), "the spike is drawn");
    }
}
