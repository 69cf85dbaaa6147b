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

use std::io::Read;
use std::path::{Path, PathBuf};

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

/// The most one gzip extract may decompress to. Firehose buffers at most
/// 128 MiB before it compresses, so a real extract is far below this; a
/// file past it (a gzip bomb) is skipped.
pub const MAX_DECOMPRESSED_BYTES: u64 = 1 << 30;

/// The most one gzip extract may decompress to, as a multiple of its own
/// size (but at least [`MAX_RECORD_BYTES`]). Telemetry JSON compresses
/// about tenfold; a bomb of zeros a thousandfold, and one of a repeated
/// record a few hundredfold, whose records would all be held at once
/// (a file's rows join the range whole). So the rows a file yields stay
/// in proportion to its size on disk, which the memory budget plans by.
pub const MAX_GZIP_RATIO: u64 = 100;

/// The longest record read as one: a telemetry record is a few hundred
/// bytes. A line longer than this is split into its objects as it streams
/// (back-to-back files are one long line); one object longer than this
/// skips the file.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// Bytes read (or decompressed) at a time.
const CHUNK: usize = 1 << 20;

/// Hands each record of one JSON extract to `take`, borrowed from the
/// file's bytes, and returns the lines it could not read. The file streams
/// through a buffer of about [`CHUNK`] plus one record, so neither a large
/// file nor a gzip bomb is ever held whole. An error (unreadable, corrupt
/// or truncated gzip, past [`MAX_DECOMPRESSED_BYTES`]) may come after some
/// records were taken: the caller drops the file's records then.
pub fn for_each_record(
    path: &Path,
    take: impl FnMut(&RecordRef<'_>),
) -> Result<Vec<BadLine>, ExtractError> {
    let file = std::fs::File::open(path).map_err(io(path))?;
    let size = file.metadata().map_err(io(path))?.len();
    let limit = size
        .saturating_mul(MAX_GZIP_RATIO)
        .max(MAX_RECORD_BYTES as u64)
        .min(MAX_DECOMPRESSED_BYTES);
    let mut raw = std::io::BufReader::with_capacity(CHUNK, file);
    let gzip = std::io::BufRead::fill_buf(&mut raw)
        .map_err(io(path))?
        .starts_with(&[0x1f, 0x8b]);
    let mut input: Box<dyn Read> = if gzip {
        Box::new(flate2::bufread::MultiGzDecoder::new(raw))
    } else {
        Box::new(raw)
    };
    let mut lines = Lines {
        path,
        take,
        bad: Vec::new(),
    };
    let mut buf: Vec<u8> = Vec::with_capacity(2 * CHUNK);
    // buf[start..] is not consumed yet; buf[start..start + scanned] holds
    // no newline. `line` is the number of the line at `start`.
    let (mut start, mut scanned, mut line) = (0usize, 0usize, 1usize);
    let mut total = 0u64;
    // Within a line too long to be one record: the objects taken so far,
    // or, after bytes that are not JSON, None until the line ends.
    let mut long: Option<Option<usize>> = None;
    loop {
        buf.drain(..start);
        start = 0;
        let len = buf.len();
        buf.resize(len + CHUNK, 0);
        let n = loop {
            match input.read(&mut buf[len..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io(path)(e)),
            }
        };
        buf.truncate(len + n);
        total += n as u64;
        if gzip && total > limit {
            return Err(ExtractError::TooLarge {
                path: path.to_owned(),
                limit,
            });
        }
        let eof = n == 0;
        // The decoder borrows from the buffer, so it lasts one chunk.
        let mut decoder = codec::Decoder::default();
        let d = &mut decoder;
        // Every whole line in the buffer.
        while let Some(i) = memchr::memchr(b'\n', &buf[start + scanned..]) {
            let end = start + scanned + i;
            let text = &buf[start..end];
            match long.take() {
                None => lines.line(d, text, line),
                Some(Some(taken)) => {
                    lines.objects(d, text, taken, true);
                }
                Some(None) => {}
            }
            start = end + 1;
            scanned = 0;
            line += 1;
        }
        scanned = buf.len() - start;
        if eof {
            let text = &buf[start..];
            match long {
                None => lines.line(d, text, line),
                Some(Some(taken)) => {
                    lines.objects(d, text, taken, true);
                }
                Some(None) => {}
            }
            return Ok(lines.bad);
        }
        // A line longer than any record: take its whole objects now.
        if scanned > MAX_RECORD_BYTES {
            if let Some(taken) = *long.get_or_insert(Some(0)) {
                let (used, taken, ok) = lines.objects(d, &buf[start..], taken, false);
                start += used;
                scanned -= used;
                long = Some(ok.then_some(taken));
                if ok && scanned > MAX_RECORD_BYTES {
                    return Err(ExtractError::RecordTooLong {
                        path: path.to_owned(),
                        line,
                        limit: MAX_RECORD_BYTES,
                    });
                }
            }
            if long == Some(None) {
                // Not JSON: dropped up to the end of the line.
                start = buf.len();
                scanned = 0;
            }
        }
    }
}

/// Decodes lines and objects of one file for [`for_each_record`].
struct Lines<'p, F> {
    path: &'p Path,
    take: F,
    bad: Vec<BadLine>,
}

