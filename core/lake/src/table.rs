//! Records as a wide table: one row per record, a column per dimension and
//! per measure, plus the time keys the views group by; and the tables
//! Gridwatch shows and writes: a strategic [`view`] as a result table, and
//! one writer ([`Rows::write`]) for every table the app and the CLI put out.

use std::collections::BTreeMap;

use gridwatch_core::codec::Record;
use gridwatch_core::time::MICROS_PER_DAY;
use polars::prelude::*;

pub const TIME: &str = "time_us";
pub const DEVICE: &str = "device_id";
pub const HOUR: &str = "hour";
pub const DAY: &str = "day";
pub const WEEK: &str = "week";
pub const MONTH: &str = "month";
/// The 15-minute demand interval a reading falls in (its start, epoch µs).
pub const INTERVAL: &str = "interval";
pub const DEMAND_INTERVAL_US: i64 = 15 * 60 * 1_000_000;

/// Column-wise records, built one record at a time.
#[derive(Debug, Default)]
pub struct Columns {
    pub time_us: Vec<i64>,
    pub device_id: Vec<String>,
    pub dims: BTreeMap<String, Vec<Option<String>>>,
    pub measures: BTreeMap<String, Vec<Option<f64>>>,
}

impl Columns {
    pub fn len(&self) -> usize {
        self.time_us.len()
    }

    pub fn is_empty(&self) -> bool {
        self.time_us.is_empty()
    }

    /// Takes one record, moving its strings into the columns.
    pub fn push(&mut self, r: Record) {
        let n = self.len();
        self.time_us.push(r.time_us);
        self.device_id.push(r.device_id);
        for (k, v) in r.dimensions {
            let col = match self.dims.get_mut(&k) {
                Some(c) => c,
                None => self.dims.entry(k).or_insert_with(|| vec![None; n]),
            };
            if col.len() == n {
                col.push(Some(v));
            }
        }
        for (k, v) in r.measures {
            let col = match self.measures.get_mut(&k) {
                Some(c) => c,
                None => self.measures.entry(k).or_insert_with(|| vec![None; n]),
            };
            if col.len() == n {
                col.push(Some(v));
            }
        }
        // Columns this record does not have get a null.
        for col in self.dims.values_mut() {
            col.resize(n + 1, None);
        }
        for col in self.measures.values_mut() {
            col.resize(n + 1, None);
        }
    }

    /// Appends `other`'s rows; columns missing on either side are null.
    pub fn append(&mut self, other: Columns) {
        let n = self.len();
        let m = other.len();
        self.time_us.extend(other.time_us);
        self.device_id.extend(other.device_id);
        for (k, mut v) in other.dims {
            let col = self.dims.entry(k).or_insert_with(|| vec![None; n]);
            col.append(&mut v);
        }
        for (k, mut v) in other.measures {
            let col = self.measures.entry(k).or_insert_with(|| vec![None; n]);
            col.append(&mut v);
        }
        for col in self.dims.values_mut() {
            col.resize(n + m, None);
        }
        for col in self.measures.values_mut() {
            col.resize(n + m, None);
        }
    }

    /// The table, without time keys (what compaction stores).
    pub fn into_frame(self) -> PolarsResult<DataFrame> {
        let height = self.len();
        let mut cols = vec![
            Column::new(TIME.into(), self.time_us),
            Column::new(DEVICE.into(), self.device_id),
        ];
        for (k, v) in self.dims {
            cols.push(Column::new(k.as_str().into(), v));
        }
        for (k, v) in self.measures {
            cols.push(Column::new(k.as_str().into(), v));
        }
        DataFrame::new(height, cols)
    }
}

/// Monday of the week, as epoch microseconds.
pub fn week_start(us: i64) -> i64 {
    let days = us.div_euclid(MICROS_PER_DAY);
    // 1970-01-01 was a Thursday: three days after a Monday.
    (days - (days + 3).rem_euclid(7)) * MICROS_PER_DAY
}

