//! The Kinesis path against kinesalite on 127.0.0.1, each beside a bare
//! baseline run in the same process:
//!
//! - consume: records/s from a stream into the cache (Follower: consumer +
//!   decode + SQLite) vs a bare loop doing the same work by hand: GetRecords
//!   per shard, each record read by a typed serde struct, each page written
//!   in one transaction on a connection set up as the cache's (devices as
//!   first seen, their dimensions and last time, readings, the shard's
//!   checkpoint). One round of each into fresh files first leaves the same
//!   readings, dimensions and checkpoints. Both keep Kinesis's 5 calls a
//!   second per shard. (The floor, a GetRecords loop that only counts, is
//!   timed too.)
//! - produce: records/s accepted by kinesalite through KinesisSink vs a bare
//!   PutRecords loop with the same 500-record batches.
//! - latency: PutRecords to cache commit at 1,000 records/s, p50 and p99,
//!   printed after the criterion groups. Timing starts once a probe record
//!   put after the follower started has been committed (so the follower's
//!   iterators are in place); every record sent must commit, or the bench
//!   fails.
//!
//! Run: `cargo bench -p gridwatch-tests --bench kinesis` (needs
//! `./dev.sh setup` for kinesalite).
#![allow(clippy::unwrap_used)] // a benchmark that cannot set up should stop loudly

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gridwatch_core::Cache;
use gridwatch_core::kinesis::{ConsumerConfig, Follower, StartAt, list_shards};
use gridwatch_simulator::RecordSink;
use gridwatch_simulator::kinesis::KinesisSink;
use gridwatch_tests::{Kinesalite, create_stream, kinesis_client, put_records};

const RECORDS: usize = 20_000;

fn record(device: usize, n: usize) -> Vec<u8> {
    format!(
        r#"{{"Time": {}, "DeviceID": "meter-{device}", "voltage_measure": 230.1, "watt_measure": {}, "current_measure": 2.5, "Region": "north", "Feeder": "N-F01"}}"#,
        1_700_000_000_000u64 + n as u64,
        100 + n % 500
    )
    .into_bytes()
}

fn items() -> Vec<(String, Vec<u8>)> {
    (0..RECORDS)
        .map(|n| (format!("meter-{}", n % 100), record(n % 100, n)))
        .collect()
}

/// The bench's record as a developer would type it for serde.
#[derive(serde::Deserialize)]
struct TypedRecord {
    #[serde(rename = "Time")]
    time_ms: f64,
    #[serde(rename = "DeviceID")]
    device_id: String,
    voltage_measure: Option<f64>,
    watt_measure: Option<f64>,
    current_measure: Option<f64>,
    #[serde(rename = "Region")]
    region: Option<String>,
    #[serde(rename = "Feeder")]
    feeder: Option<String>,
}

/// One GetRecords page for the baseline's writer: its records, its shard
/// and the last sequence number.
type Page = (Vec<TypedRecord>, String, String);

