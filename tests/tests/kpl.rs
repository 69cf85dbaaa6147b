//! KPL aggregated records, made by an independent program (AWS Labs'
//! aggregator, `tests/fixtures/kpl/make_aggregates.py`), through kinesalite
//! into `ingest`, `tail` and `bridge`; and the simulator's aggregates read
//! back by the same library's de-aggregator.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::collections::{BTreeMap, HashMap};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use gridwatch_core::ingest::ShardBatch;
use gridwatch_core::kinesis::{self, ConsumerConfig, ShardBoard, StartAt, list_shards};
use gridwatch_tests::{
    EMULATOR_ENV, Fault, FaultProxy, KillOnDrop, Kinesalite, KplRecord, Moto,
    cached_readings as readings, create_stream, gridwatch_bin, ingest_cmd, kinesis_client,
    kpl_fixture, kpl_fixtures_dir, kpl_records, kpl_script, put_each, wait_active, wait_for,
};
use tokio::sync::{mpsc, watch};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// (device, counter) of a user record in the fixture's reading shape.
fn device_and_seq(data: &str) -> (String, u64) {
    let v: serde_json::Value = serde_json::from_str(data).unwrap();
    (
        v["DeviceID"].as_str().unwrap().to_owned(),
        v["seq_measure"].as_u64().unwrap(),
    )
}

/// Every readable user record of `records`, in order.
fn expected(records: &[KplRecord]) -> Vec<(String, u64)> {
    records
        .iter()
        .flat_map(|r| r.user_records.iter().map(|(_, d)| device_and_seq(d)))
        .collect()
}

/// (device, seq) of every `seq` reading in the cache, sorted.
fn cached_seqs(cache: &std::path::Path) -> Vec<(String, u64)> {
    let conn = rusqlite::Connection::open(cache).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT d.device_id, r.value FROM reading r JOIN device d ON d.id = r.device
             JOIN measure m ON m.id = r.measure WHERE m.name = 'seq' ORDER BY 1, 2",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)? as u64))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn sorted(mut v: Vec<(String, u64)>) -> Vec<(String, u64)> {
    v.sort();
    v
}

#[test]
fn the_fixture_is_what_the_python_aggregator_makes() {
    let made = kpl_script(&["fixture"]);
    let committed = std::fs::read_to_string(kpl_fixtures_dir().join("aggregates.json")).unwrap();
    assert!(
        made == committed,
        "tests/fixtures/kpl/aggregates.json is not what make_aggregates.py makes now: \
         regenerate it with `tests/emulators/.venv/bin/python tests/fixtures/kpl/make_aggregates.py > tests/fixtures/kpl/aggregates.json`"
    );
    let kinds: Vec<String> = kpl_fixture().into_iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            "several_keys",
            "several_keys",
            "several_keys",
            "several_keys",
            "explicit_hash_keys",
            "explicit_hash_keys",
            "single",
            "bad_user_record",
            "plain",
            "bad_magic",
            "bad_md5",
            "truncated",
            "truncated_protobuf"
        ]
    );
}

#[test]
fn aggregates_are_read_once_each_and_corrupt_ones_quarantined_whole() {
    let k = Kinesalite::start(None);
    let endpoint = k.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("kpl.sqlite");
    let fixture = kpl_fixture();
    rt().block_on(async {
        let client = k.client();
        create_stream(&client, "kpl", 1).await;
        put_each(&client, "kpl", &fixture).await;
    });
    let want = expected(&fixture);
    assert_eq!(want.len(), 4 * 12 + 2 * 12 + 1 + 2 + 1);

    let out = ingest_cmd(&cache, &endpoint, "kpl", true).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Two measures a user record.
    assert_eq!(readings(&cache).unwrap(), 2 * want.len() as i64, "{stdout}");
    assert_eq!(cached_seqs(&cache), sorted(want.clone()));

    let conn = rusqlite::Connection::open(&cache).unwrap();
    let mut stmt = conn
        .prepare("SELECT reason_code, reason, raw FROM quarantine ORDER BY id")
        .unwrap();
    let rows: Vec<(String, String, Vec<u8>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let codes: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        codes,
        [
            "missing_time",
            "bad_aggregate",
            "bad_aggregate",
            "bad_aggregate",
            "bad_aggregate"
        ]
    );
    // The bad user record alone, with its index; its neighbours flowed on.
    assert!(
        rows[0].1.starts_with(
            "user record 1 of 3 in a KPL aggregate (partition key \"meter-02\"): missing \"Time\""
        ),
        "{}",
        rows[0].1
    );
    assert_eq!(rows[0].2, br#"{"DeviceID":"meter-02","seq_measure":6}"#);
    // Each corrupt aggregate whole, its bytes as they came.
    let corrupt: Vec<&KplRecord> = fixture
        .iter()
        .filter(|r| r.user_records.is_empty())
        .collect();
    for (row, rec) in rows[1..].iter().zip(&corrupt) {
        assert_eq!(row.2, rec.data, "{} kept whole", rec.kind);
    }
    assert!(rows[1].1.contains("magic"), "{}", rows[1].1);
    assert!(rows[2].1.contains("MD5"), "{}", rows[2].1);
    assert!(rows[3].1.contains("MD5"), "{}", rows[3].1);
    assert!(rows[4].1.contains("truncated"), "{}", rows[4].1);

    // tail prints every user record, in the order of the stream.
    let out = Command::new(gridwatch_bin())
        .args([
            "tail",
            "--stream",
            "kpl",
            "--from",
            "trim-horizon",
            "--until-caught-up",
            "--format",
            "json",
            "--endpoint-url",
            &endpoint,
        ])
        .envs(EMULATOR_ENV)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tailed: Vec<(String, u64)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["device_id"].as_str().unwrap().to_owned(),
                v["measures"]["seq"].as_f64().unwrap() as u64,
            )
        })
        .collect();
    assert_eq!(tailed, want);
}

