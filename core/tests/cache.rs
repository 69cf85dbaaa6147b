//! The cache's promises on files and processes it did not make itself:
//! caches left by earlier schemas, two processes opening a new cache at
//! once, retention, and a reading that comes again with another value.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::path::{Path, PathBuf};

use gridwatch_core::cache::{Checkpoint, IngestBatch};
use gridwatch_core::{Cache, CacheReader, Record};

const T0: i64 = 1_700_000_000_000_000;
const MINUTE: i64 = 60_000_000;

fn rec(device: &str, t: i64, watt: f64) -> Record {
    Record {
        device_id: device.into(),
        time_us: t,
        time_adjusted: false,
        measure_keys: Vec::new(),
        measures: vec![("watt".into(), watt)],
        dimensions: vec![],
    }
}

fn ingest(cache: &mut Cache, records: &[Record]) -> gridwatch_core::cache::IngestOutcome {
    cache
        .ingest(&IngestBatch {
            source: "embedded",
            records,
            quarantined: &[],
            checkpoints: &[],
        })
        .unwrap()
}

fn count(path: &Path, sql: &str) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

fn fixture(name: &str, dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let dst = dir.join(name);
    std::fs::copy(src, &dst).unwrap();
    dst
}

#[test]
fn caches_of_every_earlier_schema_upgrade_and_keep_everything() {
    for (name, history_rows) in [("cache-schema-1.sqlite", 0), ("cache-schema-2.sqlite", 1)] {
        let dir = tempfile::tempdir().unwrap();
        let path = fixture(name, dir.path());
        let mut cache = Cache::open(&path).unwrap();
        drop(Cache::open(&path).unwrap()); // a second open finds nothing to do
        assert_eq!(count(&path, "PRAGMA user_version"), 3, "{name}");
        let reader = CacheReader::open(&path).unwrap();
        assert_eq!(reader.reading_count().unwrap(), 40, "{name}");
        assert_eq!(reader.quarantine_count().unwrap(), 1, "{name}");
        assert_eq!(
            reader.checkpoints("embedded").unwrap(),
            vec![Checkpoint {
                shard: "shardId-000000000000".into(),
                sequence: "20".into()
            }]
        );
        let devices = reader.devices().unwrap();
        let regions: Vec<(&str, Option<&String>)> = devices
            .iter()
            .map(|d| (d.device_id.as_str(), d.dimensions.get("Region")))
            .collect();
        assert_eq!(
            regions,
            vec![
                ("meter-1", Some(&"north".to_owned())),
                ("meter-2", Some(&"south".to_owned()))
            ]
        );
        assert_eq!(
            count(&path, "SELECT count(*) FROM history_result"),
            history_rows
        );
        // The upgraded cache takes new readings and knows its old ids.
        let out = ingest(
            &mut cache,
            &[rec("meter-1", T0, 801.0), rec("meter-3", T0, 5.0)],
        );
        assert_eq!((out.readings_new, out.readings_repeated), (1, 1), "{name}");
        assert_eq!(count(&path, "SELECT count(*) FROM device"), 3);
    }
}

#[test]
fn two_processes_opening_a_new_cache_at_once_both_succeed() {
    for round in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.sqlite");
        let barrier = std::sync::Barrier::new(2);
        let results: Vec<Result<(), String>> = std::thread::scope(|s| {
            let open = || {
                barrier.wait();
                Cache::open(&path).map(drop).map_err(|e| e.to_string())
            };
            let a = s.spawn(open);
            let b = s.spawn(open);
            vec![a.join().unwrap(), b.join().unwrap()]
        });
        assert_eq!(results, vec![Ok(()), Ok(())], "round {round}");
        assert_eq!(count(&path, "PRAGMA user_version"), 3);
    }
}

#[test]
fn retention_removes_exactly_what_is_older_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.sqlite");
    let mut cache = Cache::open(&path).unwrap();
    let records: Vec<Record> = (0..10)
        .flat_map(|i| {
            [
                rec("meter-1", T0 + i * MINUTE, i as f64),
                rec("meter-2", T0 + i * MINUTE, i as f64),
            ]
        })
        .collect();
    ingest(&mut cache, &records);
    let removed = cache.prune_before(T0 + 4 * MINUTE).unwrap();
    assert_eq!(removed, 8, "4 minutes of 2 devices");
    let left: Vec<(i64, i64)> = rusqlite::Connection::open(&path)
        .unwrap()
        .prepare("SELECT device, ts_us FROM reading ORDER BY device, ts_us")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let want: Vec<(i64, i64)> = [1, 2]
        .into_iter()
        .flat_map(|d| (4..10).map(move |i| (d, T0 + i * MINUTE)))
        .collect();
    assert_eq!(left, want, "the reading at the boundary stays");
    // Pruning again, or before everything, removes nothing more.
    assert_eq!(cache.prune_before(T0 + 4 * MINUTE).unwrap(), 0);
    assert_eq!(cache.prune_before(i64::MIN).unwrap(), 0);
    assert_eq!(count(&path, "SELECT count(*) FROM device"), 2);
}

