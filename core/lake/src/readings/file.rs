//! One file's readings: JSON or Parquet decoded into columns with the
//! file's own dictionaries, only the rows the query keeps, the same rules
//! for both (what the wire decoder refuses, a Parquet row cannot carry).
//! Files decode in parallel like this, then join the range's dictionaries.

use std::path::Path;

use polars::prelude::*;

use super::{
    ABSENT, Batch, Dictionary, ENERGY, MEASURES, ReadingsQuery, VOLTAGE, WATT, dimension_column,
};
use crate::extract::{self, BadLine, ExtractError};
use crate::table::{DEVICE, TIME};
use crate::{LakeError, io_at};

/// One file's readings with its own dictionaries, before they join the
/// range's.
#[derive(Default)]
pub(super) struct FileReadings {
    pub(super) rows: Batch,
    pub(super) devices: Dictionary,
    pub(super) dim_names: Vec<String>,
    pub(super) dim_values: Vec<Dictionary>,
    pub(super) measures_seen: [bool; 3],
    /// Every measure name seen, when the query asks for them.
    pub(super) measure_names: std::collections::BTreeSet<String>,
    pub(super) records: usize,
    pub(super) bad: Vec<BadLine>,
}

/// Decides, record by record, which rows a query keeps.
pub(super) struct Keep<'q> {
    query: &'q ReadingsQuery,
    filters: Vec<(String, &'q str)>,
    devices: foldhash::HashSet<&'q str>,
    /// Measures kept beside the three, in the order of `Batch::extra`.
    extra: &'q [String],
}

impl<'q> Keep<'q> {
    pub(super) fn new(query: &'q ReadingsQuery) -> Self {
        Keep {
            query,
            filters: query
                .filters
                .iter()
                .map(|(k, v)| (dimension_column(k), v.as_str()))
                .collect(),
            devices: query.devices.iter().map(String::as_str).collect(),
            extra: &query.measures,
        }
    }

    fn keeps<'a>(&self, time_us: i64, device: &str, dim: impl Fn(&str) -> Option<&'a str>) -> bool {
        time_us >= self.query.from_us
            && time_us < self.query.to_us
            && (self.devices.is_empty() || self.devices.contains(device))
            && self.filters.iter().all(|(k, v)| {
                if k == DEVICE {
                    device == *v
                } else {
                    dim(k) == Some(*v)
                }
            })
    }
}

impl FileReadings {
    fn dim_index(&mut self, name: &str) -> usize {
        if let Some(i) = self.dim_names.iter().position(|n| n == name) {
            return i;
        }
        self.dim_names.push(name.to_owned());
        self.dim_values.push(Dictionary::default());
        self.rows.dims.push(vec![ABSENT; self.rows.len()]);
        self.dim_names.len() - 1
    }

    /// Sets dimension `dim` of the row being added (row `self.rows.len()`).
    /// Call before [`Self::end_row`]; a dimension not set stays absent.
    fn set_dim(&mut self, dim: usize, value: &str) {
        let n = self.rows.len();
        let code = self.dim_values[dim].code(value);
        let col = &mut self.rows.dims[dim];
        // Names are unique within a record (the decoder refuses a key given
        // twice), so this holds; it keeps the columns aligned.
        if col.len() == n {
            col.push(code);
        }
    }

    fn new(keep: &Keep<'_>) -> Self {
        FileReadings {
            rows: Batch::with_columns(0, keep.extra.len()),
            ..FileReadings::default()
        }
    }

    /// Completes the row being added.
    fn end_row(&mut self, time_us: i64, device: &str, measures: [f64; 3], extra: &[f64]) {
        let n = self.rows.len();
        for col in &mut self.rows.dims {
            if col.len() == n {
                col.push(ABSENT);
            }
        }
        self.rows.time_us.push(time_us);
        let d = self.devices.code(device);
        self.rows.device.push(d);
        self.rows.watt.push(measures[0]);
        self.rows.energy.push(measures[1]);
        self.rows.voltage.push(measures[2]);
        for (col, v) in self.rows.extra.iter_mut().zip(extra) {
            col.push(*v);
        }
    }

