//! When the cache cannot take what a Kinesis ingest reads (a lock held by
//! another process, a full disk), the ingest stops, says why, and leaves the
//! cache as it was after its last commit: every reading up to each shard's
//! checkpoint, nothing after it. Against kinesalite on 127.0.0.1.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use gridwatch_tests::{
    KillOnDrop, Kinesalite, SmallDisk, cached_readings, create_stream, ingest_cmd, output_within,
    put_records, wait_for,
};

/// A hang guard: far more than a run that stops within 10 s needs.
const HANG_GUARD: Duration = Duration::from_secs(60);

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A seed-format record: device `d`'s reading number `n`, two measures.
fn record(d: u64, n: u64) -> (String, Vec<u8>) {
    let device = format!("meter-{d:02}");
    let data = format!(
        r#"{{"Time": {}, "DeviceID": "{device}", "seq_measure": {n}, "watt_measure": {}}}"#,
        1_700_000_000_000u64 + n * 1000,
        100 + n % 50
    );
    (device, data.into_bytes())
}

/// Readings n in `from..to` of `devices` devices.
fn wave(devices: u64, from: u64, to: u64) -> Vec<(String, Vec<u8>)> {
    (from..to)
        .flat_map(|n| (0..devices).map(move |d| record(d, n)))
        .collect()
}

fn readings(cache: &Path) -> i64 {
    cached_readings(cache).expect("the cache holds readings")
}