/// `YYYY-MM-DD`, and RFC 3339 UTC to the second: one formatter for the
/// whole workspace, in the shared types.
pub use gridwatch_types::time::{format_date, format_seconds as format_datetime};

/// A view's frame as a table for people and files: time keys as dates,
/// months as `YYYY-MM`, `peak_at_us` as `peak_at`.
pub fn result_table(df: &DataFrame) -> PolarsResult<gridwatch_types::ResultTable> {
    use gridwatch_types::Cell;
    let columns: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| match n.as_str() {
            "peak_at_us" => "peak_at".to_string(),
            other => other.to_string(),
        })
        .collect();
    let mut rows = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let mut row = Vec::with_capacity(df.width());
        for c in df.columns() {
            let v = c.get(i)?;
            row.push(match (c.name().as_str(), v) {
                (_, AnyValue::Null) => Cell::Null,
                (DAY | WEEK, AnyValue::Int64(us)) => Cell::Text(format_date(us)),
                (HOUR | "peak_at_us", AnyValue::Int64(us)) => Cell::Text(format_datetime(us)),
                (MONTH, AnyValue::Int32(m)) => Cell::Text(format!("{:04}-{:02}", m / 100, m % 100)),
                (_, AnyValue::Int64(x)) => Cell::Number(x as f64),
                (_, AnyValue::Int32(x)) => Cell::Number(f64::from(x)),
                (_, AnyValue::UInt32(x)) => Cell::Number(f64::from(x)),
                (_, AnyValue::UInt64(x)) => Cell::Number(x as f64),
                (_, AnyValue::Float64(x)) => Cell::Number(x),
                (_, AnyValue::String(s)) => Cell::Text(s.to_owned()),
                (_, AnyValue::StringOwned(s)) => Cell::Text(s.to_string()),
                (_, other) => Cell::Text(other.to_string()),
            });
        }
        rows.push(row);
    }
    Ok(gridwatch_types::ResultTable {
        columns,
        rows,
        skipped: Vec::new(),
        lake_dir: String::new(),
    })
}

mod people;
mod view;
pub use people::for_people;
pub use view::{
    PER_TYPE_NOTE, View, ViewError, ViewOptions, energy_notes, view, view_observed, view_with,
};

/// How a table is written out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Aligned columns for people, escaped for a terminal.
    Table,
    /// One JSON array of objects.
    Json,
    /// RFC 4180 CSV with a header row.
    Csv,
    /// Apache Parquet.
    Parquet,
}

impl From<gridwatch_types::TableFormat> for OutputFormat {
    fn from(f: gridwatch_types::TableFormat) -> Self {
        match f {
            gridwatch_types::TableFormat::Csv => OutputFormat::Csv,
            gridwatch_types::TableFormat::Parquet => OutputFormat::Parquet,
        }
    }
}

/// Rows of named columns, each cell JSON, as every table Gridwatch writes
/// goes out: numbers stay numbers (integers integers) in JSON and Parquet
/// and print plainly elsewhere; Timestream's arrays stay arrays in JSON.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<serde_json::Value>>,
}

impl From<&gridwatch_types::ResultTable> for Rows {
    /// Whole numbers (within f64's exact integers) are written as integers.
    fn from(table: &gridwatch_types::ResultTable) -> Self {
        use gridwatch_types::Cell;
        use serde_json::{Value, json};
        Rows {
            columns: table.columns.clone(),
            rows: table
                .rows
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|c| match c {
                            Cell::Number(n) if n.fract() == 0.0 && n.abs() < 9e15 => {
                                json!(*n as i64)
                            }
                            Cell::Number(n) => json!(n),
                            Cell::Text(t) => json!(t),
                            Cell::Null => Value::Null,
                        })
                        .collect()
                })
                .collect(),
        }
    }
}