    fn from_json(path: &Path, keep: &Keep<'_>) -> Result<Self, ExtractError> {
        let mut out = FileReadings::new(keep);
        let names = keep.query.names;
        let mut x = vec![f64::NAN; keep.extra.len()];
        let bad = extract::for_each_record(path, |r| {
            out.records += 1;
            let mut m = [f64::NAN; 3];
            x.fill(f64::NAN);
            for (name, v) in &r.measures {
                if let Some(i) = MEASURES.iter().position(|k| k == name) {
                    m[i] = *v;
                    out.measures_seen[i] = true;
                } else if let Some(j) = keep.extra.iter().position(|k| k == name) {
                    x[j] = *v;
                }
                if names && !out.measure_names.contains(name.as_ref()) {
                    out.measure_names.insert(name.to_string());
                }
            }
            let dim = |k: &str| {
                r.dimensions
                    .iter()
                    .find(|(n, _)| n == k)
                    .map(|(_, v)| v.as_ref())
            };
            if !keep.keeps(r.time_us, &r.device_id, dim) {
                // Its dimensions still count as known to the extracts.
                for (name, _) in &r.dimensions {
                    out.dim_index(name);
                }
                return;
            }
            for (name, value) in &r.dimensions {
                let dim = out.dim_index(name);
                out.set_dim(dim, value);
            }
            out.end_row(r.time_us, &r.device_id, m, &x);
        })?;
        out.bad = bad;
        Ok(out)
    }

