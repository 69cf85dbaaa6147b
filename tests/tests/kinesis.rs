//! The Kinesis live path against kinesalite, a server that speaks the real
//! protocol, started by each test on a free 127.0.0.1 port.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::collections::{BTreeMap, HashMap};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_kinesis::primitives::Blob;
use gridwatch_core::bus::{Bus, hash_key};
use gridwatch_core::ingest::ShardBatch;
use gridwatch_core::kinesis::{self, ConsumerConfig, ShardBoard, StartAt, list_shards};
use gridwatch_tests::{
    EMULATOR_ENV, Fault, FaultProxy, KillOnDrop, Kinesalite, cached_readings as readings,
    create_stream, emulator_python, gridwatch_bin, ingest_cmd, kinesis_client, put_records,
    wait_active, wait_for,
};
use tokio::sync::{mpsc, watch};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A seed-format record for `device` carrying its own counter `n`.
fn record(device: &str, n: u64) -> Vec<u8> {
    format!(
        r#"{{"Time": {}, "DeviceID": "{device}", "seq_measure": {n}, "watt_measure": {}, "Region": "north"}}"#,
        1_700_000_000_000u64 + n * 1000,
        100 + n % 50
    )
    .into_bytes()
}

/// Runs the consumer in-process until caught up, returning what it sent.
async fn consume_all(
    endpoint: &str,
    stream: &str,
    config: Option<ConsumerConfig>,
) -> (Vec<ShardBatch>, ShardBoard) {
    let mut config = config.unwrap_or_else(|| ConsumerConfig::new(stream, StartAt::TrimHorizon));
    config.until_caught_up = true;
    let board: ShardBoard = Arc::default();
    let (tx, mut rx) = mpsc::channel(1024);
    let (_stop_tx, stop) = watch::channel(false);
    let consumer = tokio::spawn(kinesis::consume(
        kinesis_client(endpoint),
        config,
        HashMap::new(),
        tx,
        board.clone(),
        stop,
    ));
    let mut batches = Vec::new();
    while let Some(b) = rx.recv().await {
        batches.push(b);
    }
    consumer.await.unwrap().unwrap();
    (batches, board)
}

/// Every (device, n) once, and each device's counters in increasing order.
fn assert_each_once_in_order(batches: &[ShardBatch], devices: usize, per_device: u64) {
    let mut seen: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for b in batches {
        for r in &b.records {
            let n = r.measures.iter().find(|(m, _)| m == "seq").unwrap().1 as u64;
            seen.entry(r.device_id.clone()).or_default().push(n);
        }
    }
    assert_eq!(seen.len(), devices);
    for (device, ns) in &seen {
        let want: Vec<u64> = (0..per_device).collect();
        assert_eq!(ns, &want, "{device}: every reading once, in order");
    }
}

#[test]
fn records_land_on_the_shard_whose_hash_range_holds_their_key() {
    let k = Kinesalite::start(None);
    rt().block_on(async {
        let client = k.client();
        create_stream(&client, "routing", 4).await;
        let shards = list_shards(&client, "routing").await.unwrap();
        let (bus, _readers) = Bus::new(4, 1, &[]);
        for key in [
            "a",
            "",
            "meter-1",
            "c0ffee",
            "north/feeder-7",
            "x' OR '1'='1",
        ] {
            let out = client
                .put_record()
                .stream_name("routing")
                .partition_key(if key.is_empty() { " " } else { key })
                .data(Blob::new(record("d", 1)))
                .send()
                .await
                .unwrap();
            let key = if key.is_empty() { " " } else { key };
            let holder = shards.iter().find(|s| s.holds(hash_key(key))).unwrap();
            assert_eq!(out.shard_id(), holder.shard_id, "{key}");
            // The embedded bus routes the same key to the same shard.
            assert_eq!(bus.route(key).name(), holder.shard_id, "{key}");
        }
    });
}