/// A cell as plain text: strings unquoted, null empty.
fn plain(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

impl Rows {
    /// The rows as a polars frame: a column of integers where every value
    /// is one, of numbers where every value is a number, text otherwise.
    fn frame(&self) -> PolarsResult<DataFrame> {
        use serde_json::Value;
        let mut cols = Vec::with_capacity(self.columns.len());
        for (i, name) in self.columns.iter().enumerate() {
            let values: Vec<&Value> = self
                .rows
                .iter()
                .map(|r| r.get(i).unwrap_or(&Value::Null))
                .collect();
            let mut non_null = values.iter().filter(|v| !v.is_null());
            let name = name.as_str().into();
            let col = if non_null.clone().all(|v| v.is_i64()) {
                Column::new(name, values.iter().map(|v| v.as_i64()).collect::<Vec<_>>())
            } else if non_null.all(|v| v.is_number()) {
                Column::new(name, values.iter().map(|v| v.as_f64()).collect::<Vec<_>>())
            } else {
                Column::new(
                    name,
                    values
                        .iter()
                        .map(|v| (!v.is_null()).then(|| plain(v)))
                        .collect::<Vec<_>>(),
                )
            };
            cols.push(col);
        }
        DataFrame::new(self.rows.len(), cols)
    }

    /// Writes the rows in `format`; I/O errors (a closed pipe) stay
    /// `std::io::Error`s, so the caller can tell them apart.
    pub fn write(&self, format: OutputFormat, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        match format {
            OutputFormat::Parquet => {
                let mut df = self.frame().map_err(std::io::Error::other)?;
                // Whole, then written: polars wants a seekable sink.
                let mut buf = Vec::new();
                ParquetWriter::new(&mut buf)
                    .finish(&mut df)
                    .map_err(std::io::Error::other)?;
                out.write_all(&buf)
            }
            OutputFormat::Json => {
                let items: Vec<serde_json::Value> = self
                    .rows
                    .iter()
                    .map(|row| {
                        serde_json::Value::Object(
                            self.columns
                                .iter()
                                .cloned()
                                .zip(row.iter().cloned())
                                .collect(),
                        )
                    })
                    .collect();
                serde_json::to_writer_pretty(&mut *out, &items)?;
                writeln!(out)
            }
            OutputFormat::Csv => {
                writeln!(out, "{}", self.columns.join(","))?;
                for row in &self.rows {
                    let cells: Vec<String> = row.iter().map(|v| csv_cell(&plain(v))).collect();
                    writeln!(out, "{}", cells.join(","))?;
                }
                Ok(())
            }
            OutputFormat::Table => {
                use gridwatch_core::codec::printable;
                // A table goes to a terminal: what came from the data may
                // hold escapes that would rewrite the operator's screen.
                let cells: Vec<Vec<String>> = self
                    .rows
                    .iter()
                    .map(|r| {
                        r.iter()
                            .map(|v| printable(&plain(v)).into_owned())
                            .collect()
                    })
                    .collect();
                let header: Vec<String> = self
                    .columns
                    .iter()
                    .map(|c| printable(c).into_owned())
                    .collect();
                let mut widths: Vec<usize> = self.columns.iter().map(|c| c.len()).collect();
                for row in &cells {
                    for (w, c) in widths.iter_mut().zip(row) {
                        *w = (*w).max(c.chars().count());
                    }
                }
                for row in std::iter::once(&header).chain(&cells) {
                    let padded: Vec<String> = row
                        .iter()
                        .zip(&widths)
                        .map(|(c, w)| format!("{c:<w$}"))
                        .collect();
                    writeln!(out, "{}", padded.join("  ").trim_end())?;
                }
                Ok(())
            }
        }
    }
}

/// Writes a result table to a file as CSV or Parquet (the app's exports),
/// through the same writer as the CLI's output: CSV for people (units
/// scaled, meaningful digits, as `--format csv` prints), Parquet whole.
pub fn write_table(
    table: &gridwatch_types::ResultTable,
    path: &std::path::Path,
    format: gridwatch_types::TableFormat,
) -> Result<(), crate::LakeError> {
    let io = crate::io_at(path);
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).map_err(&io)?);
    let format = OutputFormat::from(format);
    for_people(table, format)
        .write(format, &mut file)
        .map_err(&io)?;
    std::io::Write::flush(&mut file).map_err(io)
}

#[cfg(test)]
mod tests;
