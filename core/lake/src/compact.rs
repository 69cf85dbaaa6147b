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
use crate::{LakeError, SkippedFile, extract, io_at, table};

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

/// The folder of one day under `readings/<kind>`.
fn day_dir(lake: &Path, kind: &str, day_us: i64) -> PathBuf {
    let c = gridwatch_core::time::civil(day_us);
    lake.join("readings")
        .join(kind)
        .join(format!("year={:04}", c.year))
        .join(format!("month={:02}", c.month))
        .join(format!("day={:02}", c.day))
}

/// The first Parquet file of the day starting at `day_us`.
pub fn parquet_path(lake: &Path, day_us: i64) -> PathBuf {
    day_dir(lake, "parquet", day_us).join("part-0.parquet")
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
    crate::partition::check_range(from_us, to_us)?;
    let mut report = CompactReport::default();
    let today = now_us - now_us.rem_euclid(MICROS_PER_DAY);
    let days = extract::days(
        &lake.join("readings/json"),
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
    let parquet_dir = day_dir(lake, "parquet", day);
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
    let json_root = lake.join("readings/json");
    let quarantine_root = lake.join("readings/quarantine");
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
mod tests {
    use super::*;
    use crate::{Readings, ReadingsQuery};

    const DAY_US: i64 = 1_700_006_400_000_000; // 2023-11-15T00:00:00Z
    const JSON_DAY: &str = "readings/json/year=2023/month=11/day=15";
    const NOW: i64 = DAY_US + 10 * MICROS_PER_DAY;

    fn rec(device: &str, hour: i64, minute: i64) -> String {
        format!(
            "{{\"Time\": {}, \"DeviceID\": \"{device}\", \"watt_measure\": 100, \"voltage_measure\": 230}}\n",
            (DAY_US + hour * 3_600_000_000 + minute * 60_000_000) / 1000
        )
    }

    fn put(lake: &Path, rel: &str, body: &[u8]) -> PathBuf {
        let p = lake.join(JSON_DAY).join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, body).unwrap();
        p
    }

    fn records(lake: &Path) -> (usize, LoadSummary) {
        let q = ReadingsQuery::new(DAY_US, DAY_US + MICROS_PER_DAY);
        let r = Readings::scan(lake, &q).unwrap();
        (
            r.report.records,
            LoadSummary {
                bad_lines: r.report.bad_lines.len(),
                skipped: r
                    .report
                    .skipped_files
                    .iter()
                    .map(|s| s.path.file_name().unwrap().to_string_lossy().into_owned())
                    .collect(),
            },
        )
    }

    #[derive(Debug, PartialEq)]
    struct LoadSummary {
        bad_lines: usize,
        skipped: Vec<String>,
    }

    fn run(lake: &Path, from: i64, to: i64, keep_json: bool) -> CompactReport {
        compact(lake, from, to, NOW, keep_json, &AtomicBool::new(false)).unwrap()
    }

    /// `--from` in the middle of the day: the day is compacted whole, and
    /// nothing is deleted that is not in the Parquet file. Before, the
    /// selected hours were read and the whole day's folder removed: the
    /// morning's readings, the bad lines and the unreadable file went.
    #[test]
    fn a_day_partly_in_range_is_compacted_whole_and_nothing_unread_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let lake = dir.path();
        let morning = put(
            lake,
            "hour=00/a",
            (rec("m1", 0, 0) + &rec("m2", 0, 5)).as_bytes(),
        );
        let with_bad = format!("{}{{oops\n{}", rec("m1", 10, 0), rec("m2", 10, 5));
        let noon = put(lake, "hour=10/b", with_bad.as_bytes());
        let evening = put(
            lake,
            "hour=20/c",
            (rec("m1", 20, 0) + &rec("m2", 20, 5)).as_bytes(),
        );
        let broken = put(lake, "hour=20/d.gz", &[0x1f, 0x8b, 8, 0, 1, 2, 3]);
        assert_eq!(records(lake).0, 6);

        let report = run(
            lake,
            DAY_US + 12 * 3_600_000_000,
            DAY_US + MICROS_PER_DAY,
            false,
        );
        assert_eq!((report.days, report.records), (1, 6));
        assert_eq!(report.bad_lines.len(), 1);
        let quarantined = lake.join("readings/quarantine/year=2023/month=11/day=15/hour=10/b");
        assert_eq!(report.quarantined, vec![quarantined.clone()]);
        assert_eq!(
            report
                .skipped_files
                .iter()
                .map(|s| &s.path)
                .collect::<Vec<_>>(),
            vec![&broken]
        );
        // The compacted files are gone; the bad lines are kept verbatim; the
        // file that could not be read stays where it was.
        assert!(!morning.exists() && !noon.exists() && !evening.exists());
        assert_eq!(std::fs::read_to_string(&quarantined).unwrap(), with_bad);
        assert!(broken.exists());
        let part = parquet_path(lake, DAY_US);
        let m = manifest::read(&part).unwrap().unwrap();
        assert_eq!(m.records, 6);
        assert_eq!(m.sources, ["hour=00/a", "hour=10/b", "hour=20/c"]);
        // The views: every reading once, from the Parquet file; the
        // unreadable extract still named.
        assert_eq!(
            records(lake),
            (
                6,
                LoadSummary {
                    bad_lines: 0,
                    skipped: vec!["d.gz".into()]
                }
            )
        );
    }

    /// JSON that arrives for a compacted day is read beside its Parquet,
    /// and JSON kept by --keep-json is not read a second time. Before, any
    /// Parquet file hid its day's JSON: the late readings were never seen.
    #[test]
    fn late_json_is_read_beside_the_parquet_and_kept_json_counts_once() {
        let dir = tempfile::tempdir().unwrap();
        let lake = dir.path();
        let kept = put(
            lake,
            "hour=01/a",
            (rec("m1", 1, 0) + &rec("m2", 1, 5)).as_bytes(),
        );
        let day = (DAY_US, DAY_US + MICROS_PER_DAY);
        assert_eq!(run(lake, day.0, day.1, true).records, 2);
        assert!(kept.exists());
        assert_eq!(records(lake).0, 2);

        let late = put(
            lake,
            "hour=02/late",
            (rec("m1", 2, 0) + &rec("m2", 2, 5) + &rec("m3", 2, 9)).as_bytes(),
        );
        assert_eq!(records(lake).0, 5);

        // Compacting again holds only what no part holds yet.
        let again = run(lake, day.0, day.1, false);
        assert_eq!((again.days, again.records), (1, 3));
        assert!(!late.exists());
        let second = lake.join("readings/parquet/year=2023/month=11/day=15/part-1.parquet");
        assert_eq!(
            manifest::read(&second).unwrap().unwrap().sources,
            ["hour=02/late"]
        );
        assert_eq!(records(lake).0, 5);
        // Nothing new: nothing written.
        assert_eq!(run(lake, day.0, day.1, false).days, 0);
        assert_eq!(records(lake).0, 5);
    }

    /// A compacted file changed on disk (a flipped bit) is skipped with
    /// "checksum mismatch" instead of giving other figures; one without a
    /// manifest (another tool's) is read as it is.
    #[test]
    fn a_compacted_file_that_changed_is_skipped_and_one_without_a_manifest_read() {
        let dir = tempfile::tempdir().unwrap();
        let lake = dir.path();
        put(
            lake,
            "hour=01/a",
            (rec("m1", 1, 0) + &rec("m2", 1, 5)).as_bytes(),
        );
        run(lake, DAY_US, DAY_US + MICROS_PER_DAY, false);
        let part = parquet_path(lake, DAY_US);
        let mut bytes = std::fs::read(&part).unwrap();
        let i = bytes.len() / 2;
        bytes[i] ^= 0x10;
        std::fs::write(&part, &bytes).unwrap();
        let q = ReadingsQuery::new(DAY_US, DAY_US + MICROS_PER_DAY);
        let r = Readings::scan(lake, &q).unwrap();
        assert_eq!(r.report.records, 0);
        assert_eq!(r.report.skipped_files.len(), 1);
        assert_eq!(r.report.skipped_files[0].reason, "checksum mismatch");
        bytes[i] ^= 0x10;
        std::fs::write(&part, &bytes).unwrap();
        std::fs::remove_file(manifest::path_for(&part)).unwrap();
        assert_eq!(Readings::scan(lake, &q).unwrap().report.records, 2);
    }

    fn figures(lake: &Path) -> (Vec<Vec<String>>, Vec<String>) {
        let q = ReadingsQuery::new(DAY_US, DAY_US + MICROS_PER_DAY);
        let r = Readings::scan(lake, &q).unwrap();
        let by = [crate::GroupKey::Device];
        let rows = crate::table::result_table(&r.aggregate(&by, None).unwrap())
            .unwrap()
            .rows
            .iter()
            .map(|row| row.iter().map(|c| format!("{c:?}")).collect())
            .collect();
        let skipped = r
            .report
            .skipped_files
            .iter()
            .map(|s| s.to_string())
            .collect();
        (rows, skipped)
    }

    /// The bit-flip corpus: a small compacted file and its manifest, a bit
    /// flipped at every Nth byte (about 180 mutants, each a different bit of
    /// its byte). Every mutant gives the original figures or is skipped
    /// and named; none gives other figures.
    #[test]
    fn every_bit_flip_in_a_compacted_file_is_caught_or_harmless() {
        let dir = tempfile::tempdir().unwrap();
        let lake = dir.path();
        for h in 0..6 {
            let lines: String = (0..8)
                .map(|i| {
                    format!(
                        "{{\"Time\": {}, \"DeviceID\": \"m{}\", \"watt_measure\": {}, \"energy_measure\": {}, \"voltage_measure\": {}, \"Region\": \"r{}\"}}\n",
                        (DAY_US + h * 3_600_000_000 + i * 300_000_000) / 1000,
                        i % 4,
                        100 + 7 * i + h,
                        h * 10 + i,
                        225 + (i + h) % 9,
                        i % 2
                    )
                })
                .collect();
            put(lake, &format!("hour={h:02}/f"), lines.as_bytes());
        }
        let want = figures(lake);
        assert_eq!(want.0.len(), 4);
        assert!(want.1.is_empty());
        assert_eq!(
            run(lake, DAY_US, DAY_US + MICROS_PER_DAY, false).records,
            48
        );
        assert_eq!(figures(lake), want);
        let part = parquet_path(lake, DAY_US);
        let (mut mutants, mut caught) = (0, 0);
        for (target, count) in [(part.clone(), 150), (manifest::path_for(&part), 30)] {
            let original = std::fs::read(&target).unwrap();
            let step = (original.len() / count).max(1);
            for (k, i) in (0..original.len()).step_by(step).enumerate() {
                let mut bytes = original.clone();
                bytes[i] ^= 1 << (k % 8);
                std::fs::write(&target, &bytes).unwrap();
                let (rows, skipped) = figures(lake);
                mutants += 1;
                if skipped.is_empty() {
                    assert_eq!(
                        rows,
                        want.0,
                        "{}: bit {} of byte {i}",
                        target.display(),
                        k % 8
                    );
                } else {
                    assert_eq!(skipped.len(), 1, "{skipped:?}");
                    assert!(
                        skipped[0].starts_with(&part.display().to_string()),
                        "{skipped:?}"
                    );
                    caught += 1;
                }
            }
            std::fs::write(&target, &original).unwrap();
        }
        assert!(mutants >= 150, "{mutants}");
        // Every flip of the Parquet file itself is caught by its checksum.
        assert!(caught >= 150, "{caught} of {mutants}");
        assert_eq!(figures(lake), want);
    }

    /// A stop (the flag set) before or between days leaves the lake as it
    /// was: no Parquet file half-made, every extract in place.
    #[test]
    fn a_cancelled_compaction_changes_nothing_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let lake = dir.path();
        let f = put(lake, "hour=01/a", rec("m1", 1, 0).as_bytes());
        let report = compact(
            lake,
            DAY_US,
            DAY_US + MICROS_PER_DAY,
            NOW,
            false,
            &AtomicBool::new(true),
        )
        .unwrap();
        assert!(report.cancelled);
        assert_eq!(report.days, 0);
        assert!(f.exists());
        assert!(!lake.join("readings/parquet").exists());
        let q = ReadingsQuery::new(DAY_US, DAY_US + MICROS_PER_DAY);
        assert!(matches!(
            Readings::scan_cancellable(lake, &q, &AtomicBool::new(true)),
            Err(LakeError::Cancelled)
        ));
    }
}