    fn from_parquet(path: &Path, keep: &Keep<'_>) -> Result<Self, LakeError> {
        let open = || std::fs::File::open(path).map_err(io_at(path));
        // Only the columns the views use: the time, the device, the
        // dimensions (the string columns) and three measures.
        let schema = ParquetReader::new(open()?).schema()?;
        let wanted: Vec<String> = schema
            .iter()
            .filter(|(name, field)| {
                [TIME, DEVICE, WATT, ENERGY, VOLTAGE].contains(&name.as_str())
                    || keep.extra.iter().any(|m| m == name.as_str())
                    || matches!(
                        field.dtype(),
                        ArrowDataType::Utf8 | ArrowDataType::LargeUtf8 | ArrowDataType::Utf8View
                    )
            })
            .map(|(name, _)| name.to_string())
            .collect();
        let df = ParquetReader::new(open()?)
            .with_columns(Some(wanted))
            .finish()?;
        let mut out = FileReadings::new(keep);
        if keep.query.names {
            out.measure_names = schema
                .iter()
                .filter(|(name, field)| name.as_str() != TIME && is_number(field.dtype()))
                .map(|(name, _)| name.to_string())
                .collect();
        }
        let schema_error = |what: String| LakeError::Schema(what);
        let column = |name: &str, want: &DataType| -> Result<&Column, LakeError> {
            let c = df
                .column(name)
                .map_err(|_| schema_error(format!("no {name} column")))?;
            if c.dtype() != want {
                return Err(schema_error(format!("{name} is {}, not {want}", c.dtype())));
            }
            Ok(c)
        };
        // Whole columns up front: cheaper than a lookup per row and cell.
        let time: Vec<Option<i64>> = column(TIME, &DataType::Int64)?.i64()?.iter().collect();
        let device: Vec<Option<&str>> = column(DEVICE, &DataType::String)?.str()?.iter().collect();
        let measure = |name: &str| -> Result<Option<Vec<Option<f64>>>, LakeError> {
            match df.column(name) {
                Ok(c) if c.dtype().is_primitive_numeric() => {
                    Ok(Some(c.cast(&DataType::Float64)?.f64()?.iter().collect()))
                }
                Ok(c) => Err(schema_error(format!(
                    "{name} is {}, not a number",
                    c.dtype()
                ))),
                Err(_) => Ok(None),
            }
        };
        let measures = [measure(WATT)?, measure(ENERGY)?, measure(VOLTAGE)?];
        let extra: Vec<Option<Vec<Option<f64>>>> = keep
            .extra
            .iter()
            .map(|name| measure(name))
            .collect::<Result<_, _>>()?;
        let mut x = vec![f64::NAN; extra.len()];
        for (i, m) in measures.iter().enumerate() {
            out.measures_seen[i] = m.is_some();
        }
        // The dimensions: every string column but the device's.
        let mut dims: Vec<(&str, usize, Vec<Option<&str>>)> = Vec::new();
        for c in df.columns() {
            if c.name().as_str() != DEVICE
                && let Ok(s) = c.str()
            {
                let name = c.name().as_str();
                dims.push((name, out.dim_index(name), s.iter().collect()));
            }
        }
        for i in 0..df.height() {
            // The rules a JSON record meets, so a Parquet file cannot carry
            // what the decoder would refuse (1e308 volts, NaN, no device).
            let m = [0, 1, 2].map(|k| measures[k].as_ref().and_then(|c| c[i]));
            let refused = match (time[i], device[i]) {
                (None, _) => Some(format!("no {TIME}")),
                (_, None) => Some(format!("no {DEVICE}")),
                (Some(t), _) if !(0..gridwatch_types::time::MAX_US).contains(&t) => {
                    Some(format!("{TIME} {t} is outside the years 1970 to 9999"))
                }
                _ => MEASURES
                    .iter()
                    .copied()
                    .zip(m)
                    .chain(
                        keep.extra
                            .iter()
                            .map(String::as_str)
                            .zip(extra.iter().map(|c| c.as_ref().and_then(|c| c[i]))),
                    )
                    .find_map(|(name, v)| {
                        v.and_then(|v| gridwatch_core::codec::check_measure(name, v).err())
                            .map(|e| e.to_string())
                    }),
            };
            if let Some(reason) = refused {
                out.bad.push(BadLine {
                    file: path.to_owned(),
                    line: i + 1,
                    reason: format!("row {}: {reason}", i + 1),
                });
                continue;
            }
            let (Some(t), Some(d)) = (time[i], device[i]) else {
                continue;
            };
            out.records += 1;
            let dim = |k: &str| dims.iter().find(|(n, _, _)| *n == k).and_then(|c| c.2[i]);
            if !keep.keeps(t, d, dim) {
                continue;
            }
            for (_, index, values) in &dims {
                if let Some(v) = values[i] {
                    out.set_dim(*index, v);
                }
            }
            for (v, c) in x.iter_mut().zip(&extra) {
                *v = c.as_ref().and_then(|c| c[i]).unwrap_or(f64::NAN);
            }
            out.end_row(t, d, m.map(|v| v.unwrap_or(f64::NAN)), &x);
        }
        Ok(out)
    }

    /// One file's readings, or why the file cannot be read: any error, and
    /// a panic in the Parquet reader on a malformed file, is the file's.
    pub(super) fn read(path: &Path, parquet: bool, keep: &Keep<'_>) -> Result<Self, String> {
        if parquet {
            // Before polars sees it: a flipped bit is a skipped file, not
            // a changed figure.
            crate::manifest::verify(path)?;
        }
        let read = || {
            if parquet {
                FileReadings::from_parquet(path, keep)
            } else {
                Ok(FileReadings::from_json(path, keep)?)
            }
        };
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)) {
            Ok(Ok(file)) => Ok(file),
            Ok(Err(LakeError::Extract(e))) => Err(e.reason()),
            Ok(Err(LakeError::Io { source, .. })) => Err(source.to_string()),
            Ok(Err(LakeError::Polars(e))) => Err(format!("not a readable Parquet file: {e}")),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("not a readable Parquet file: the reader failed on it".into()),
        }
    }
}

/// Whether a Parquet column holds numbers: a measure.
fn is_number(dtype: &ArrowDataType) -> bool {
    use ArrowDataType as A;
    matches!(
        dtype,
        A::Float64 | A::Float32 | A::Int64 | A::Int32 | A::Int16 | A::Int8 | A::UInt64 | A::UInt32
    )
}