#[test]
fn split_and_merge_while_consuming_reads_every_record_once_in_order() {
    let k = Kinesalite::start(None);
    let endpoint = k.endpoint();
    rt().block_on(async {
        let client = k.client();
        create_stream(&client, "reshard", 2).await;
        let devices: Vec<String> = (0..20).map(|i| format!("meter-{i:02}")).collect();
        let per_device = 60u64;

        let mut config = ConsumerConfig::new("reshard", StartAt::TrimHorizon);
        config.relist_every = Duration::from_millis(300);
        config.idle_poll = Duration::from_millis(100);
        let board: ShardBoard = Arc::default();
        let (tx, mut rx) = mpsc::channel(1024);
        let (stop_tx, stop) = watch::channel(false);
        let consumer = tokio::spawn(kinesis::consume(
            kinesis_client(&endpoint),
            config,
            HashMap::new(),
            tx,
            board.clone(),
            stop,
        ));

        let batch = |from: u64, to: u64| -> Vec<(String, Vec<u8>)> {
            (from..to)
                .flat_map(|n| devices.iter().map(move |d| (d.clone(), record(d, n))))
                .collect()
        };
        put_records(&client, "reshard", &batch(0, 20)).await;
        tokio::time::sleep(Duration::from_millis(300)).await;

        // Split the first shard in the middle of its range.
        let shards = list_shards(&client, "reshard").await.unwrap();
        let first = &shards[0];
        let start: u128 = first.starting_hash_key.as_ref().unwrap().parse().unwrap();
        let end: u128 = first.ending_hash_key.as_ref().unwrap().parse().unwrap();
        client
            .split_shard()
            .stream_name("reshard")
            .shard_to_split(&first.shard_id)
            .new_starting_hash_key((start + (end - start) / 2).to_string())
            .send()
            .await
            .unwrap();
        wait_active(&client, "reshard").await;
        put_records(&client, "reshard", &batch(20, 40)).await;
        tokio::time::sleep(Duration::from_millis(300)).await;

        // Merge the two children of the split back together.
        let open: Vec<_> = list_shards(&client, "reshard")
            .await
            .unwrap()
            .into_iter()
            .filter(|s| !s.closed)
            .collect();
        let children: Vec<_> = open
            .iter()
            .filter(|s| s.parent.as_deref() == Some(&first.shard_id))
            .collect();
        assert_eq!(children.len(), 2);
        client
            .merge_shards()
            .stream_name("reshard")
            .shard_to_merge(&children[0].shard_id)
            .adjacent_shard_to_merge(&children[1].shard_id)
            .send()
            .await
            .unwrap();
        wait_active(&client, "reshard").await;
        put_records(&client, "reshard", &batch(40, per_device)).await;

        let total = devices.len() as u64 * per_device;
        let mut batches = Vec::new();
        let mut got = 0;
        while got < total {
            let b: ShardBatch = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                .await
                .expect("records keep coming")
                .unwrap();
            got += b.records.len() as u64;
            batches.push(b);
        }
        // Nothing more arrives: no record was read twice.
        let extra = tokio::time::timeout(Duration::from_secs(2), async {
            let mut n = 0;
            while let Some(b) = rx.recv().await {
                n += b.records.len();
                if n > 0 {
                    break;
                }
            }
            n
        })
        .await
        .unwrap_or(0);
        assert_eq!(extra, 0, "records read twice");
        stop_tx.send(true).unwrap();
        consumer.await.unwrap().unwrap();
        assert_each_once_in_order(&batches, devices.len(), per_device);
        let board = board.lock().unwrap();
        assert_eq!(board.len(), 5, "2 shards, 2 children, 1 merged: {board:?}");
        assert_eq!(
            board
                .values()
                .filter(|s| s.state == gridwatch_types::ShardState::Ended)
                .count(),
            3
        );
    });
}

