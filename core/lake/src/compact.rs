//! Compaction: a whole day of JSON extracts into one Parquet file, which the
//! views read many times faster. The JSON of a compacted day is removed
//! (unless kept), and a day still being written (today) is left alone.

use std::path::{Path, PathBuf};

use gridwatch_core::time::{MICROS_PER_DAY, civil};
use polars::prelude::*;

use crate::{LakeError, extract, io_at, table};

#[derive(Debug, Default, Clone, PartialEq)]
pub struct CompactReport {
    pub days: usize,
    pub records: usize,
    pub json_bytes: u64,
    pub parquet_bytes: u64,
    pub bad_lines: Vec<extract::BadLine>,
}

/// The Parquet file of the day starting at `day_us`.
pub fn parquet_path(lake: &Path, day_us: i64) -> PathBuf {
    let c = civil(day_us);
    lake.join("readings/parquet")
        .join(format!("year={:04}", c.year))
        .join(format!("month={:02}", c.month))
        .join(format!("day={:02}", c.day))
        .join("part-0.parquet")
}

fn json_day_dir(lake: &Path, day_us: i64) -> PathBuf {
    let c = civil(day_us);
    lake.join("readings/json")
        .join(format!("year={:04}", c.year))
        .join(format!("month={:02}", c.month))
        .join(format!("day={:02}", c.day))
}

/// Compacts every complete day in [from, to) that still has JSON.
pub fn compact(
    lake: &Path,
    from_us: i64,
    to_us: i64,
    now_us: i64,
    keep_json: bool,
) -> Result<CompactReport, LakeError> {
    let mut report = CompactReport::default();
    let sel = extract::select(lake, from_us, to_us)?;
    let mut days: Vec<i64> = Vec::new();
    for f in &sel.json {
        // .../year=/month=/day=/hour=/file: the day folder is two up.
        if let Some(day) = f.parent().and_then(Path::parent).and_then(day_of)
            && !days.contains(&day)
        {
            days.push(day);
        }
    }
    days.sort_unstable();
    let today = now_us - now_us.rem_euclid(MICROS_PER_DAY);
    for day in days.into_iter().filter(|d| *d < today) {
        let dir = json_day_dir(lake, day);
        let files: Vec<&PathBuf> = sel.json.iter().filter(|f| f.starts_with(&dir)).collect();
        let mut cols = table::Columns::default();
        for f in &files {
            report.json_bytes += std::fs::metadata(f).map_err(io_at(f))?.len();
            let (records, bad) = extract::read_json(f)?;
            for r in records {
                cols.push(r);
            }
            report.bad_lines.extend(bad);
        }
        report.records += cols.len();
        let mut df = cols.into_frame()?;
        let out = parquet_path(lake, day);
        let parent = out.parent().unwrap_or(lake);
        std::fs::create_dir_all(parent).map_err(io_at(parent))?;
        let tmp = out.with_extension("parquet.tmp");
        let file = std::fs::File::create(&tmp).map_err(io_at(&tmp))?;
        ParquetWriter::new(file)
            .with_compression(ParquetCompression::Snappy)
            .finish(&mut df)?;
        std::fs::rename(&tmp, &out).map_err(io_at(&out))?;
        report.parquet_bytes += std::fs::metadata(&out).map_err(io_at(&out))?.len();
        if !keep_json {
            std::fs::remove_dir_all(&dir).map_err(io_at(&dir))?;
        }
        report.days += 1;
        tracing::info!(day = %out.display(), records = df.height(), "compacted");
    }
    Ok(report)
}

/// The start of the day a `year=/month=/day=` folder names, if its names
/// are in range (the selection has already reported those that are not).
fn day_of(dir: &Path) -> Option<i64> {
    use crate::partition::{Key, day_start, parse};
    let part = |p: &Path, key: Key| -> Option<u32> { parse(p.file_name()?.to_str()?, key)?.ok() };
    let day = part(dir, Key::Day)?;
    let month_dir = dir.parent()?;
    let month = part(month_dir, Key::Month)?;
    let year = part(month_dir.parent()?, Key::Year)?;
    day_start(year, month, day).ok()
}