/// The baseline's writer: each page in one transaction, as the cache
/// writes a batch (ids kept in maps, new devices and measures inserted,
/// dimensions upserted, each device's last time touched, the checkpoint).
fn bare_writer(
    path: std::path::PathBuf,
    pages: std::sync::mpsc::Receiver<Page>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        // The schema is there: the caller made the cache before its timer.
        let conn = rusqlite::Connection::open(&path).unwrap();
        Cache::configure(&conn).unwrap();
        let mut devices: HashMap<String, i64> = HashMap::new();
        let mut measures: HashMap<&'static str, i64> = HashMap::new();
        for (records, shard, sequence) in pages {
            let tx = conn.unchecked_transaction().unwrap();
            {
                let mut reading = tx
                    .prepare_cached("INSERT OR IGNORE INTO reading (device, measure, ts_us, value) VALUES (?1, ?2, ?3, ?4)")
                    .unwrap();
                let mut last: HashMap<i64, i64> = HashMap::new();
                for r in &records {
                    let ts = (r.time_ms * 1000.0).round() as i64;
                    let device = match devices.get(&r.device_id) {
                        Some(&id) => id,
                        None => {
                            tx.execute(
                                "INSERT INTO device (device_id, first_seen_us, last_seen_us) VALUES (?1, ?2, ?2)",
                                rusqlite::params![r.device_id, ts],
                            )
                            .unwrap();
                            let id = tx.last_insert_rowid();
                            for (name, value) in [("Region", &r.region), ("Feeder", &r.feeder)] {
                                if let Some(v) = value {
                                    tx.execute(
                                        "INSERT INTO device_dimension (device, name, value) VALUES (?1, ?2, ?3)
                                         ON CONFLICT (device, name) DO UPDATE SET value = excluded.value",
                                        rusqlite::params![id, name, v],
                                    )
                                    .unwrap();
                                }
                            }
                            devices.insert(r.device_id.clone(), id);
                            id
                        }
                    };
                    let t = last.entry(device).or_insert(ts);
                    *t = (*t).max(ts);
                    for (name, value) in [
                        ("voltage", r.voltage_measure),
                        ("watt", r.watt_measure),
                        ("current", r.current_measure),
                    ] {
                        let Some(v) = value else { continue };
                        let measure = *measures.entry(name).or_insert_with(|| {
                            tx.execute("INSERT INTO measure (name) VALUES (?1)", [name])
                                .unwrap();
                            tx.last_insert_rowid()
                        });
                        reading
                            .execute(rusqlite::params![device, measure, ts, v])
                            .unwrap();
                    }
                }
                let mut touch = tx
                    .prepare_cached(
                        "UPDATE device SET last_seen_us = max(last_seen_us, ?2) WHERE id = ?1",
                    )
                    .unwrap();
                for (device, t) in last {
                    touch.execute(rusqlite::params![device, t]).unwrap();
                }
                tx.execute(
                    "INSERT INTO checkpoint (source, shard, sequence, updated_us) VALUES ('bench', ?1, ?2, ?3)
                     ON CONFLICT (source, shard) DO UPDATE SET sequence = excluded.sequence,
                                                              updated_us = excluded.updated_us",
                    rusqlite::params![shard, sequence, gridwatch_core::time::now_us()],
                )
                .unwrap();
            }
            tx.commit().unwrap();
        }
    })
}

/// What both sides leave in their cache, by name: readings (device,
/// measure, time, value), dimensions and checkpoints (shard, sequence).
type Contents = (
    Vec<(String, String, i64, f64)>,
    Vec<(String, String, String)>,
    Vec<(String, String)>,
);