#[test]
fn sigkill_mid_ingest_then_resume_holds_each_record_once() {
    let k = Kinesalite::start(None);
    let endpoint = k.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("k.sqlite");
    let runtime = rt();
    let wave = |w: u64| -> Vec<(String, Vec<u8>)> {
        (w * 40..(w + 1) * 40)
            .flat_map(|n| {
                (0..50).map(move |d| (format!("meter-{d}"), record(&format!("meter-{d}"), n)))
            })
            .collect()
    };
    runtime.block_on(async {
        let client = k.client();
        create_stream(&client, "crash", 3).await;
        put_records(&client, "crash", &wave(0)).await;
    });
    let expected = 50 * 400 * 2; // devices x records x measures

    // Kill the ingest while records are still arriving.
    let mut child = KillOnDrop(
        ingest_cmd(&cache, &endpoint, "crash", false)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(Duration::from_secs(60), "the first commits", || {
        readings(&cache).filter(|n| *n > 0)
    });
    runtime.block_on(async { put_records(&k.client(), "crash", &wave(1)).await });
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    let before = readings(&cache).unwrap();
    assert!(before < expected, "killed mid-stream");
    runtime.block_on(async {
        for w in 2..10 {
            put_records(&k.client(), "crash", &wave(w)).await;
        }
    });

    let out = ingest_cmd(&cache, &endpoint, "crash", true)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(readings(&cache).unwrap(), expected);
    // The restart resumed after its checkpoints: it read none of what the
    // killed run had committed.
    assert!(stdout.contains("(0 already cached"), "{stdout}");
    let read_again: i64 = stdout
        .split(" new readings")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert_eq!(before + read_again, expected, "{stdout}");
}

#[test]
fn the_consumer_recovers_when_kinesalite_restarts() {
    let data = tempfile::tempdir().unwrap();
    let mut k = Kinesalite::start(Some(data.path()));
    let endpoint = k.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("r.sqlite");
    let runtime = rt();
    let items = |from: u64, to: u64| -> Vec<(String, Vec<u8>)> {
        (from..to)
            .flat_map(|n| {
                (0..10).map(move |d| (format!("meter-{d}"), record(&format!("meter-{d}"), n)))
            })
            .collect()
    };
    runtime.block_on(async {
        let client = k.client();
        create_stream(&client, "outage", 2).await;
        put_records(&client, "outage", &items(0, 50)).await;
    });
    let _ingest = KillOnDrop(
        ingest_cmd(&cache, &endpoint, "outage", false)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(Duration::from_secs(60), "the first half", || {
        readings(&cache).filter(|n| *n == 10 * 50 * 2)
    });

    k.stop();
    std::thread::sleep(Duration::from_secs(2)); // the consumer sees the outage
    k.restart();
    runtime.block_on(async { put_records(&k.client(), "outage", &items(50, 100)).await });
    wait_for(
        Duration::from_secs(90),
        "the second half after the restart",
        || readings(&cache).filter(|n| *n == 10 * 100 * 2),
    );
}

#[test]
fn throttling_and_expired_iterators_are_ridden_out() {
    let k = Kinesalite::start(None);
    // Every third GetRecords is throttled, every seventh iterator has expired.
    let proxy = FaultProxy::start(
        k.port,
        Arc::new(|op: &str, n: u64| match op {
            "GetRecords" if n.is_multiple_of(3) => {
                Fault::new("ProvisionedThroughputExceededException")
            }
            "GetRecords" if n.is_multiple_of(7) => Fault::new("ExpiredIteratorException"),
            _ => None,
        }),
    );
    rt().block_on(async {
        let client = k.client();
        create_stream(&client, "faults", 2).await;
        let items: Vec<(String, Vec<u8>)> = (0..100u64)
            .flat_map(|n| {
                (0..10).map(move |d| (format!("meter-{d}"), record(&format!("meter-{d}"), n)))
            })
            .collect();
        put_records(&client, "faults", &items).await;
        let mut config = ConsumerConfig::new("faults", StartAt::TrimHorizon);
        config.records_per_call = 37; // many calls, so many faults
        let (batches, board) = consume_all(&proxy.endpoint(), "faults", Some(config)).await;
        assert_each_once_in_order(&batches, 10, 100);
        let board = board.lock().unwrap();
        let throttled: u64 = board.values().map(|s| s.throttled).sum();
        let expired: u64 = board.values().map(|s| s.expired_iterators).sum();
        assert!(throttled > 0 && expired > 0, "{board:?}");
    });
    assert!(proxy.injected.load(std::sync::atomic::Ordering::SeqCst) > 0);
}

/// kinesalite expires iterators after 300 s, like Kinesis: a consumer held
/// up that long (a slow cache, a sleeping laptop) must carry on by itself.
#[test]
fn a_real_iterator_expiry_after_five_minutes() {
    let k = Kinesalite::start(None);
    let endpoint = k.endpoint();
    rt().block_on(async {
        let client = k.client();
        create_stream(&client, "expiry", 1).await;
        let items: Vec<(String, Vec<u8>)> = (0..30u64)
            .map(|n| ("meter-0".to_string(), record("meter-0", n)))
            .collect();
        put_records(&client, "expiry", &items).await;
        let mut config = ConsumerConfig::new("expiry", StartAt::TrimHorizon);
        config.records_per_call = 10;
        config.until_caught_up = true;
        let board: ShardBoard = Arc::default();
        // Room for one batch: the reader's second send waits on us while its
        // next iterator ages past 300 s.
        let (tx, mut rx) = mpsc::channel(1);
        let (_stop_tx, stop) = watch::channel(false);
        let consumer = tokio::spawn(kinesis::consume(
            kinesis_client(&endpoint),
            config,
            HashMap::new(),
            tx,
            board.clone(),
            stop,
        ));
        tokio::time::sleep(Duration::from_secs(305)).await;
        let mut batches = Vec::new();
        while let Some(b) = rx.recv().await {
            batches.push(b);
        }
        consumer.await.unwrap().unwrap();
        assert_each_once_in_order(&batches, 1, 30);
        let expired: u64 = board
            .lock()
            .unwrap()
            .values()
            .map(|s| s.expired_iterators)
            .sum();
        assert!(
            expired >= 1,
            "kinesalite should have expired the held iterator"
        );
    });
}

#[test]
fn malformed_and_oversized_records_are_quarantined_with_their_reason() {
    let k = Kinesalite::start(None);
    let endpoint = k.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("q.sqlite");
    rt().block_on(async {
        let client = k.client();
        create_stream(&client, "bad", 1).await;
        let huge = format!(
            r#"{{"Time": 1700000000000, "DeviceID": "big", "x_measure": 1, "Note": "{}"}}"#,
            "x".repeat(100_000)
        );
        let items: Vec<(String, Vec<u8>)> = vec![
            ("meter-1".into(), record("meter-1", 1)),
            ("meter-1".into(), b"{not json".to_vec()),
            (
                "meter-1".into(),
                br#"{"DeviceID": "meter-1", "x_measure": 1}"#.to_vec(),
            ),
            (
                "meter-1".into(),
                br#"{"Time": 1, "DeviceID": "meter-1", "x_measure": "NaN"}"#.to_vec(),
            ),
            ("big".into(), huge.into_bytes()),
            ("meter-1".into(), record("meter-1", 2)),
        ];
        put_records(&client, "bad", &items).await;
    });
    let out = ingest_cmd(&cache, &endpoint, "bad", true).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conn = rusqlite::Connection::open(&cache).unwrap();
    let mut stmt = conn
        .prepare("SELECT reason_code, reason, shard, sequence FROM quarantine ORDER BY id")
        .unwrap();
    let rows: Vec<(String, String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let codes: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        codes,
        vec![
            "not_json",
            "missing_time",
            "not_finite_measure",
            "oversized"
        ]
    );
    assert!(rows[3].1.contains("bytes"), "{:?}", rows[3]);
    assert!(
        rows.iter()
            .all(|r| r.2 == "shardId-000000000000" && !r.3.is_empty())
    );
    // The good records on either side flowed on.
    assert_eq!(readings(&cache).unwrap(), 4);
}

#[test]
fn records_written_by_boto3_in_the_seeds_format_are_read() {
    let k = Kinesalite::start(None);
    let endpoint = k.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("b.sqlite");
    rt().block_on(async { create_stream(&k.client(), "seed", 2).await });
    // The seed's producer: time.time() * 1000, a uuid DeviceID, *_measure.
    let script = r#"
import boto3, json, sys, time, uuid
k = boto3.client("kinesis", endpoint_url=sys.argv[1])
devices = [str(uuid.UUID(int=i + 1)) for i in range(5)]
records = []
for n in range(20):
    for d in devices:
        records.append({"Data": json.dumps({"Time": time.time() * 1000, "DeviceID": d,
            "voltage_measure": 230.0 + n / 10, "watt_measure": 100 + n, "Region": "east"}),
            "PartitionKey": d})
out = k.put_records(StreamName="seed", Records=records)
assert out["FailedRecordCount"] == 0, out
print(len(records))
"#;
    emulator_python(["-c", script, &endpoint]);
    let out = ingest_cmd(&cache, &endpoint, "seed", true)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(readings(&cache).unwrap(), 5 * 20 * 2);
    let conn = rusqlite::Connection::open(&cache).unwrap();
    let regions: i64 = conn
        .query_row(
            "SELECT count(*) FROM device_dimension WHERE name = 'Region' AND value = 'east'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(regions, 5);
    // time.time() * 1000 has a fraction: it is kept to the microsecond.
    let fractional: i64 = conn
        .query_row(
            "SELECT count(*) FROM reading WHERE ts_us % 1000 != 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(fractional > 0);
}

/// A hang guard for CLI runs that must end by themselves: far more than
/// they need, never a timing claim.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// `n` records of devices `{prefix}-0..`, one reading each.
fn named(prefix: &str, devices: u64, n: u64) -> Vec<(String, Vec<u8>)> {
    (0..n)
        .flat_map(|i| {
            (0..devices).map(move |d| {
                let device = format!("{prefix}-{d}");
                let data = record(&device, i);
                (device, data)
            })
        })
        .collect()
}

#[test]
fn a_stream_made_again_under_its_name_is_read_from_its_start() {
    let k = Kinesalite::start(None);
    let endpoint = k.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("again.sqlite");
    let runtime = rt();
    runtime.block_on(async {
        create_stream(&k.client(), "again", 2).await;
        put_records(&k.client(), "again", &named("old", 10, 10)).await;
    });
    let created = std::time::Instant::now();
    let first = gridwatch_tests::output_within(
        &mut ingest_cmd(&cache, &endpoint, "again", true),
        HANG_GUARD,
    );
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(readings(&cache).unwrap(), 10 * 10 * 2);

    runtime.block_on(async {
        let client = k.client();
        client
            .delete_stream()
            .stream_name("again")
            .send()
            .await
            .unwrap();
        // Gone, then made again: its creation time (whole seconds in
        // kinesalite) must differ from the first one's.
        while client
            .describe_stream_summary()
            .stream_name("again")
            .send()
            .await
            .is_ok()
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if let Some(rest) = Duration::from_millis(1100).checked_sub(created.elapsed()) {
            tokio::time::sleep(rest).await;
        }
        create_stream(&client, "again", 2).await;
        put_records(&client, "again", &named("new", 10, 5)).await;
    });
    let out = gridwatch_tests::output_within(
        &mut ingest_cmd(&cache, &endpoint, "again", true),
        HANG_GUARD,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every record of the new stream, none skipped by the old checkpoints.
    assert!(
        stdout.contains("ingested 50 records") && stdout.contains("100 new readings"),
        "{stdout}"
    );
    assert_eq!(readings(&cache).unwrap(), 10 * 10 * 2 + 10 * 5 * 2);
    // The two streams' checkpoints are filed apart.
    let conn = rusqlite::Connection::open(&cache).unwrap();
    let sources: i64 = conn
        .query_row("SELECT count(DISTINCT source) FROM checkpoint", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(sources, 2);
}

#[test]
fn a_checkpoint_kinesis_refuses_ends_the_run_and_names_from() {
    let k = Kinesalite::start(None);
    let endpoint = k.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("stale.sqlite");
    let runtime = rt();
    runtime.block_on(async {
        create_stream(&k.client(), "stale", 2).await;
        put_records(&k.client(), "stale", &named("m", 10, 10)).await;
    });
    let first = gridwatch_tests::output_within(
        &mut ingest_cmd(&cache, &endpoint, "stale", true),
        HANG_GUARD,
    );
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // Shard 0's checkpoint now holds shard 1's sequence number: one Kinesis
    // refuses, as it refuses one from a stream made again.
    let conn = rusqlite::Connection::open(&cache).unwrap();
    let changed = conn
        .execute(
            "UPDATE checkpoint SET sequence = (SELECT sequence FROM checkpoint
               WHERE shard = 'shardId-000000000001') WHERE shard = 'shardId-000000000000'",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(conn);
    let out = gridwatch_tests::output_within(
        &mut ingest_cmd(&cache, &endpoint, "stale", true),
        HANG_GUARD,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("the checkpoint of shardId-000000000000")
            && stderr.contains("is not valid in stream \"stale\"")
            && stderr.contains("run again with --from trim-horizon"),
        "{stderr}"
    );

    // --from starts over: every record read again (already cached).
    let mut cmd = ingest_cmd(&cache, &endpoint, "stale", true);
    cmd.args(["--from", "TRIM-HORIZON"]);
    let out = gridwatch_tests::output_within(&mut cmd, HANG_GUARD);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("ingested 100 records") && stdout.contains("(200 already cached"),
        "{stdout}"
    );
}

#[test]
fn access_denied_ends_the_run_and_says_so() {
    let k = Kinesalite::start(None);
    let proxy = FaultProxy::start(
        k.port,
        Arc::new(|op: &str, _| match op {
            "GetRecords" => Fault::new("AccessDeniedException"),
            _ => None,
        }),
    );
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("denied.sqlite");
    rt().block_on(async {
        create_stream(&k.client(), "denied", 1).await;
        put_records(&k.client(), "denied", &named("m", 2, 2)).await;
    });
    let out = gridwatch_tests::output_within(
        &mut ingest_cmd(&cache, &proxy.endpoint(), "denied", true),
        HANG_GUARD,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("access to stream \"denied\" denied")
            && stderr.contains("AccessDeniedException"),
        "{stderr}"
    );
    assert_eq!(readings(&cache).unwrap_or(0), 0);
}

#[test]
fn a_deleted_stream_ends_a_follower_and_says_so() {
    let k = Kinesalite::start(None);
    let endpoint = k.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("deleted.sqlite");
    let runtime = rt();
    runtime.block_on(async {
        create_stream(&k.client(), "deleted", 1).await;
        put_records(&k.client(), "deleted", &named("m", 2, 2)).await;
    });
    let mut cmd = ingest_cmd(&cache, &endpoint, "deleted", false);
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    wait_for(HANG_GUARD, "the records committed", || {
        readings(&cache).filter(|n| *n == 8)
    });
    runtime.block_on(async {
        k.client()
            .delete_stream()
            .stream_name("deleted")
            .send()
            .await
            .unwrap();
    });
    let status = wait_for(HANG_GUARD, "the ingest to stop by itself", || {
        child.0.try_wait().unwrap()
    });
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.0.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains("stream \"deleted\" not found"), "{stderr}");
}

/// `2026-12-01T21:30:00.123Z` for epoch microseconds (whole milliseconds).
fn rfc3339_ms(us: i64) -> String {
    let c = gridwatch_types::time::civil(us);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        c.year,
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        us.rem_euclid(1_000_000) / 1000
    )
}

fn tail_cmd(endpoint: &str, stream: &str, from: &str) -> Command {
    let mut cmd = Command::new(gridwatch_bin());
    cmd.args([
        "tail",
        "--stream",
        stream,
        "--from",
        from,
        "--format",
        "json",
        "--endpoint-url",
        endpoint,
    ]);
    cmd.envs(EMULATOR_ENV).env_remove("RUST_LOG");
    cmd
}

/// The device IDs `tail --format json` printed, in order.
fn tailed_devices(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["device_id"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn tail_from_an_rfc3339_time_prints_what_came_after_it() {
    let k = Kinesalite::start(None);
    let endpoint = k.endpoint();
    let runtime = rt();
    let from = runtime.block_on(async {
        create_stream(&k.client(), "since", 1).await;
        put_records(&k.client(), "since", &named("before", 3, 2)).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        // Whole milliseconds: Kinesis takes the start time to the ms.
        let from = gridwatch_core::time::now_us() / 1000 * 1000 + 1000;
        tokio::time::sleep(Duration::from_millis(30)).await;
        put_records(&k.client(), "since", &named("after", 3, 2)).await;
        from
    });
    let mut cmd = tail_cmd(&endpoint, "since", &rfc3339_ms(from));
    cmd.arg("--until-caught-up");
    let out = gridwatch_tests::output_within(&mut cmd, HANG_GUARD);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut devices = tailed_devices(&out.stdout);
    devices.sort();
    assert_eq!(
        devices,
        [
            "after-0", "after-0", "after-1", "after-1", "after-2", "after-2"
        ]
    );

    // A time to come is refused at once, saying so.
    let future = tail_cmd(&endpoint, "since", "2999-01-01T00:00:00Z")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&future.stderr);
    assert!(!future.status.success());
    assert!(stderr.contains("is in the future"), "{stderr}");
}

#[test]
fn tail_from_latest_after_a_split_prints_no_old_records() {
    let k = Kinesalite::start(None);
    let endpoint = k.endpoint();
    let runtime = rt();
    runtime.block_on(async {
        let client = k.client();
        create_stream(&client, "split", 1).await;
        put_records(&client, "split", &named("old", 8, 3)).await;
        let shard = &list_shards(&client, "split").await.unwrap()[0];
        client
            .split_shard()
            .stream_name("split")
            .shard_to_split(&shard.shard_id)
            .new_starting_hash_key((1u128 << 127).to_string())
            .send()
            .await
            .unwrap();
        wait_active(&client, "split").await;
        // Old records in the children too: from before the tail starts.
        put_records(&client, "split", &named("old", 8, 3)).await;
    });
    let lines: Arc<std::sync::Mutex<Vec<serde_json::Value>>> = Arc::default();
    let mut child = KillOnDrop(
        tail_cmd(&endpoint, "split", "latest")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let collected = lines.clone();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
            let Ok(line) = line else { break };
            collected
                .lock()
                .unwrap()
                .push(serde_json::from_str(&line).unwrap());
        }
    });
    let seen = |prefix: &str| -> Vec<serde_json::Value> {
        lines
            .lock()
            .unwrap()
            .iter()
            .filter(|v| v["device_id"].as_str().unwrap().starts_with(prefix))
            .cloned()
            .collect()
    };
    // Probes until both open children are being read: then anything put
    // is after the start.
    let mut round = 0;
    wait_for(HANG_GUARD, "probes from both children", || {
        round += 1;
        runtime.block_on(put_records(
            &k.client(),
            "split",
            &named(&format!("probe{round}"), 8, 1),
        ));
        std::thread::sleep(Duration::from_millis(300));
        let shards: std::collections::BTreeSet<String> = seen("probe")
            .iter()
            .map(|v| v["shard"].as_str().unwrap().to_owned())
            .collect();
        (shards.len() == 2).then_some(())
    });
    runtime.block_on(put_records(&k.client(), "split", &named("new", 8, 2)));
    wait_for(HANG_GUARD, "the new records", || {
        (seen("new").len() >= 16).then_some(())
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(seen("new").len(), 16, "each new record once");
    assert_eq!(seen("old").len(), 0, "no old record: {:?}", seen("old"));
}

/// A proxy rule that holds the first GetRecords until the test says go,
/// then answers it with `fault`: the consumer has taken its LATEST iterator
/// and loses it (or its call) after records came.
fn hold_first_get_records(
    fault: &'static str,
) -> (
    Arc<gridwatch_tests::FaultRule>,
    std::sync::mpsc::Receiver<()>,
    std::sync::mpsc::SyncSender<()>,
) {
    let (arrived_tx, arrived) = std::sync::mpsc::sync_channel::<()>(1);
    let (go, go_rx) = std::sync::mpsc::sync_channel::<()>(1);
    let arrived_tx = std::sync::Mutex::new(arrived_tx);
    let go_rx = std::sync::Mutex::new(go_rx);
    let rule = Arc::new(move |op: &str, n: u64| {
        if op == "GetRecords" && n == 1 {
            let _ = arrived_tx.lock().unwrap().send(());
            let _ = go_rx.lock().unwrap().recv();
            return Fault::new(fault);
        }
        None
    });
    (rule, arrived, go)
}

#[test]
fn a_lost_latest_iterator_resumes_where_it_was_not_at_the_new_tip() {
    let k = Kinesalite::start(None);
    let runtime = rt();
    for (stream, fault) in [
        ("lost-call", "InternalFailure"),
        ("lost-expired", "ExpiredIteratorException"),
        ("lost-throttled", "ProvisionedThroughputExceededException"),
    ] {
        let (rule, arrived, go) = hold_first_get_records(fault);
        let proxy = FaultProxy::start(k.port, rule);
        runtime.block_on(async {
            create_stream(&k.client(), stream, 1).await;
            put_records(&k.client(), stream, &named("old", 4, 2)).await;
            let mut config = ConsumerConfig::new(stream, StartAt::Latest);
            config.until_caught_up = true;
            let (tx, mut rx) = mpsc::channel(1024);
            let (_stop_tx, stop) = watch::channel(false);
            let consumer = tokio::spawn(kinesis::consume(
                kinesis_client(&proxy.endpoint()),
                config,
                HashMap::new(),
                tx,
                Arc::default(),
                stop,
            ));
            // The iterator is taken; records come; then the call fails.
            tokio::task::spawn_blocking(move || arrived.recv().unwrap())
                .await
                .unwrap();
            put_records(&k.client(), stream, &named("new", 4, 5)).await;
            go.send(()).unwrap();
            let mut devices = Vec::new();
            while let Some(b) = tokio::time::timeout(HANG_GUARD, rx.recv()).await.unwrap() {
                devices.extend(b.records.iter().map(|r| r.device_id.clone()));
            }
            consumer.await.unwrap().unwrap();
            assert_eq!(
                devices.len(),
                20,
                "{fault}: every new record once: {devices:?}"
            );
            assert!(
                devices.iter().all(|d| d.starts_with("new-")),
                "{fault}: {devices:?}"
            );
        });
    }
}
