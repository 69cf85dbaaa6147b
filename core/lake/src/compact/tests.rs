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
