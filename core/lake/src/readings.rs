//! The readings of a time range, read once from the extracts into compact
//! columns the views fold over.
//!
//! - Devices and dimension values become numbers into dictionaries, so a
//!   reading costs about 50 bytes whatever its strings.
//! - Only the measures the views use are kept (watt, energy, voltage), as
//!   f64 with NaN for "this record has none". The decoder rejects
//!   non-finite measures, and Parquet values meet the same check
//!   (`codec::check_measure`), so NaN cannot be a real reading.
//! - Files decode in parallel, a window at a time, and join in file order,
//!   so ties in time keep the order they had in the lake.
//!
//! Memory stays within a budget: when the columns would outgrow it, they
//! move to bucket files in a hidden folder of the lake (on the lake's own
//! disk, not a RAM-backed /tmp), split by device so that each bucket holds
//! whole devices, and the views then fold one bucket at a time.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use polars::prelude::*;
use rayon::prelude::*;

use crate::extract::{self, BadLine, ExtractError};
use crate::table::{DEVICE, TIME};
use crate::{LakeError, LoadReport, io_at};

/// "No value" in a dimension column.
pub const ABSENT: u32 = u32::MAX;

/// The measures the views read, in the order of the columns and of
/// [`Readings::measures_seen`].
pub const WATT: &str = "watt";
pub const ENERGY: &str = "energy";
pub const VOLTAGE: &str = "voltage";
pub const MEASURES: [&str; 3] = [WATT, ENERGY, VOLTAGE];

/// Strings seen in one column, each stored once and numbered in the order
/// they were first seen.
#[derive(Debug, Default)]
pub struct Dictionary {
    codes: foldhash::HashMap<Box<str>, u32>,
    values: Vec<Box<str>>,
}

impl Dictionary {
    pub fn code(&mut self, value: &str) -> u32 {
        if let Some(&c) = self.codes.get(value) {
            return c;
        }
        // Four billion distinct devices or labels in one range would not fit
        // in memory long before this wraps.
        let c = self.values.len() as u32;
        self.values.push(value.into());
        self.codes.insert(value.into(), c);
        c
    }

    pub fn value(&self, code: u32) -> Option<&str> {
        self.values.get(code as usize).map(|v| &**v)
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Readings in columns. Dimension columns follow [`Readings::dimensions`];
/// a batch written before a dimension was first seen may have fewer.
#[derive(Debug, Default)]
pub struct Batch {
    pub time_us: Vec<i64>,
    pub device: Vec<u32>,
    pub dims: Vec<Vec<u32>>,
    pub watt: Vec<f64>,
    pub energy: Vec<f64>,
    pub voltage: Vec<f64>,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.time_us.len()
    }

    pub fn is_empty(&self) -> bool {
        self.time_us.is_empty()
    }

    /// The dimension code of row `i`, [`ABSENT`] where it has none.
    pub fn dim(&self, dim: usize, i: usize) -> u32 {
        self.dims.get(dim).map_or(ABSENT, |c| c[i])
    }

    fn bytes(&self) -> usize {
        self.len() * row_bytes(self.dims.len())
    }

    /// Copies row `i` of `from`, which has at least this batch's columns.
    fn push_row(&mut self, from: &Batch, i: usize) {
        self.time_us.push(from.time_us[i]);
        self.device.push(from.device[i]);
        for (d, col) in self.dims.iter_mut().enumerate() {
            col.push(from.dim(d, i));
        }
        self.watt.push(from.watt[i]);
        self.energy.push(from.energy[i]);
        self.voltage.push(from.voltage[i]);
    }

    /// Appends `other`, which has this batch's columns.
    fn append(&mut self, other: &Batch) {
        self.time_us.extend_from_slice(&other.time_us);
        self.device.extend_from_slice(&other.device);
        for (col, add) in self.dims.iter_mut().zip(&other.dims) {
            col.extend_from_slice(add);
        }
        self.watt.extend_from_slice(&other.watt);
        self.energy.extend_from_slice(&other.energy);
        self.voltage.extend_from_slice(&other.voltage);
    }
}

/// Bytes a reading takes with `dims` dimension columns, in memory and in a
/// bucket file alike.
fn row_bytes(dims: usize) -> usize {
    8 + 4 + 3 * 8 + 4 * dims
}

/// What to read: a time range, and the rows the operator kept.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadingsQuery {
    pub from_us: i64,
    pub to_us: i64,
    /// Dimension = value; all must hold. `device_id` names the device.
    pub filters: Vec<(String, String)>,
    /// Only these devices, when not empty.
    pub devices: Vec<String>,
    /// Bytes the columns may take before they move to disk.
    pub memory_budget: usize,
}