fn contents(path: &std::path::Path) -> Contents {
    let conn = rusqlite::Connection::open(path).unwrap();
    let readings = conn
        .prepare(
            "SELECT d.device_id, m.name, r.ts_us, r.value FROM reading r
             JOIN device d ON d.id = r.device JOIN measure m ON m.id = r.measure ORDER BY 1, 2, 3",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let dims = conn
        .prepare("SELECT d.device_id, x.name, x.value FROM device_dimension x JOIN device d ON d.id = x.device ORDER BY 1, 2")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let checkpoints = conn
        .prepare("SELECT shard, sequence FROM checkpoint ORDER BY 1")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    (readings, dims, checkpoints)
}

/// The baseline: GetRecords per shard at 5 calls a second, each page read
/// by the typed struct and handed to the writer of `cache`; done when the
/// writer has committed every page. With no cache, the floor: the records
/// are only counted. Returns the records read.
fn bare_consume(
    rt: &tokio::runtime::Runtime,
    client: &aws_sdk_kinesis::Client,
    cache: Option<std::path::PathBuf>,
) -> usize {
    let (tx, rx) = std::sync::mpsc::channel::<Page>();
    let writer = cache.map(|c| bare_writer(c, rx));
    let write = writer.is_some();
    let n = rt.block_on(async {
        let shards = list_shards(client, "bench-consume").await.unwrap();
        let mut tasks = Vec::new();
        for s in shards {
            let (client, tx) = (client.clone(), tx.clone());
            tasks.push(tokio::spawn(async move {
                let mut it = client
                    .get_shard_iterator()
                    .stream_name("bench-consume")
                    .shard_id(&s.shard_id)
                    .shard_iterator_type(ShardIteratorType::TrimHorizon)
                    .send()
                    .await
                    .unwrap()
                    .shard_iterator()
                    .map(str::to_owned);
                let mut count = 0;
                let mut last = Instant::now() - Duration::from_millis(200);
                while let Some(i) = it {
                    let since = last.elapsed();
                    if since < Duration::from_millis(200) {
                        tokio::time::sleep(Duration::from_millis(200) - since).await;
                    }
                    last = Instant::now();
                    let out = client
                        .get_records()
                        .shard_iterator(i)
                        .limit(10_000)
                        .send()
                        .await
                        .unwrap();
                    if out.records().is_empty() {
                        break;
                    }
                    count += out.records().len();
                    if write {
                        let records: Vec<TypedRecord> = out
                            .records()
                            .iter()
                            .map(|r| serde_json::from_slice(r.data().as_ref()).unwrap())
                            .collect();
                        let sequence = out
                            .records()
                            .last()
                            .map(|r| r.sequence_number().to_owned())
                            .unwrap_or_default();
                        tx.send((records, s.shard_id.clone(), sequence)).unwrap();
                    }
                    it = out.next_shard_iterator().map(str::to_owned);
                }
                count
            }));
        }
        let mut n = 0;
        for t in tasks {
            n += t.await.unwrap();
        }
        n
    });
    drop(tx);
    if let Some(w) = writer {
        w.join().unwrap();
    }
    n
}

/// Gridwatch's side: the follower from the stream's start into a fresh
/// cache, to the end of what is there.
fn follow(rt: &tokio::runtime::Runtime, client: aws_sdk_kinesis::Client, cache: Cache) {
    rt.block_on(async {
        let mut config = ConsumerConfig::new("bench-consume", StartAt::TrimHorizon);
        config.until_caught_up = true;
        let f = Follower::start(client, config, cache, "bench".into()).unwrap();
        let (consumed, summary) = f.finish().await;
        consumed.unwrap();
        assert_eq!(summary.unwrap().records, RECORDS as u64);
    });
}

fn consume(c: &mut Criterion) {
    let k = Kinesalite::start(None);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = k.client();
    rt.block_on(async {
        create_stream(&client, "bench-consume", 2).await;
        put_records(&client, "bench-consume", &items()).await;
    });
    // One round each into fresh files: the same readings, dimensions
    // and checkpoints, or stop.
    let check = tempfile::tempdir().unwrap();
    let (ours, theirs) = (
        check.path().join("ours.sqlite"),
        check.path().join("theirs.sqlite"),
    );
    follow(
        &rt,
        kinesis_client(&k.endpoint()),
        Cache::open(&ours).unwrap(),
    );
    drop(Cache::open(&theirs).unwrap());
    assert_eq!(bare_consume(&rt, &client, Some(theirs.clone())), RECORDS);
    let (a, b) = (contents(&ours), contents(&theirs));
    assert_eq!(a.0.len(), RECORDS * 3, "three readings a record");
    assert_eq!(
        a, b,
        "the follower's cache and the bare loop's hold the same"
    );

    let mut g = c.benchmark_group("kinesis_consume");
    g.sample_size(10);
    g.throughput(Throughput::Elements(RECORDS as u64));
    g.bench_function("follower_into_cache", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().unwrap();
                let cache = Cache::open(&dir.path().join("b.sqlite")).unwrap();
                // Made before the timer, as the baseline's client is.
                let follower_client = kinesis_client(&k.endpoint());
                let start = Instant::now();
                follow(&rt, follower_client, cache);
                total += start.elapsed();
            }
            total
        })
    });
    g.bench_function("baseline_same_work_by_hand", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("b.sqlite");
                // The schema made before the timer, as the follower's cache is.
                drop(Cache::open(&path).unwrap());
                let start = Instant::now();
                assert_eq!(bare_consume(&rt, &client, Some(path)), RECORDS);
                total += start.elapsed();
            }
            total
        })
    });
    g.bench_function("floor_get_records_loop_that_only_counts", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let n = bare_consume(&rt, &client, None);
                assert_eq!(n, RECORDS);
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();
}

fn produce(c: &mut Criterion) {
    let k = Kinesalite::start(None);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = k.client();
    // Enough shards that the producer's pacing (1,000 records/s per shard)
    // is not what is measured: kinesalite's own speed is.
    rt.block_on(create_stream(&client, "bench-produce", 40));
    let items = items();
    let mut g = c.benchmark_group("kinesis_produce");
    g.sample_size(10);
    g.throughput(Throughput::Elements(RECORDS as u64));
    g.bench_function("kinesis_sink", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                rt.block_on(async {
                    let mut sink = KinesisSink::connect(client.clone(), "bench-produce", 1)
                        .await
                        .unwrap();
                    for (key, data) in &items {
                        sink.send(key, data, 0).await.unwrap();
                    }
                    sink.flush().await.unwrap();
                });
            }
            start.elapsed()
        })
    });
    g.bench_function("baseline_bare_put_records_loop", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                rt.block_on(put_records(&client, "bench-produce", &items));
            }
            start.elapsed()
        })
    });
    g.finish();
}