/// The (device, reading number) pairs the cache holds: its `seq` measure.
fn held(cache: &Path) -> BTreeSet<(String, u64)> {
    let conn = rusqlite::Connection::open(cache).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT d.device_id, r.value FROM reading r JOIN device d ON d.id = r.device
             JOIN measure m ON m.id = r.measure WHERE m.name = 'seq'",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, f64>(1)? as u64)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Every stored (source, shard) -> sequence.
fn checkpoints(cache: &Path) -> Vec<(String, String, String)> {
    let conn = rusqlite::Connection::open(cache).unwrap();
    let mut stmt = conn
        .prepare("SELECT source, shard, sequence FROM checkpoint ORDER BY source, shard")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Kinesis sequence numbers are decimal strings longer than any integer
/// type: without leading zeros, the longer is the larger.
fn seq_le(a: &str, b: &str) -> bool {
    (a.len(), a) <= (b.len(), b)
}

/// Every record of every shard of `stream`, as (shard, sequence, device, n).
async fn all_records(
    client: &aws_sdk_kinesis::Client,
    stream: &str,
) -> Vec<(String, String, String, u64)> {
    use aws_sdk_kinesis::types::ShardIteratorType;
    let mut out = Vec::new();
    let shards = client
        .list_shards()
        .stream_name(stream)
        .send()
        .await
        .unwrap();
    for shard in shards.shards() {
        let mut it = client
            .get_shard_iterator()
            .stream_name(stream)
            .shard_id(shard.shard_id())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator()
            .map(str::to_owned);
        while let Some(i) = it {
            let page = client.get_records().shard_iterator(i).send().await.unwrap();
            for r in page.records() {
                let v: serde_json::Value = serde_json::from_slice(r.data().as_ref()).unwrap();
                out.push((
                    shard.shard_id().to_owned(),
                    r.sequence_number().to_owned(),
                    v["DeviceID"].as_str().unwrap().to_owned(),
                    v["seq_measure"].as_u64().unwrap(),
                ));
            }
            if page.records().is_empty() && page.millis_behind_latest() == Some(0) {
                break;
            }
            it = page.next_shard_iterator().map(str::to_owned);
        }
    }
    out
}

#[test]
fn a_cache_locked_by_another_process_stops_ingest_and_says_so() {
    let k = Kinesalite::start(None);
    let endpoint = k.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("locked.sqlite");
    let runtime = rt();
    runtime.block_on(async {
        create_stream(&k.client(), "locked", 2).await;
        put_records(&k.client(), "locked", &wave(20, 0, 10)).await;
    });
    // Following (not --until-caught-up): only the failure may end it.
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("ingest.stderr");
    let mut child = KillOnDrop(
        ingest_cmd(&cache, &endpoint, "locked", false)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_for(HANG_GUARD, "the first wave committed", || {
        (cached_readings(&cache)? == 20 * 10 * 2).then_some(())
    });
    let committed = checkpoints(&cache);
    assert_eq!(committed.len(), 2, "{committed:?}");

    // Another process takes the write lock while the ingest runs, and holds
    // it; then more records arrive.
    let holder = rusqlite::Connection::open(&cache).unwrap();
    holder.busy_timeout(Duration::from_secs(10)).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    runtime.block_on(put_records(&k.client(), "locked", &wave(20, 10, 20)));
    let status = wait_for(HANG_GUARD, "the ingest to stop by itself", || {
        child.0.try_wait().unwrap()
    });
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(!status.success(), "it must fail: {stderr}");
    assert!(
        stderr.contains("ingest stopped: the cache is locked by another process"),
        "{stderr}"
    );
    assert!(stderr.contains("database is locked"), "{stderr}");
    assert!(stderr.contains(&cache.display().to_string()), "{stderr}");

    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);

    // Nothing of the refused batches was written, checkpoints included.
    assert_eq!(readings(&cache), 20 * 10 * 2);
    assert_eq!(checkpoints(&cache), committed);

    // And nothing is lost: once the lock is gone the next run reads on
    // after the checkpoints, every new reading once.
    let again = output_within(
        &mut ingest_cmd(&cache, &endpoint, "locked", true),
        HANG_GUARD,
    );
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(
        stdout.contains("ingested 200 records")
            && stdout.contains("400 new readings (0 already cached"),
        "{stdout}"
    );
    assert_eq!(readings(&cache), 20 * 20 * 2);
}

#[test]
fn a_full_disk_stops_ingest_and_keeps_every_committed_reading() {
    let disk = SmallDisk::mount("12m");
    let k = Kinesalite::start(None);
    let endpoint = k.endpoint();
    let cache = disk.path.join("full.sqlite");
    let runtime = rt();
    runtime.block_on(async {
        create_stream(&k.client(), "full", 2).await;
        put_records(&k.client(), "full", &wave(20, 0, 50)).await;
    });
    // Following (not --until-caught-up): only the failure may end it. Its
    // stderr goes to a file (off the small disk), so it never blocks on a
    // full pipe.
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("ingest.stderr");
    let mut child = KillOnDrop(
        ingest_cmd(&cache, &endpoint, "full", false)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_for(HANG_GUARD, "the first wave committed", || {
        (cached_readings(&cache)? == 20 * 50 * 2).then_some(())
    });
    let filler = disk.fill();
    // Far more than the disk has room for: new pages for every commit.
    runtime.block_on(async {
        for w in 0..10 {
            put_records(
                &k.client(),
                "full",
                &wave(20, 50 + w * 200, 50 + (w + 1) * 200),
            )
            .await;
        }
    });
    let status = wait_for(HANG_GUARD, "the ingest to stop by itself", || {
        child.0.try_wait().unwrap()
    });
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(!status.success(), "it must fail: {stderr}");
    assert!(
        stderr.contains("the disk holding the cache is full"),
        "{stderr}"
    );
    assert!(stderr.contains(&cache.display().to_string()), "{stderr}");

    std::fs::remove_file(&filler).unwrap();
    // The committed readings are there, and each shard's checkpoint covers
    // exactly them: every record up to it is held, none after it.
    let stored = held(&cache);
    assert!(
        stored.len() >= 20 * 50,
        "the first wave is kept: {}",
        stored.len()
    );
    let marks: HashMap<String, String> = checkpoints(&cache)
        .into_iter()
        .map(|(_, shard, seq)| (shard, seq))
        .collect();
    assert_eq!(marks.len(), 2, "{marks:?}");
    let records = runtime.block_on(all_records(&k.client(), "full"));
    assert_eq!(records.len(), 20 * 2050);
    let covered: BTreeSet<(String, u64)> = records
        .iter()
        .filter(|(shard, seq, _, _)| seq_le(seq, &marks[shard]))
        .map(|(_, _, d, n)| (d.clone(), *n))
        .collect();
    assert_eq!(
        stored, covered,
        "the cache holds exactly what its checkpoints cover"
    );
    assert!(
        covered.len() < records.len(),
        "the disk filled before the end"
    );

    // With room again, the next run reads on after the checkpoints: nothing
    // lost, nothing read twice.
    let again = output_within(&mut ingest_cmd(&cache, &endpoint, "full", true), HANG_GUARD);
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(stdout.contains("(0 already cached"), "{stdout}");
    assert_eq!(readings(&cache), 20 * 2050 * 2);
}