impl ReadingsQuery {
    pub fn new(from_us: i64, to_us: i64) -> Self {
        ReadingsQuery {
            from_us,
            to_us,
            filters: Vec::new(),
            devices: Vec::new(),
            memory_budget: default_memory_budget(),
        }
    }
}

/// The dimension an operator's word names: region -> Region, etc. Filters
/// and group keys both take these words.
pub fn dimension_column(name: &str) -> String {
    match name.to_ascii_lowercase().as_str() {
        "region" => "Region".into(),
        "feeder" => "Feeder".into(),
        "type" | "devicetype" | "device_type" => "DeviceType".into(),
        "device" | "deviceid" | "device_id" => DEVICE.into(),
        _ => name.to_owned(),
    }
}

/// A quarter of the memory available now, or 1 GiB where that is unknown:
/// room for the views' own tables and for the rest of the app.
pub fn default_memory_budget() -> usize {
    let available_kib = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        m.lines()
            .find_map(|l| l.strip_prefix("MemAvailable:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
    });
    available_kib.map_or(1 << 30, |kib| kib * 1024 / 4)
}

/// One file's readings with its own dictionaries, before they join the
/// range's.
#[derive(Default)]
struct FileReadings {
    rows: Batch,
    devices: Dictionary,
    dim_names: Vec<String>,
    dim_values: Vec<Dictionary>,
    measures_seen: [bool; 3],
    records: usize,
    bad: Vec<BadLine>,
}

/// Decides, record by record, which rows a query keeps.
struct Keep<'q> {
    query: &'q ReadingsQuery,
    filters: Vec<(String, &'q str)>,
    devices: foldhash::HashSet<&'q str>,
}