#[test]
fn a_reading_that_comes_again_with_another_value_is_a_conflict_kept_aside() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite");
    let mut cache = Cache::open(&path).unwrap();
    let first = ingest(
        &mut cache,
        &[rec("m", T0, 100.0), rec("m", T0 + MINUTE, 1.0)],
    );
    assert_eq!((first.readings_new, first.conflicts), (2, 0));
    let again = ingest(
        &mut cache,
        &[rec("m", T0, 100.0), rec("m", T0 + MINUTE, 2.0)],
    );
    assert_eq!(
        (again.readings_new, again.readings_repeated, again.conflicts),
        (0, 1, 1)
    );
    // Replaying the conflicting record keeps it once.
    let replay = ingest(&mut cache, &[rec("m", T0 + MINUTE, 2.0)]);
    assert_eq!((replay.readings_repeated, replay.conflicts), (1, 0));
    let reader = CacheReader::open(&path).unwrap();
    assert_eq!(reader.conflict_count().unwrap(), 1);
    let (held, other): (f64, f64) = reader
        .connection()
        .query_row(
            "SELECT r.value, c.value FROM conflict c JOIN reading r
             USING (device, measure, ts_us)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (held, other),
        (1.0, 2.0),
        "the first value stays the reading"
    );
}

#[test]
fn a_chart_over_the_widest_range_neither_panics_nor_wraps() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.sqlite");
    let mut cache = Cache::open(&path).unwrap();
    ingest(&mut cache, &[rec("m", T0, 5.0), rec("m", T0 + MINUTE, 7.0)]);
    let reader = CacheReader::open(&path).unwrap();
    let columns = reader
        .chart(Some("m"), "watt", i64::MIN, i64::MAX, 2)
        .unwrap();
    // Both readings fall in the upper half of the whole i64 range.
    let counts: Vec<u64> = columns.iter().map(|c| c.count).collect();
    assert_eq!(counts.iter().sum::<u64>(), 2, "{columns:?}");
    assert_eq!(columns.last().map(|c| (c.min, c.max)), Some((5.0, 7.0)));
}

#[test]
fn retention_also_removes_old_conflicts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rc.sqlite");
    let mut cache = Cache::open(&path).unwrap();
    ingest(
        &mut cache,
        &[rec("m", T0, 1.0), rec("m", T0 + 10 * MINUTE, 1.0)],
    );
    ingest(
        &mut cache,
        &[rec("m", T0, 2.0), rec("m", T0 + 10 * MINUTE, 2.0)],
    );
    assert_eq!(count(&path, "SELECT count(*) FROM conflict"), 2);
    cache.prune_before(T0 + MINUTE).unwrap();
    assert_eq!(count(&path, "SELECT ts_us FROM conflict"), T0 + 10 * MINUTE);
    assert_eq!(count(&path, "SELECT count(*) FROM conflict"), 1);
}

#[test]
fn checkpoints_filed_under_a_streams_name_carry_over_to_its_identity_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.sqlite");
    let mut cache = Cache::open(&path).unwrap();
    let legacy = "kinesis:telemetry";
    let identity = "kinesis:arn:aws:kinesis:us-east-1:000000000000:stream/telemetry@1700000000";
    let checkpoints = [
        Checkpoint {
            shard: "shardId-000000000000".into(),
            sequence: "495".into(),
        },
        Checkpoint {
            shard: "shardId-000000000001".into(),
            sequence: "SHARD_END".into(),
        },
    ];
    cache
        .ingest(&IngestBatch {
            source: legacy,
            records: &[],
            quarantined: &[],
            checkpoints: &checkpoints,
        })
        .unwrap();
    assert_eq!(cache.adopt_checkpoints(legacy, identity).unwrap(), 2);
    let reader = CacheReader::open(&path).unwrap();
    let mut adopted = reader.checkpoints(identity).unwrap();
    adopted.sort_by(|a, b| a.shard.cmp(&b.shard));
    assert_eq!(adopted, checkpoints);
    // Once the identity has its own, nothing is taken over again.
    assert_eq!(cache.adopt_checkpoints(legacy, identity).unwrap(), 0);
    assert_eq!(
        cache
            .adopt_checkpoints("kinesis:other", "kinesis:fresh")
            .unwrap(),
        0
    );
    assert!(reader.checkpoints("kinesis:fresh").unwrap().is_empty());
}
