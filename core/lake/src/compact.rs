//! Compaction: a whole day of JSON extracts into a Parquet file, which the
//! views read many times faster. A day still being written (today) is left
//! alone, and a day only partly in the asked range is compacted whole.
//!
//! Nothing is lost on the way. A JSON extract is removed only after its
//! records are in a Parquet file that was written, flushed to disk (file
//! and folder), renamed into place and read back whole with the same record
//! count and checksum (see [`crate::manifest`]). An extract with bad lines
//! is not removed but moved, verbatim, to the same path under
//! `readings/quarantine/` (which no reader reads), so the lines stay for a
//! person to look at. An extract that cannot be read at all stays where it
//! is, and the views go on reporting it. JSON that arrives for a day
//! already compacted goes into the next `part-N.parquet` of that day.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use gridwatch_core::time::MICROS_PER_DAY;
use polars::prelude::*;

use crate::manifest::{self, PartManifest};
use crate::{LakeError, SkippedFile, extract, io_at, partition, table};

#[derive(Debug, Default, Clone, PartialEq)]
pub struct CompactReport {
    pub days: usize,
    pub records: usize,
    pub json_bytes: u64,
    pub parquet_bytes: u64,
    pub bad_lines: Vec<extract::BadLine>,
    /// Extracts with bad lines, moved whole to `readings/quarantine/`.
    pub quarantined: Vec<PathBuf>,
    /// Extracts that could not be read (left in place) and partition
    /// folders out of range.
    pub skipped_files: Vec<SkippedFile>,
    /// Stopped on request between days or files; what is done is whole.
    pub cancelled: bool,
}

/// The Parquet folder of the day starting at `day_us`.
pub(crate) fn parquet_day_dir(lake: &Path, day_us: i64) -> PathBuf {
    lake.join(partition::PARQUET_DIR)
        .join(partition::day_path_at(day_us))
}

/// The first Parquet file of the day starting at `day_us`.
pub fn parquet_path(lake: &Path, day_us: i64) -> PathBuf {
    parquet_day_dir(lake, day_us).join("part-0.parquet")
}

/// Compacts every complete day with JSON that overlaps [from, to), each
/// day whole. `cancel` is checked between days and between files.
pub fn compact(
    lake: &Path,
    from_us: i64,
    to_us: i64,
    now_us: i64,
    keep_json: bool,
    cancel: &AtomicBool,
) -> Result<CompactReport, LakeError> {
    partition::check_range(from_us, to_us)?;
    let mut report = CompactReport::default();
    let today = now_us - now_us.rem_euclid(MICROS_PER_DAY);
    let days = extract::days(
        &lake.join(partition::JSON_DIR),
        from_us,
        to_us,
        &mut report.skipped_files,
    )?;
    for (day, json_dir) in days.into_iter().filter(|(d, _)| *d < today) {
        if cancel.load(Ordering::Relaxed) {
            report.cancelled = true;
            break;
        }
        compact_day(lake, day, &json_dir, keep_json, cancel, &mut report)?;
        if report.cancelled {
            break;
        }
    }
    Ok(report)
}

/// The next free part number of a day's Parquet folder, and the JSON
/// extracts (`hour=HH/<file>`) its parts already hold.
pub(crate) fn parts_of(dir: &Path) -> Result<(u64, Vec<String>), LakeError> {
    let mut next = 0;
    let mut held = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, held)),
        Err(e) => return Err(io_at(dir)(e)),
    };
    for entry in entries {
        let name = entry.map_err(io_at(dir))?.file_name();
        let name = name.to_string_lossy();
        // part-N.parquet and its manifest, part-N.parquet.json.
        let Some(n) = name
            .strip_prefix("part-")
            .and_then(|r| r.split('.').next())
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        next = next.max(n + 1);
        if name.ends_with(".parquet")
            && let Ok(Some(m)) = manifest::read(&dir.join(&*name))
        {
            held.extend(m.sources);
        }
    }
    Ok((next, held))
}

