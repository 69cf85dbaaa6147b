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
//!
//! The parts: `file` (one file decoded and filtered), `spill` (the buckets
//! on disk). Here: the columns, the query, and joining files into a range.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use crate::extract;
use crate::table::DEVICE;
use crate::{LakeError, LoadReport, io_at};
use file::{FileReadings, Keep};
use spill::{Spill, Store, read_bucket};

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
    /// The query's other measures ([`ReadingsQuery::measures`]), NaN where
    /// a record has none.
    pub extra: Vec<Vec<f64>>,
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
        self.len() * row_bytes(self.dims.len(), self.extra.len())
    }

    /// An empty batch with these many dimension and extra measure columns.
    fn with_columns(dims: usize, extra: usize) -> Batch {
        Batch {
            dims: vec![Vec::new(); dims],
            extra: vec![Vec::new(); extra],
            ..Batch::default()
        }
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
        for (col, add) in self.extra.iter_mut().zip(&from.extra) {
            col.push(add[i]);
        }
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
        for (col, add) in self.extra.iter_mut().zip(&other.extra) {
            col.extend_from_slice(add);
        }
    }
}

/// Bytes a reading takes with `dims` dimension columns, in memory and in a
/// bucket file alike.
fn row_bytes(dims: usize, extra: usize) -> usize {
    8 + 4 + 3 * 8 + 4 * dims + 8 * extra
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
    /// Measures to keep beside watt, energy and voltage, as records name
    /// them without `_measure` (`current`).
    pub measures: Vec<String>,
    /// Note every measure name the records carry ([`Readings::measure_names`]).
    pub names: bool,
}

impl ReadingsQuery {
    pub fn new(from_us: i64, to_us: i64) -> Self {
        ReadingsQuery {
            from_us,
            to_us,
            filters: Vec::new(),
            devices: Vec::new(),
            memory_budget: default_memory_budget(),
            measures: Vec::new(),
            names: false,
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

/// A measure as records name it, from the operator's word: `watt_measure`
/// and `watt` are one measure (the seed's Flink job drops the suffix).
pub fn measure_name(word: &str) -> String {
    let word = word.trim();
    let cut = word.len().saturating_sub("_measure".len());
    match (word.get(..cut), word.get(cut..)) {
        (Some(stem), Some(suffix)) if suffix.eq_ignore_ascii_case("_measure") => stem.to_owned(),
        _ => word.to_owned(),
    }
}

/// How far a scan has come: files read of the files to read.
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// The readings of one range, in memory or in buckets on disk.
pub struct Readings {
    pub report: LoadReport,
    pub devices: Dictionary,
    /// Dimension names with their values.
    pub dimensions: Vec<(String, Dictionary)>,
    /// Which of watt, energy and voltage any record had.
    pub measures_seen: [bool; 3],
    /// The query's other measures, in the order of [`Batch::extra`].
    pub extra: Vec<String>,
    /// Every measure name the records carried, sorted (when the query
    /// asked for [`ReadingsQuery::names`]).
    pub measure_names: Vec<String>,
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
        Readings::scan_observed(lake, query, cancel, &|_, _| {})
    }

    /// Like [`Readings::scan_cancellable`], telling `progress` the files
    /// read of the files to read after each window of files.
    pub fn scan_observed(
        lake: &Path,
        query: &ReadingsQuery,
        cancel: &AtomicBool,
        progress: Progress<'_>,
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
            extra: query.measures.clone(),
            measure_names: Vec::new(),
            store: Store::Memory(Batch::with_columns(0, query.measures.len())),
        };
        let mut names = std::collections::BTreeSet::new();
        progress(0, files.len());
        let keep = Keep::new(query);
        // Files decode in parallel a window at a time, then join in file
        // order: only a window's worth of decoded files is in memory at once.
        let window = rayon::current_num_threads().max(1) * 8;
        let mut read_bytes = 0u64;
        let mut files_read = 0usize;
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
                    Some(Ok(mut file)) => {
                        names.append(&mut file.measure_names);
                        readings.join(file)?;
                    }
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
            files_read += chunk.len();
            progress(files_read, files.len());
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
        readings.measure_names = names.into_iter().collect();
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
            extra: rows.extra,
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
                    fold(&read_bucket(path, self.dimensions.len(), self.extra.len())?)?;
                }
                Ok(())
            }
        }
    }
}

mod file;
mod spill;

#[cfg(test)]
mod tests;
