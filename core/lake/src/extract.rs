//! Finding and reading a lake's extracts.
//!
//! Layout, under the lake folder:
//! - `readings/json/year=YYYY/month=MM/day=DD/hour=HH/<file>`: what Firehose
//!   (or `gridwatch simulate --to lake`) writes; newline-delimited JSON or
//!   objects back to back, plain or gzip.
//! - `readings/parquet/year=YYYY/month=MM/day=DD/part-N.parquet`: what
//!   `gridwatch lake compact` makes of a day's JSON, each with a manifest
//!   `part-N.parquet.json` naming the JSON extracts it holds (and its
//!   checksum, see [`crate::manifest`]). Those extracts are not read again;
//!   any other JSON of the day (arrived later) is read beside the Parquet.
//!   A Parquet file without a manifest (compacted before manifests, or by
//!   another tool) stands for its whole day: that day's JSON is not read.
//! - `readings/quarantine/...`: extracts with bad lines, moved there whole
//!   by compaction. Never read.
//!
//! Pruning: partitions outside the asked range are never opened. A line that
//! cannot be read is counted and reported with its file and line, and the
//! rest of the file is read on.

use std::path::{Path, PathBuf};

use gridwatch_core::codec::extract::ReadError;
use gridwatch_core::codec::{self, Record, RecordRef};
use gridwatch_core::time::{MICROS_PER_DAY, MICROS_PER_HOUR};

use crate::SkippedFile;
use crate::partition::{self, Key, RangeError};

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Range(#[from] RangeError),
    #[error("{path}: decompresses to more than {limit} bytes (a gzip bomb?)")]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("{path}: line {line} holds a record longer than {limit} bytes")]
    RecordTooLong {
        path: PathBuf,
        line: usize,
        limit: usize,
    },
}

impl ExtractError {
    /// What went wrong, without the path (said beside it).
    pub fn reason(&self) -> String {
        match self {
            ExtractError::Io { source, .. } => source.to_string(),
            ExtractError::Range(e) => e.to_string(),
            ExtractError::TooLarge { limit, .. } => {
                format!("decompresses to more than {limit} bytes (a gzip bomb?)")
            }
            ExtractError::RecordTooLong { line, limit, .. } => {
                format!("line {line} holds a record longer than {limit} bytes")
            }
        }
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> ExtractError + '_ {
    move |source| ExtractError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A line (or object) that could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct BadLine {
    pub file: PathBuf,
    /// 1-based line, or object number for back-to-back files.
    pub line: usize,
    pub reason: String,
}

impl std::fmt::Display for BadLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.reason)
    }
}

/// The files that cover a time range, by kind, and the partition folders
/// skipped on the way.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Selection {
    pub json: Vec<PathBuf>,
    pub parquet: Vec<PathBuf>,
    /// Partition folders whose names are out of range (`hour=24`,
    /// `month=13`, `year=300000`, February 30th): never read.
    pub skipped: Vec<SkippedFile>,
}

fn subdirs(dir: &Path) -> Result<Vec<(String, PathBuf)>, ExtractError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(dir)(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io(dir))?;
        if entry.file_type().map_err(io(dir))?.is_dir() {
            out.push((
                entry.file_name().to_string_lossy().into_owned(),
                entry.path(),
            ));
        }
    }
    out.sort();
    Ok(out)
}

/// The subfolders of `dir` named `key=value`, with their values; those of
/// the key but out of its range go to `skipped`.
fn partitions(
    dir: &Path,
    key: Key,
    skipped: &mut Vec<SkippedFile>,
) -> Result<Vec<(u32, PathBuf)>, ExtractError> {
    let mut out = Vec::new();
    for (name, path) in subdirs(dir)? {
        match partition::parse(&name, key) {
            None => {}
            Some(Ok(v)) => out.push((v, path)),
            Some(Err(reason)) => skipped.push(SkippedFile { path, reason }),
        }
    }
    Ok(out)
}

