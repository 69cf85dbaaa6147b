//! Records as a wide table: one row per record, a column per dimension and
//! per measure, plus the time keys the views group by.

use std::collections::BTreeMap;

use gridwatch_core::codec::Record;
use gridwatch_core::time::{MICROS_PER_DAY, civil};
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

/// Epoch microseconds as `YYYY-MM-DD`.
pub fn format_date(us: i64) -> String {
    let c = civil(us);
    format!("{:04}-{:02}-{:02}", c.year, c.month, c.day)
}

/// Epoch microseconds as RFC 3339 UTC to the second.
pub fn format_datetime(us: i64) -> String {
    let c = civil(us);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

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

/// Writes a result table as CSV or Parquet.
pub fn write_table(
    table: &gridwatch_types::ResultTable,
    path: &std::path::Path,
    format: gridwatch_types::TableFormat,
) -> Result<(), crate::LakeError> {
    use gridwatch_types::{Cell, TableFormat};
    let io = crate::io_at(path);
    match format {
        TableFormat::Csv => {
            let cell = |c: &Cell| match c {
                Cell::Number(n) => n.to_string(),
                Cell::Null => String::new(),
                Cell::Text(t) if t.contains([',', '"', '\n', '\r']) => {
                    format!("\"{}\"", t.replace('"', "\"\""))
                }
                Cell::Text(t) => t.clone(),
            };
            let mut out = table.columns.join(",");
            out.push('\n');
            for row in &table.rows {
                out.push_str(&row.iter().map(cell).collect::<Vec<_>>().join(","));
                out.push('\n');
            }
            std::fs::write(path, out).map_err(io)
        }
        TableFormat::Parquet => {
            let mut cols = Vec::with_capacity(table.columns.len());
            for (i, name) in table.columns.iter().enumerate() {
                let cells: Vec<&Cell> = table
                    .rows
                    .iter()
                    .map(|r| r.get(i).unwrap_or(&Cell::Null))
                    .collect();
                let numeric = cells
                    .iter()
                    .all(|c| matches!(c, Cell::Number(_) | Cell::Null));
                cols.push(if numeric {
                    Column::new(
                        name.as_str().into(),
                        cells
                            .iter()
                            .map(|c| match c {
                                Cell::Number(n) => Some(*n),
                                _ => None,
                            })
                            .collect::<Vec<_>>(),
                    )
                } else {
                    Column::new(
                        name.as_str().into(),
                        cells
                            .iter()
                            .map(|c| match c {
                                Cell::Text(t) => Some(t.clone()),
                                Cell::Number(n) => Some(n.to_string()),
                                Cell::Null => None,
                            })
                            .collect::<Vec<_>>(),
                    )
                });
            }
            let mut df = DataFrame::new(table.rows.len(), cols)?;
            let file = std::fs::File::create(path).map_err(io)?;
            ParquetWriter::new(file).finish(&mut df)?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(d: &str, t: i64, m: &[(&str, f64)], dims: &[(&str, &str)]) -> Record {
        Record {
            device_id: d.into(),
            time_us: t,
            time_adjusted: false,
            measures: m.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            dimensions: dims
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn missing_columns_are_null_on_either_side() {
        let mut a = Columns::default();
        a.push(rec("m", 1, &[("watt", 1.0)], &[("Region", "n")]));
        a.push(rec("f", 2, &[("power_factor", 0.9)], &[]));
        let mut b = Columns::default();
        b.push(rec(
            "t",
            3,
            &[("oil_temperature", 50.0)],
            &[("Feeder", "F1")],
        ));
        a.append(b);
        assert_eq!(a.len(), 3);
        assert_eq!(a.measures["watt"], vec![Some(1.0), None, None]);
        assert_eq!(a.measures["oil_temperature"], vec![None, None, Some(50.0)]);
        assert_eq!(a.dims["Feeder"], vec![None, None, Some("F1".into())]);
        let df = a.into_frame().unwrap();
        assert_eq!(df.height(), 3);
    }

    #[test]
    fn weeks_start_on_monday() {
        // 2023-11-14 was a Tuesday; its week began Monday 2023-11-13.
        let tue = 1_699_920_000_000_000 + 3_600_000_000;
        assert_eq!(week_start(tue), 1_699_833_600_000_000);
    }
}