/// End-to-end latency at 1,000 records/s: from PutRecords returning to the
/// reading being committed in the cache, read back by polling the cache.
fn latency(_: &mut Criterion) {
    let k = Kinesalite::start(None);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = k.client();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lat.sqlite");
    let latencies = rt.block_on(async {
        create_stream(&client, "bench-latency", 2).await;
        let cache = Cache::open(&path).unwrap();
        let f = Follower::start(
            kinesis_client(&k.endpoint()),
            ConsumerConfig::new("bench-latency", StartAt::Latest),
            cache,
            "lat".into(),
        )
        .unwrap();
        let reader = rusqlite::Connection::open(&path).unwrap();
        // The follower reads from the tip it found: a probe put every
        // 100 ms until one is committed shows its iterators are in place.
        let mut probes = 0u64;
        loop {
            put_records(
                &client,
                "bench-latency",
                &[(
                    "probe".into(),
                    format!(r#"{{"Time": {}, "DeviceID": "probe", "probe_measure": 1}}"#,
                        1_700_000_000_000u64 + probes)
                    .into_bytes(),
                )],
            )
            .await;
            probes += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
            let committed: i64 = reader
                .query_row(
                    "SELECT count(*) FROM reading JOIN measure ON measure.id = reading.measure WHERE measure.name = 'probe'",
                    [],
                    |r| r.get(0),
                )
                .unwrap_or(0);
            if committed > 0 {
                break;
            }
            assert!(probes < 600, "the follower committed no probe in a minute");
        }
        let sent: Arc<std::sync::Mutex<HashMap<u64, Instant>>> = Arc::default();
        let mut latencies = Vec::new();
        // 10 seconds at 1,000 records/s, in 50-record batches every 50 ms.
        let mut n = 0u64;
        let start = Instant::now();
        let mut next_check = Instant::now();
        while start.elapsed() < Duration::from_secs(10) || !sent.lock().unwrap().is_empty() {
            if start.elapsed() < Duration::from_secs(10) {
                let entries: Vec<_> = (0..50)
                    .map(|_| {
                        let e = PutRecordsRequestEntry::builder()
                            .partition_key(format!("meter-{}", n % 100))
                            .data(Blob::new(format!(
                                r#"{{"Time": {}, "DeviceID": "meter-{}", "n_measure": {n}}}"#,
                                1_700_000_000_000u64 + n,
                                n % 100
                            )))
                            .build()
                            .unwrap();
                        n += 1;
                        e
                    })
                    .collect();
                client
                    .put_records()
                    .stream_name("bench-latency")
                    .set_records(Some(entries))
                    .send()
                    .await
                    .unwrap();
                let now = Instant::now();
                let mut s = sent.lock().unwrap();
                for i in n - 50..n {
                    s.insert(i, now);
                }
            }
            tokio::time::sleep_until(next_check.into()).await;
            next_check += Duration::from_millis(50);
            // Which of the records still pending are committed now?
            let Some(oldest) = sent.lock().unwrap().keys().min().copied() else {
                continue;
            };
            let mut stmt = reader
                .prepare_cached(
                    "SELECT CAST(value AS INTEGER) FROM reading JOIN measure ON measure.id = reading.measure
                     WHERE measure.name = 'n' AND value >= ?1",
                )
                .unwrap();
            let committed: Vec<u64> = stmt
                .query_map([oldest as f64], |r| r.get::<_, i64>(0))
                .unwrap()
                .map(|v| v.unwrap() as u64)
                .collect();
            let now = Instant::now();
            let mut s = sent.lock().unwrap();
            for c in committed {
                if let Some(t) = s.remove(&c) {
                    latencies.push(now - t);
                }
            }
            if start.elapsed() > Duration::from_secs(40) {
                break;
            }
        }
        let _ = f.stop().await;
        let lost = sent.lock().unwrap().len();
        assert_eq!(lost, 0, "{lost} of {n} records sent were never committed in 40 s");
        latencies
    });
    let mut ms: Vec<f64> = latencies.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    let pct = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
    println!(
        "kinesis_latency/put_to_commit at 1000 records/s: {} records, p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms (cache polled every 50 ms)",
        ms.len(),
        pct(0.5),
        pct(0.99),
        ms[ms.len() - 1]
    );
}

criterion_group!(benches, consume, produce, latency);
criterion_main!(benches);
