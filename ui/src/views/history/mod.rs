//! The history view: Timestream history of a device's measure, aggregated on
//! the server to the chart's width, and a query editor that takes a Grafana
//! panel's SQL as it is. Offline, the cached answer is shown, marked. With
//! the local cache as the source, the chosen device's history is charted as
//! soon as the view opens.

mod chart;
mod variables;
mod view;

pub use chart::HistoryChart;
use gridwatch_types::{
    Cell, ChartRequest, ChartSeries, ErrorCode, HistoryQuery, HistoryResult, Reply, Request,
    ResultTable, TimestreamConnection,
};

use crate::backend::Answer;

pub const RANGES: [(&str, i64); 4] = [
    ("5 min", 300),
    ("1 h", 3_600),
    ("24 h", 86_400),
    ("7 d", 604_800),
];

/// What a chart was asked of: when any of it changes (a preset, the
/// device, the measure), the view asks again by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    pub source: Source,
    pub device: Option<String>,
    pub measure: String,
    /// The preset; 0 for a custom range (its fields are asked on Chart).
    pub range_s: i64,
}

/// A device picked in the history view: one, or the whole fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevicePick {
    Fleet,
    Device(String),
}

/// Where the history view reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The local cache: what this machine saw, offline too.
    Cache,
    Timestream,
    /// InfluxDB: Timestream for InfluxDB, where AWS sends new customers.
    Influx,
}

/// The query editor's first text for each remote source: a Grafana
/// panel's query in that source's language.
pub(crate) const TIMESTREAM_SQL: &str = "SELECT bin(time, $__interval_ms ms) AS t, avg(measure_value::double) AS avg\nFROM $__database.$__table\nWHERE measure_name = '$__measure' AND $__timeFilter\nGROUP BY 1 ORDER BY 1";
pub(crate) const INFLUXQL: &str = "SELECT mean(\"voltage_measure\") AS \"avg\" FROM \"readings\"\nWHERE $timeFilter\nGROUP BY time($__interval) fill(none)";

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
    /// The InfluxDB the Influx source reads.
    pub influx: gridwatch_types::InfluxConnection,
    pub result: Option<HistoryResult>,
    pub waiting: bool,
    /// Why the last request failed.
    pub error: Option<String>,
    /// What ended the last request without an error: "Cancelled.".
    pub note: Option<String>,
    /// What the chart on screen was asked of; the view asks again when the
    /// preset, device or measure changes.
    pub asked: Option<Asked>,
    /// The device picked here; None follows the device chosen in
    /// Operations.
    pub device: Option<DevicePick>,
    /// The time range the last chart was asked over, epoch seconds: the
    /// chart spans all of it, not only the readings it found.
    pub asked_range: Option<(f64, f64)>,
    /// Fit the chart's time axis to `asked_range` on the next frame.
    pub fit_pending: bool,
    /// What the chart showed on the last frame.
    pub shown: Option<crate::chart::Shown>,
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
    /// The template variables the SQL uses, with their pickers' options.
    pub variables: Vec<gridwatch_types::Variable>,
    pub variable_problems: Vec<String>,
    /// The SQL and definitions the variables were last asked for.
    pub variables_asked: Option<String>,
}

pub(crate) const SHOW_MEASURES: &str = "SHOW MEASURES FROM $__database.$__table";
pub(crate) const DESCRIBE: &str = "DESCRIBE $__database.$__table";

impl Default for History {
    fn default() -> Self {
        History {
            source: Source::Cache,
            connection: TimestreamConnection::default(),
            measure: "voltage".into(),
            range_s: 3_600,
            custom_from: String::new(),
            custom_to: String::new(),
            sql: TIMESTREAM_SQL.into(),
            max_bytes: "10000000000".into(),
            influx: gridwatch_types::InfluxConnection::default(),
            result: None,
            waiting: false,
            error: None,
            note: None,
            asked: None,
            device: None,
            asked_range: None,
            fit_pending: false,
            shown: None,
            saved: None,
            measures: Vec::new(),
            dimensions: Vec::new(),
            from_cache: false,
            chart: None,
            variables: Vec::new(),
            variable_problems: Vec::new(),
            variables_asked: None,
        }
    }
}

impl History {
    /// Takes a result: discovery answers fill the pickers, others are shown.
    pub fn take(&mut self, result: HistoryResult) {
        self.waiting = false;
        self.error = None;
        self.note = None;
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
            self.fit_pending = true;
        }
    }

    /// What the variables' options depend on: the SQL, and each
    /// variable's kind and definition.
    pub fn variables_signature(&self) -> String {
        let mut s = self.sql.clone();
        for v in &self.variables {
            s.push_str(&format!(
                "\u{0}{}\u{0}{:?}\u{0}{}",
                v.name, v.kind, v.definition
            ));
        }
        s
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
    pub(crate) fn query(
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
            variables: self.variables.clone(),
            range_label: (self.range_s > 0).then(|| format!("last {} s", self.range_s)),
            influx: (self.source == Source::Influx).then(|| {
                let c = &self.connection;
                self.influx.with_aws(&c.profile, &c.region, &c.endpoint_url)
            }),
        }
    }

    /// A chart from the local cache, shown like a Timestream answer: a
    /// row per pixel column with its time, average, minimum and maximum.
    pub fn take_cache(&mut self, chart: ChartSeries) {
        self.waiting = false;
        self.error = None;
        self.note = None;
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
        self.fit_pending = true;
    }

    /// The local cache's chart of `device`'s measure over `range`, `pixels`
    /// columns wide.
    pub(crate) fn cache_chart(
        &mut self,
        device: Option<&str>,
        (from_us, to_us): (i64, i64),
        pixels: u32,
    ) -> Request {
        self.waiting = true;
        self.asked = Some(self.asking(device));
        self.asked_range = Some((from_us as f64 / 1e6, to_us as f64 / 1e6));
        Request::Chart(ChartRequest {
            device_id: device.map(String::from),
            measure: self.measure.clone(),
            from_us,
            to_us,
            pixels,
        })
    }

    /// What a chart asked now would be asked of.
    pub(crate) fn asking(&self, device: Option<&str>) -> Asked {
        Asked {
            source: self.source,
            device: device.map(String::from),
            measure: self.measure.clone(),
            range_s: self.range_s,
        }
    }

    /// The device the view charts: the one picked here, else the one
    /// chosen in Operations.
    pub fn device<'a>(&'a self, model_selected: Option<&'a str>) -> Option<&'a str> {
        match &self.device {
            None => model_selected,
            Some(DevicePick::Fleet) => None,
            Some(DevicePick::Device(d)) => Some(d),
        }
    }

    /// Takes the answer to one of this view's requests; gives back what it
    /// leaves to the app.
    pub fn on_reply(&mut self, answer: Answer) -> Option<Answer> {
        match answer.result {
            Ok(Reply::History(result)) => self.take(result),
            Ok(Reply::Variables(found)) => self.take_variables(found),
            Ok(Reply::Chart(chart)) => self.take_cache(chart),
            Ok(Reply::Saved(saved)) => {
                if let Some(path) = saved.path {
                    self.saved = Some(path);
                }
            }
            // The operator stopped it: nothing went wrong.
            Err(e) if e.code == ErrorCode::Cancelled => {
                self.waiting = false;
                self.note = Some("Cancelled.".into());
            }
            Err(e) => {
                self.waiting = false;
                self.note = None;
                self.error = Some(e.message);
            }
            result => {
                return Some(Answer {
                    request: answer.request,
                    result,
                });
            }
        }
        None
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