impl<'q> Keep<'q> {
    fn new(query: &'q ReadingsQuery) -> Self {
        Keep {
            query,
            filters: query
                .filters
                .iter()
                .map(|(k, v)| (dimension_column(k), v.as_str()))
                .collect(),
            devices: query.devices.iter().map(String::as_str).collect(),
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

    /// Completes the row being added.
    fn end_row(&mut self, time_us: i64, device: &str, measures: [f64; 3]) {
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
    }

    fn from_json(path: &Path, keep: &Keep<'_>) -> Result<Self, ExtractError> {
        let mut out = FileReadings::default();
        let bad = extract::for_each_record(path, |r| {
            out.records += 1;
            let mut m = [f64::NAN; 3];
            for (name, v) in &r.measures {
                if let Some(i) = MEASURES.iter().position(|k| k == name) {
                    m[i] = *v;
                    out.measures_seen[i] = true;
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
            out.end_row(r.time_us, &r.device_id, m);
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
        let mut out = FileReadings::default();
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
                _ => MEASURES.iter().zip(m).find_map(|(name, v)| {
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
            out.end_row(t, d, m.map(|v| v.unwrap_or(f64::NAN)));
        }
        Ok(out)
    }

    /// One file's readings, or why the file cannot be read: any error, and
    /// a panic in the Parquet reader on a malformed file, is the file's.
    fn read(path: &Path, parquet: bool, keep: &Keep<'_>) -> Result<Self, String> {
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

/// Where the range's columns are.
enum Store {
    Memory(Batch),
    Disk(Spill),
}

/// Columns moved to disk: bucket `k` holds every reading of the devices
/// whose code is `k` modulo the bucket count, as batches back to back.
struct Spill {
    _folder: tempfile::TempDir,
    buckets: Vec<(PathBuf, BufWriter<std::fs::File>)>,
}

impl Spill {
    fn new(lake: &Path, buckets: usize) -> Result<Self, LakeError> {
        let folder = tempfile::Builder::new()
            .prefix(".gridwatch-spill-")
            .tempdir_in(lake)
            .map_err(io_at(lake))?;
        let buckets = (0..buckets)
            .map(|k| {
                let path = folder.path().join(format!("bucket-{k}"));
                let file = std::fs::File::create(&path).map_err(io_at(&path))?;
                Ok((path, BufWriter::new(file)))
            })
            .collect::<Result<_, LakeError>>()?;
        Ok(Spill {
            _folder: folder,
            buckets,
        })
    }

    /// Splits a batch by device into the buckets.
    fn write(&mut self, batch: &Batch) -> Result<(), LakeError> {
        let k = self.buckets.len();
        let mut parts: Vec<Batch> = (0..k)
            .map(|_| Batch {
                dims: vec![Vec::new(); batch.dims.len()],
                ..Batch::default()
            })
            .collect();
        for i in 0..batch.len() {
            parts[batch.device[i] as usize % k].push_row(batch, i);
        }
        for (part, (path, out)) in parts.iter().zip(&mut self.buckets) {
            if !part.is_empty() {
                write_batch(out, part).map_err(io_at(path))?;
            }
        }
        Ok(())
    }
}

fn write_batch(out: &mut impl Write, b: &Batch) -> std::io::Result<()> {
    out.write_all(&(b.len() as u64).to_le_bytes())?;
    out.write_all(&(b.dims.len() as u64).to_le_bytes())?;
    let mut buf = Vec::with_capacity(b.bytes());
    buf.extend(b.time_us.iter().flat_map(|v| v.to_le_bytes()));
    buf.extend(b.device.iter().flat_map(|v| v.to_le_bytes()));
    for col in &b.dims {
        buf.extend(col.iter().flat_map(|v| v.to_le_bytes()));
    }
    for col in [&b.watt, &b.energy, &b.voltage] {
        buf.extend(col.iter().flat_map(|v| v.to_le_bytes()));
    }
    out.write_all(&buf)
}

/// Reads a bucket file back into one batch with `dims` dimension columns.
fn read_bucket(path: &Path, dims: usize) -> Result<Batch, LakeError> {
    let file = std::fs::File::open(path).map_err(io_at(path))?;
    let mut input = BufReader::new(file);
    let mut out = Batch {
        dims: vec![Vec::new(); dims],
        ..Batch::default()
    };
    let mut word = [0u8; 8];
    loop {
        match input.read_exact(&mut word) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(io_at(path)(e)),
        }
        let n = u64::from_le_bytes(word) as usize;
        input.read_exact(&mut word).map_err(io_at(path))?;
        let written_dims = u64::from_le_bytes(word) as usize;
        let mut buf = vec![0u8; n * row_bytes(written_dims)];
        input.read_exact(&mut buf).map_err(io_at(path))?;
        let (times, rest) = buf.split_at(n * 8);
        out.time_us.extend(times.chunks_exact(8).map(le_i64));
        let (devices, mut rest) = rest.split_at(n * 4);
        out.device.extend(devices.chunks_exact(4).map(le_u32));
        for d in 0..dims {
            if d < written_dims {
                let (col, r) = rest.split_at(n * 4);
                out.dims[d].extend(col.chunks_exact(4).map(le_u32));
                rest = r;
            } else {
                out.dims[d].extend(std::iter::repeat_n(ABSENT, n));
            }
        }
        for col in [&mut out.watt, &mut out.energy, &mut out.voltage] {
            let (c, r) = rest.split_at(n * 8);
            col.extend(c.chunks_exact(8).map(|b| f64::from_bits(le_i64(b) as u64)));
            rest = r;
        }
    }
    Ok(out)
}

// The chunk sizes are exact, so the conversions below cannot fail; a
// zero stands in rather than a panic all the same.
fn le_i64(b: &[u8]) -> i64 {
    i64::from_le_bytes(b.try_into().unwrap_or([0; 8]))
}

fn le_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes(b.try_into().unwrap_or([0; 4]))
}

/// The readings of one range, in memory or in buckets on disk.
pub struct Readings {
    pub report: LoadReport,
    pub devices: Dictionary,
    /// Dimension names with their values.
    pub dimensions: Vec<(String, Dictionary)>,
    /// Which of watt, energy and voltage any record had.
    pub measures_seen: [bool; 3],
    store: Store,
}

impl Readings {
    /// Reads the extracts covering the query's range. Partitions outside it
    /// are never opened; lines that cannot be read are in the report.
    pub fn scan(lake: &Path, query: &ReadingsQuery) -> Result<Readings, LakeError> {
        Readings::scan_cancellable(lake, query, &AtomicBool::new(false))
    }

    /// Like [`Readings::scan`], stopping with [`LakeError::Cancelled`] once
    /// `cancel` is set (checked between files). A file that cannot be read
    /// (corrupt gzip, truncated, not Parquet, the wrong schema, a checksum
    /// that does not match) is skipped and named in the report's
    /// `skipped_files`; the figures are the rest's.
    pub fn scan_cancellable(
        lake: &Path,
        query: &ReadingsQuery,
        cancel: &AtomicBool,
    ) -> Result<Readings, LakeError> {
        let sel = extract::select(lake, query.from_us, query.to_us)?;
        let mut files: Vec<(PathBuf, bool)> = sel.json.iter().map(|p| (p.clone(), false)).collect();
        files.extend(sel.parquet.iter().map(|p| (p.clone(), true)));
        let sizes: Vec<u64> = files
            .iter()
            .map(|(p, _)| std::fs::metadata(p).map_or(0, |m| m.len()))
            .collect();
        let total_bytes: u64 = sizes.iter().sum::<u64>().max(1);
        let mut readings = Readings {
            report: LoadReport {
                json_files: sel.json.len(),
                parquet_files: sel.parquet.len(),
                skipped_files: sel.skipped,
                ..LoadReport::default()
            },
            devices: Dictionary::default(),
            dimensions: Vec::new(),
            measures_seen: [false; 3],
            store: Store::Memory(Batch::default()),
        };
        let keep = Keep::new(query);
        // Files decode in parallel a window at a time, then join in file
        // order: only a window's worth of decoded files is in memory at once.
        let window = rayon::current_num_threads().max(1) * 8;
        let mut read_bytes = 0u64;
        for (chunk, chunk_sizes) in files.chunks(window).zip(sizes.chunks(window)) {
            if cancel.load(Ordering::Relaxed) {
                return Err(LakeError::Cancelled);
            }
            let decoded: Vec<Option<Result<FileReadings, String>>> = chunk
                .par_iter()
                .map(|(path, parquet)| {
                    (!cancel.load(Ordering::Relaxed))
                        .then(|| FileReadings::read(path, *parquet, &keep))
                })
                .collect();
            for ((path, _), file) in chunk.iter().zip(decoded) {
                match file {
                    None => return Err(LakeError::Cancelled),
                    Some(Ok(file)) => readings.join(file)?,
                    Some(Err(reason)) => {
                        // In the report, which the caller words: a log line would say it twice.
                        tracing::debug!(file = %path.display(), reason, "extract skipped");
                        readings.report.skipped_files.push(crate::SkippedFile {
                            path: path.clone(),
                            reason,
                        });
                    }
                }
            }
            read_bytes += chunk_sizes.iter().sum::<u64>();
            readings.keep_within(lake, query.memory_budget, read_bytes, total_bytes)?;
        }
        if readings.report.records > 0 {
            for (k, _) in &query.filters {
                let c = dimension_column(k);
                if c != DEVICE && readings.dimension(&c).is_none() {
                    return Err(LakeError::UnknownFilter(k.clone()));
                }
            }
        }
        if let Store::Disk(spill) = &mut readings.store {
            for (path, out) in &mut spill.buckets {
                out.flush().map_err(io_at(path))?;
            }
        }
        Ok(readings)
    }

    /// Whether the readings moved to disk, and into how many buckets.
    pub fn buckets_on_disk(&self) -> usize {
        match &self.store {
            Store::Memory(_) => 0,
            Store::Disk(s) => s.buckets.len(),
        }
    }

    /// The index of a dimension by name.
    pub fn dimension(&self, name: &str) -> Option<usize> {
        self.dimensions.iter().position(|(n, _)| n == name)
    }

    /// Adds one file's readings, its codes turned into the range's.
    fn join(&mut self, file: FileReadings) -> Result<(), LakeError> {
        self.report.records += file.records;
        self.report.bad_lines.extend(file.bad);
        for (seen, s) in self.measures_seen.iter_mut().zip(file.measures_seen) {
            *seen |= s;
        }
        let devices: Vec<u32> = file
            .devices
            .values
            .iter()
            .map(|d| self.devices.code(d))
            .collect();
        let mut dim_map = Vec::with_capacity(file.dim_names.len());
        for (name, values) in file.dim_names.iter().zip(&file.dim_values) {
            let i = match self.dimension(name) {
                Some(i) => i,
                None => {
                    self.dimensions.push((name.clone(), Dictionary::default()));
                    if let Store::Memory(b) = &mut self.store {
                        b.dims.push(vec![ABSENT; b.len()]);
                    }
                    self.dimensions.len() - 1
                }
            };
            let dict = &mut self.dimensions[i].1;
            let codes: Vec<u32> = values.values.iter().map(|v| dict.code(v)).collect();
            dim_map.push((i, codes));
        }
        let rows = file.rows;
        let n = rows.len();
        let mut batch = Batch {
            device: rows.device.iter().map(|&d| devices[d as usize]).collect(),
            dims: vec![vec![ABSENT; n]; self.dimensions.len()],
            time_us: rows.time_us,
            watt: rows.watt,
            energy: rows.energy,
            voltage: rows.voltage,
        };
        for ((global, codes), local) in dim_map.iter().zip(&rows.dims) {
            batch.dims[*global] = local
                .iter()
                .map(|&c| {
                    if c == ABSENT {
                        ABSENT
                    } else {
                        codes[c as usize]
                    }
                })
                .collect();
        }
        match &mut self.store {
            Store::Memory(all) => all.append(&batch),
            Store::Disk(spill) => spill.write(&batch)?,
        }
        Ok(())
    }

    /// Moves the columns to disk once they pass the budget, in as many
    /// buckets as the whole range will need at the rate seen so far.
    fn keep_within(
        &mut self,
        lake: &Path,
        budget: usize,
        read_bytes: u64,
        total_bytes: u64,
    ) -> Result<(), LakeError> {
        let Store::Memory(batch) = &self.store else {
            return Ok(());
        };
        let used = batch.bytes();
        if used <= budget {
            return Ok(());
        }
        let projected = used as f64 * total_bytes as f64 / read_bytes.max(1) as f64;
        // A bucket is folded with an index and group codes beside it; half
        // the budget each leaves room for those. Each bucket is an open
        // file, and 1,024 is a common limit on those per process.
        let buckets = ((projected / (budget.max(1) as f64 / 2.0)).ceil() as usize).clamp(2, 512);
        tracing::info!(
            used,
            budget,
            buckets,
            "the readings outgrow the memory budget; moving them to disk"
        );
        let mut spill = Spill::new(lake, buckets)?;
        spill.write(batch)?;
        self.store = Store::Disk(spill);
        Ok(())
    }

    /// Hands the readings to `fold` one batch at a time; each batch holds
    /// every reading of its devices.
    pub fn for_each_batch(
        &self,
        mut fold: impl FnMut(&Batch) -> Result<(), LakeError>,
    ) -> Result<(), LakeError> {
        match &self.store {
            Store::Memory(batch) => fold(batch),
            Store::Disk(spill) => {
                for (path, _) in &spill.buckets {
                    fold(&read_bucket(path, self.dimensions.len())?)?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests;
