//! A SIGKILL in the middle of ingest leaves a cache that opens cleanly and
//! holds exactly the committed batches and their checkpoints: every record
//! up to each shard's checkpoint, and nothing after it.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use gridwatch_core::Cache;
use gridwatch_core::bus::Bus;
use gridwatch_simulator::Fleet;
use gridwatch_tests::{KillOnDrop, gridwatch_bin, wait_for};
use gridwatch_types::FleetSpec;

const START_US: i64 = 1_700_000_000_000_000;
const SHARDS: u32 = 3;

#[test]
fn sigkill_mid_ingest_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cache_path = dir.path().join("crash.sqlite");
    let child = Command::new(gridwatch_bin())
        .arg("--cache")
        .arg(&cache_path)
        .args([
            "simulate",
            "--devices",
            "100",
            "--interval",
            "1s",
            "--duration",
            "24h",
            "--fast",
            "--shards",
            "3",
            "--seed",
            "42",
            "--start",
        ])
        .arg((START_US / 1000).to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("gridwatch starts");
    let mut child = KillOnDrop(child);

    // Let it commit a good number of batches, then kill it mid-stream.
    wait_for(
        Duration::from_secs(60),
        "the first committed batches",
        || gridwatch_tests::cached_readings(&cache_path).filter(|n| *n >= 100_000),
    );
    child.0.kill().expect("SIGKILL");
    let status = child.0.wait().unwrap();
    assert!(!status.success(), "the child was killed, not finished");

    // Reopening runs SQLite's recovery; the file must be sound.
    let cache = Cache::open(&cache_path).expect("the cache opens after a crash");
    let integrity: String = cache
        .connection()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let checkpoints: HashMap<String, u64> = cache
        .checkpoints("embedded")
        .unwrap()
        .into_iter()
        .map(|c| (c.shard, c.sequence.parse().unwrap()))
        .collect();
    assert!(!checkpoints.is_empty());

    // Replay the same fleet: the same records reach the same shards with the
    // same sequence numbers. Those at or below their shard's checkpoint are
    // what the cache must hold.
    let spec = FleetSpec {
        smart_meters: 100,
        seed: 42,
        ..FleetSpec::default()
    };
    let mut fleet = Fleet::new(&spec, START_US);
    let (bus, _readers) = Bus::new(SHARDS, 1, &[]);
    let mut next_seq = vec![1u64; SHARDS as usize];
    let mut expected: HashMap<(String, String, i64), f64> = HashMap::new();
    loop {
        let done = (0..SHARDS).all(|s| {
            let name = gridwatch_core::bus::ShardId(s).name();
            next_seq[s as usize] > checkpoints.get(&name).copied().unwrap_or(0)
        });
        if done {
            break;
        }
        let record = fleet.next_record().unwrap();
        let shard = bus.route(&record.device_id);
        let seq = next_seq[shard.0 as usize];
        next_seq[shard.0 as usize] += 1;
        if seq <= checkpoints.get(&shard.name()).copied().unwrap_or(0) {
            for (m, v) in &record.measures {
                expected.insert((record.device_id.clone(), m.clone(), record.time_us), *v);
            }
        }
    }

    let mut stmt = cache
        .connection()
        .prepare(
            "SELECT d.device_id, m.name, r.ts_us, r.value FROM reading r
             JOIN device d ON d.id = r.device JOIN measure m ON m.id = r.measure",
        )
        .unwrap();
    let stored: HashMap<(String, String, i64), f64> = stmt
        .query_map([], |r| Ok(((r.get(0)?, r.get(1)?, r.get(2)?), r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        stored.len(),
        expected.len(),
        "the cache holds exactly the readings up to the checkpoints"
    );
    for (key, value) in &expected {
        assert_eq!(stored.get(key), Some(value), "missing or changed: {key:?}");
    }
}