pub(crate) fn files_in(
    dir: &Path,
    want: impl Fn(&str) -> bool,
) -> Result<Vec<PathBuf>, ExtractError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // Dot files are in-flight writes (Firehose-style temporary names).
        if !name.starts_with('.') && entry.file_type().map_err(io(dir))?.is_file() && want(&name) {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

/// The days (start, folder) under a `year=/month=/day=` tree overlapping
/// [from, to); folders out of range go to `skipped`.
pub(crate) fn days(
    root: &Path,
    from_us: i64,
    to_us: i64,
    skipped: &mut Vec<SkippedFile>,
) -> Result<Vec<(i64, PathBuf)>, ExtractError> {
    let mut out = Vec::new();
    for (year, ydir) in partitions(root, Key::Year, skipped)? {
        for (month, mdir) in partitions(&ydir, Key::Month, skipped)? {
            for (day, ddir) in partitions(&mdir, Key::Day, skipped)? {
                let start = match partition::day_start(year, month, day) {
                    Ok(s) => s,
                    Err(reason) => {
                        skipped.push(SkippedFile { path: ddir, reason });
                        continue;
                    }
                };
                if start < to_us && start + MICROS_PER_DAY > from_us {
                    out.push((start, ddir));
                }
            }
        }
    }
    Ok(out)
}

/// The hour folders (start, folder) of a day folder starting at `day_us`;
/// folders out of range go to `skipped`.
pub(crate) fn hours(
    day_us: i64,
    ddir: &Path,
    skipped: &mut Vec<SkippedFile>,
) -> Result<Vec<(i64, PathBuf)>, ExtractError> {
    Ok(partitions(ddir, Key::Hour, skipped)?
        .into_iter()
        .map(|(h, dir)| (day_us + i64::from(h) * MICROS_PER_HOUR, dir))
        .collect())
}

/// The extract files covering [from, to): the Parquet of compacted days,
/// and the JSON no Parquet file holds. Nothing outside the range is
/// listed; a range outside 1970-9999 is refused.
pub fn select(lake: &Path, from_us: i64, to_us: i64) -> Result<Selection, ExtractError> {
    partition::check_range(from_us, to_us)?;
    let mut sel = Selection::default();
    // Days a Parquet file without a manifest stands for whole, and the
    // extracts (`hour=HH/<file>`) that manifests say are held.
    let mut whole_days: Vec<i64> = Vec::new();
    let mut held: Vec<(i64, String)> = Vec::new();
    let parquet_days = days(
        &lake.join(partition::PARQUET_DIR),
        from_us,
        to_us,
        &mut sel.skipped,
    )?;
    for (day, dir) in &parquet_days {
        for f in files_in(dir, |n| n.ends_with(".parquet"))? {
            match crate::manifest::read(&f) {
                Ok(None) => {
                    whole_days.push(*day);
                    sel.parquet.push(f);
                }
                Ok(Some(m)) => {
                    held.extend(m.sources.into_iter().map(|s| (*day, s)));
                    sel.parquet.push(f);
                }
                // Unverifiable, so not read, and it hides no JSON.
                Err(reason) => sel.skipped.push(SkippedFile { path: f, reason }),
            }
        }
    }
    for (day, ddir) in days(
        &lake.join(partition::JSON_DIR),
        from_us,
        to_us,
        &mut sel.skipped,
    )? {
        if whole_days.contains(&day) {
            continue;
        }
        for (start, hdir) in hours(day, &ddir, &mut sel.skipped)? {
            if start < to_us && start + MICROS_PER_HOUR > from_us {
                for f in files_in(&hdir, |_| true)? {
                    let source = f.strip_prefix(&ddir).unwrap_or(&f).to_string_lossy();
                    if !held.iter().any(|(d, s)| *d == day && *s == source) {
                        sel.json.push(f);
                    }
                }
            }
        }
    }
    Ok(sel)
}

/// Reads one JSON extract (plain or gzip; newline-delimited or back to
/// back), returning its records and the lines it could not read.
pub fn read_json(path: &Path) -> Result<(Vec<Record>, Vec<BadLine>), ExtractError> {
    let mut records = Vec::new();
    let bad = for_each_record(path, |r| records.push(r.clone().into_record()))?;
    Ok((records, bad))
}

pub use codec::extract::{MAX_DECOMPRESSED_BYTES, MAX_GZIP_RATIO, MAX_RECORD_BYTES};

/// Hands each record of one JSON extract to `take`, borrowed from the
/// file's bytes, and returns the lines it could not read, named with the
/// file (the framing is [`codec::extract`]'s). An error (unreadable,
/// corrupt or truncated gzip, past [`MAX_DECOMPRESSED_BYTES`]) may come
/// after some records were taken: the caller drops the file's records then.
pub fn for_each_record(
    path: &Path,
    take: impl FnMut(&RecordRef<'_>),
) -> Result<Vec<BadLine>, ExtractError> {
    let file = std::fs::File::open(path).map_err(io(path))?;
    let size = file.metadata().map_err(io(path))?.len();
    let bad = codec::extract::ExtractReader::default()
        .for_each_record(file, size, take)
        .map_err(|e| match e {
            ReadError::Io(source) => io(path)(source),
            ReadError::TooLarge { limit } => ExtractError::TooLarge {
                path: path.to_owned(),
                limit,
            },
            ReadError::RecordTooLong { line, limit } => ExtractError::RecordTooLong {
                path: path.to_owned(),
                line,
                limit,
            },
        })?;
    Ok(bad
        .into_iter()
        .map(|b| BadLine {
            file: path.to_owned(),
            line: b.line,
            reason: b.reason,
        })
        .collect())
}

#[cfg(test)]
mod tests;