/// `waves` of the Python aggregator's bulk aggregates.
fn waves(
    devices: u32,
    per_wave: u32,
    waves: u32,
    per_aggregate: u32,
    shards: u32,
) -> Vec<Vec<KplRecord>> {
    let args = [devices, per_wave, waves, per_aggregate, shards].map(|n| n.to_string());
    let mut all = vec!["waves"];
    all.extend(args.iter().map(String::as_str));
    let json: serde_json::Value = serde_json::from_str(&kpl_script(&all)).unwrap();
    json.as_array().unwrap().iter().map(kpl_records).collect()
}

#[test]
fn sigkill_mid_ingest_of_aggregates_then_resume_holds_each_user_record_once() {
    let k = Kinesalite::start(None);
    let endpoint = k.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("crash.sqlite");
    let runtime = rt();
    // 50 devices x 400 readings in aggregates of up to 25, per shard.
    let waves = waves(50, 40, 10, 25, 3);
    let want: Vec<(String, u64)> = waves.iter().flat_map(|w| expected(w)).collect();
    assert_eq!(want.len(), 50 * 400);
    let expected_readings = 2 * want.len() as i64;
    runtime.block_on(async {
        let client = k.client();
        create_stream(&client, "crash", 3).await;
        put_each(&client, "crash", &waves[0]).await;
    });

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
    runtime.block_on(async { put_each(&k.client(), "crash", &waves[1]).await });
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    let before = readings(&cache).unwrap();
    assert!(before < expected_readings, "killed mid-stream");
    // What was committed is whole aggregates: an even count of readings
    // per user record, never part of an aggregate's.
    runtime.block_on(async {
        for w in &waves[2..] {
            put_each(&k.client(), "crash", w).await;
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
    assert_eq!(readings(&cache).unwrap(), expected_readings);
    assert_eq!(cached_seqs(&cache), sorted(want));
    // The restart resumed after its checkpoints: not one user record of
    // what the killed run committed was read again.
    assert!(stdout.contains("(0 already cached"), "{stdout}");
    let read_again: i64 = stdout
        .split(" new readings")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert_eq!(before + read_again, expected_readings, "{stdout}");
}

#[test]
fn a_split_while_reading_aggregates_reads_each_user_record_once_in_order() {
    let k = Kinesalite::start(None);
    let endpoint = k.endpoint();
    // Made for 2 shards; after the split they are still sent with the
    // parents' starting hash keys (a producer's stale shard map), so they
    // land on the lower child: every user record must still be read.
    let waves = waves(20, 20, 3, 15, 2);
    let want: Vec<(String, u64)> = waves.iter().flat_map(|w| expected(w)).collect();
    rt().block_on(async {
        let client = k.client();
        create_stream(&client, "reshard", 2).await;
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
        put_each(&client, "reshard", &waves[0]).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let shards = list_shards(&client, "reshard").await.unwrap();
        for s in &shards {
            let start: u128 = s.starting_hash_key.as_ref().unwrap().parse().unwrap();
            let end: u128 = s.ending_hash_key.as_ref().unwrap().parse().unwrap();
            client
                .split_shard()
                .stream_name("reshard")
                .shard_to_split(&s.shard_id)
                .new_starting_hash_key((start + (end - start) / 2).to_string())
                .send()
                .await
                .unwrap();
            wait_active(&client, "reshard").await;
        }
        put_each(&client, "reshard", &waves[1]).await;
        put_each(&client, "reshard", &waves[2]).await;

        let mut got: Vec<ShardBatch> = Vec::new();
        let mut n = 0;
        while n < want.len() {
            let b = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                .await
                .expect("records keep coming")
                .unwrap();
            n += b.records.len();
            assert!(b.quarantined.is_empty(), "{:?}", b.quarantined);
            got.push(b);
        }
        // Nothing more arrives: no user record was read twice.
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
        assert_eq!(extra, 0, "user records read twice");
        stop_tx.send(true).unwrap();
        consumer.await.unwrap().unwrap();
        // Each device's readings once, in the order they were made.
        let mut seen: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for r in got.iter().flat_map(|b| &b.records) {
            let n = r.measures.iter().find(|(m, _)| m == "seq").unwrap().1 as u64;
            seen.entry(r.device_id.clone()).or_default().push(n);
        }
        assert_eq!(seen.len(), 20);
        for (device, ns) in &seen {
            assert_eq!(ns, &(0..60).collect::<Vec<u64>>(), "{device}");
        }
        assert_eq!(board.lock().unwrap().len(), 6, "2 shards and 4 children");
    });
}

#[test]
fn the_bridge_writes_each_user_record_once() {
    let moto = Moto::start();
    let k = Kinesalite::start(None);
    let fixture = kpl_fixture();
    rt().block_on(async {
        let client = k.client();
        create_stream(&client, "kpl-bridge", 2).await;
        put_each(&client, "kpl-bridge", &fixture).await;
    });
    moto.create_timestream_table("grid", "readings");
    // No faults: the proxy only keeps what was written.
    let proxy = FaultProxy::start(
        moto.port,
        Arc::new(|_: &str, _: u64| -> Option<Fault> { None }),
    );
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(gridwatch_bin())
        .arg("--cache")
        .arg(dir.path().join("bridge.sqlite"))
        .args([
            "bridge",
            "--stream",
            "kpl-bridge",
            "--database",
            "grid",
            "--table",
            "readings",
            "--until-caught-up",
            "--endpoint-url",
            &k.endpoint(),
            "--timestream-endpoint-url",
            &proxy.endpoint(),
        ])
        .envs(EMULATOR_ENV)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = expected(&fixture);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("bridged {} readings", want.len())),
        "{stdout}"
    );
    // Every user record's two measures, each written once.
    let mut written: BTreeMap<(String, String, String), u32> = BTreeMap::new();
    for key in proxy.timestream_writes() {
        *written.entry(key).or_default() += 1;
    }
    assert_eq!(written.len(), 2 * want.len());
    assert!(written.values().all(|n| *n == 1), "{written:?}");
    let measures: std::collections::BTreeSet<&str> =
        written.keys().map(|(_, m, _)| m.as_str()).collect();
    assert_eq!(measures, ["seq_measure", "watt_measure"].into());
}

#[test]
fn simulate_aggregate_writes_what_the_python_deaggregator_reads() {
    let k = Kinesalite::start(None);
    let endpoint = k.endpoint();
    rt().block_on(async { create_stream(&k.client(), "sim", 2).await });
    let dir = tempfile::tempdir().unwrap();
    // 30 devices, 10 readings each, up to 7 readings a Kinesis record.
    let out = Command::new(gridwatch_bin())
        .arg("--cache")
        .arg(dir.path().join("sim.sqlite"))
        .args([
            "simulate",
            "--to",
            "kinesis",
            "--stream",
            "sim",
            "--aggregate",
            "7",
            "--devices",
            "30",
            "--interval",
            "1s",
            "--duration",
            "10s",
            "--fast",
            "--anomaly-rate",
            "0",
            "--endpoint-url",
            &endpoint,
        ])
        .envs(EMULATOR_ENV)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // "... onto sim (2 open shards): N readings in M Kinesis records, ..."
    let counts: Vec<usize> = stdout
        .split(": ")
        .nth(1)
        .unwrap()
        .split(' ')
        .filter_map(|w| w.parse().ok())
        .collect();
    let (made, sent) = (counts[0], counts[1]);
    // Readings sit on each device's 1 s grid, jittered by up to 5%: a 10 s
    // run holds 10 slots, and a jittered slot at either end can fall in or
    // out, so 9 to 11 readings a device.
    assert!((30 * 9..=30 * 11).contains(&made), "{stdout}");
    let read = kpl_script(&["read-stream", &endpoint, "sim"]);
    let users: Vec<serde_json::Value> = read
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(users.len(), made, "every reading, once");
    let mut per_record: BTreeMap<&str, usize> = BTreeMap::new();
    let mut per_device: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for u in &users {
        *per_record
            .entry(u["sequence"].as_str().unwrap())
            .or_default() += 1;
        let data: serde_json::Value = serde_json::from_str(u["data"].as_str().unwrap()).unwrap();
        // Each user record carries its own device ID as its partition key.
        let device = data["DeviceID"].as_str().unwrap();
        assert_eq!(u["partition_key"], device);
        per_device
            .entry(device.to_owned())
            .or_default()
            .push(data["Time"].as_f64().unwrap());
    }
    assert!(
        per_record.values().all(|n| (1..=7).contains(n)),
        "{per_record:?}"
    );
    // Up to 7 readings a Kinesis record, and as many records as it said.
    assert_eq!(per_record.len(), sent, "{stdout}");
    assert!(
        sent < made / 3,
        "aggregates fill up: {sent} records for {made} readings"
    );
    assert_eq!(per_device.len(), 30);
    for (device, times) in &per_device {
        assert!(
            (9..=11).contains(&times.len()),
            "{device}: {} readings",
            times.len()
        );
        assert!(times.windows(2).all(|w| w[0] < w[1]), "{device}: in order");
    }
}