fn compact_day(
    lake: &Path,
    day: i64,
    json_dir: &Path,
    keep_json: bool,
    cancel: &AtomicBool,
    report: &mut CompactReport,
) -> Result<(), LakeError> {
    let parquet_dir = parquet_day_dir(lake, day);
    let (part, held) = parts_of(&parquet_dir)?;
    // Every hour of the day, whatever the asked range: a day is compacted
    // whole, so none of its JSON is removed unread.
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    for (_, hour_dir) in extract::hours(day, json_dir, &mut report.skipped_files)? {
        for f in extract::files_in(&hour_dir, |_| true)? {
            let source = f
                .strip_prefix(json_dir)
                .unwrap_or(&f)
                .to_string_lossy()
                .into_owned();
            if !held.contains(&source) {
                files.push((f, source));
            }
        }
    }
    let mut cols = table::Columns::default();
    // Read whole: (path, source name, had bad lines).
    let mut read: Vec<(PathBuf, String, bool)> = Vec::new();
    let mut json_bytes = 0;
    for (f, source) in files {
        if cancel.load(Ordering::Relaxed) {
            report.cancelled = true;
            return Ok(());
        }
        match extract::read_json(&f) {
            Ok((records, bad)) => {
                json_bytes += std::fs::metadata(&f).map_err(io_at(&f))?.len();
                for r in records {
                    cols.push(r);
                }
                read.push((f, source, !bad.is_empty()));
                report.bad_lines.extend(bad);
            }
            Err(e) => report.skipped_files.push(SkippedFile {
                path: f,
                reason: e.reason(),
            }),
        }
    }
    if cols.is_empty() {
        // Nothing to hold: the files stay, and the views report their
        // bad lines as before.
        return Ok(());
    }
    let records = cols.len();
    let mut df = cols.into_frame()?;
    std::fs::create_dir_all(&parquet_dir).map_err(io_at(&parquet_dir))?;
    let out = parquet_dir.join(format!("part-{part}.parquet"));
    // Hidden until renamed, so no reader sees it half-written.
    let tmp = parquet_dir.join(format!(".part-{part}.parquet.tmp"));
    let written = (|| {
        let file = std::fs::File::create(&tmp).map_err(io_at(&tmp))?;
        ParquetWriter::new(&file)
            .with_compression(ParquetCompression::Snappy)
            .finish(&mut df)?;
        file.sync_all().map_err(io_at(&tmp))?;
        let (bytes, crc32) = manifest::checksum(&tmp).map_err(io_at(&tmp))?;
        let m = PartManifest {
            records: records as u64,
            bytes,
            crc32,
            sources: read.iter().map(|r| r.1.clone()).collect(),
        };
        let mpath = manifest::path_for(&out);
        let text =
            serde_json::to_vec_pretty(&m).map_err(|e| LakeError::Compaction(e.to_string()))?;
        // The manifest first: without its Parquet file it means nothing.
        gridwatch_core::files::write_whole(&mpath, &text).map_err(io_at(&mpath))?;
        std::fs::rename(&tmp, &out).map_err(io_at(&out))?;
        gridwatch_core::files::sync_dir(&parquet_dir).map_err(io_at(&parquet_dir))?;
        read_back(&out, &m)
    })();
    if let Err(e) = written {
        // The JSON stays: take away what would hide it.
        let _ = std::fs::remove_file(&tmp);
        let _ = std::fs::remove_file(&out);
        let _ = std::fs::remove_file(manifest::path_for(&out));
        return Err(e);
    }
    report.parquet_bytes += std::fs::metadata(&out).map_err(io_at(&out))?.len();
    report.json_bytes += json_bytes;
    report.records += records;
    report.days += 1;
    tracing::info!(day = %out.display(), records, "compacted");
    if !keep_json {
        remove_compacted(lake, json_dir, &read, report)?;
    }
    Ok(())
}

/// Reads a written Parquet file back: the checksum and the record count
/// must be the manifest's, or nothing is removed.
fn read_back(path: &Path, m: &PartManifest) -> Result<(), LakeError> {
    manifest::verify(path)
        .map_err(|reason| LakeError::Compaction(format!("{}: {reason}", path.display())))?;
    let file = std::fs::File::open(path).map_err(io_at(path))?;
    let height = ParquetReader::new(file).finish()?.height();
    if height as u64 != m.records {
        return Err(LakeError::Compaction(format!(
            "{} reads back {height} records of {}",
            path.display(),
            m.records
        )));
    }
    Ok(())
}

/// Removes the extracts a verified Parquet file holds; those with bad lines
/// move to the quarantine instead. Emptied folders go.
fn remove_compacted(
    lake: &Path,
    json_dir: &Path,
    read: &[(PathBuf, String, bool)],
    report: &mut CompactReport,
) -> Result<(), LakeError> {
    let json_root = lake.join(partition::JSON_DIR);
    let quarantine_root = lake.join(partition::QUARANTINE_DIR);
    let mut folders: Vec<PathBuf> = Vec::new();
    for (f, _, bad) in read {
        if *bad {
            let to = quarantine_root.join(f.strip_prefix(&json_root).unwrap_or(f));
            let parent = to.parent().unwrap_or(&quarantine_root);
            std::fs::create_dir_all(parent).map_err(io_at(parent))?;
            std::fs::rename(f, &to).map_err(io_at(f))?;
            gridwatch_core::files::sync_dir(parent).map_err(io_at(parent))?;
            report.quarantined.push(to);
        } else {
            std::fs::remove_file(f).map_err(io_at(f))?;
        }
        if let Some(p) = f.parent()
            && !folders.iter().any(|d| d == p)
        {
            folders.push(p.to_owned());
        }
    }
    for dir in &folders {
        gridwatch_core::files::sync_dir(dir).map_err(io_at(dir))?;
        // Only if empty: files that arrived meanwhile, or could not be
        // read, stay.
        let _ = std::fs::remove_dir(dir);
    }
    let _ = std::fs::remove_dir(json_dir);
    Ok(())
}

#[cfg(test)]
mod tests;