impl<F: FnMut(&RecordRef<'_>)> Lines<'_, F> {
    // Records in an extract carry their own time; arrival is long past, so
    // the future rule uses the record's own clock only as a bound.
    const ARRIVAL: i64 = i64::MAX / 2;

    fn bad_line(&mut self, line: usize, reason: String) {
        self.bad.push(BadLine {
            file: self.path.to_owned(),
            line,
            reason,
        });
    }

    /// One whole line, numbered `n`.
    fn line<'a>(&mut self, decoder: &mut codec::Decoder<'a>, text: &'a [u8], n: usize) {
        if text.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        match decoder.decode(text, Self::ARRIVAL) {
            Ok(r) => (self.take)(r),
            // Firehose without a delimiter writes objects back to back,
            // which read as one line with trailing characters. Checked only
            // when a line fails, so whole lines cost one parse.
            Err(_) if has_adjacent_objects(text) => {
                self.objects(decoder, text, 0, true);
            }
            Err(e) => self.bad_line(n, e.to_string()),
        }
    }

    /// The objects back to back in `text`, numbered on from `taken`. With
    /// `end`, `text` is the rest of its line; without, an object cut at
    /// the end of `text` is left for the next call. Returns the bytes used,
    /// the objects taken so far, and false after bytes that are not JSON
    /// (reported; the rest of the line is not read).
    fn objects<'a>(
        &mut self,
        decoder: &mut codec::Decoder<'a>,
        text: &'a [u8],
        mut taken: usize,
        end: bool,
    ) -> (usize, usize, bool) {
        // Not at the line's end, only up to the last `}`: the bytes after it
        // belong to an object cut by the chunk, and a cut in a number or a
        // `true` reads as a wrong value rather than as a short one.
        let text = if end {
            text
        } else {
            // `text` starts where an object must: anything else is not
            // JSON, however long (a bomb of zeros has no `}` at all).
            if text.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
                self.bad_line(taken + 1, "not JSON: not an object".into());
                return (text.len(), taken, false);
            }
            &text[..memchr::memrchr(b'}', text).map_or(0, |i| i + 1)]
        };
        let mut stream =
            serde_json::Deserializer::from_slice(text).into_iter::<serde::de::IgnoredAny>();
        let mut from = 0;
        loop {
            let item = stream.next();
            let to = stream.byte_offset();
            match item {
                None => return (text.len(), taken, true),
                Some(Ok(_)) => {
                    taken += 1;
                    match decoder.decode(&text[from..to], Self::ARRIVAL) {
                        Ok(r) => (self.take)(r),
                        Err(e) => self.bad_line(taken, e.to_string()),
                    }
                    from = to;
                }
                Some(Err(e)) if e.is_eof() && !end => return (from, taken, true),
                Some(Err(e)) => {
                    self.bad_line(taken + 1, format!("not JSON: {e}"));
                    return (text.len(), taken, false);
                }
            }
        }
    }
}

/// Whether a line holds `}{` outside strings: two objects back to back.
fn has_adjacent_objects(line: &[u8]) -> bool {
    let mut in_string = false;
    let mut escaped = false;
    let mut last_close = false;
    for &b in line {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                last_close = false;
            }
            b'}' => last_close = true,
            b'{' if last_close => return true,
            b if b.is_ascii_whitespace() => {}
            _ => last_close = false,
        }
    }
    false
}

#[cfg(test)]
mod tests;
