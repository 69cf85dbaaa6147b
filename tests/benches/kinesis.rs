//! The Kinesis path against kinesalite on 127.0.0.1, each beside a bare
//! baseline run in the same process:
//!
//! - consume: records/s from a stream into the cache (Follower: consumer +
//!   decode + SQLite) vs a bare GetRecords loop that only counts records.
//!   Both keep Kinesis's 5 calls a second per shard.
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

fn consume(c: &mut Criterion) {
    let k = Kinesalite::start(None);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = k.client();
    rt.block_on(async {
        create_stream(&client, "bench-consume", 2).await;
        put_records(&client, "bench-consume", &items()).await;
    });
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
                rt.block_on(async {
                    let mut config = ConsumerConfig::new("bench-consume", StartAt::TrimHorizon);
                    config.until_caught_up = true;
                    let f =
                        Follower::start(follower_client, config, cache, "bench".into()).unwrap();
                    let (consumed, summary) = f.finish().await;
                    consumed.unwrap();
                    assert_eq!(summary.unwrap().records, RECORDS as u64);
                });
                total += start.elapsed();
            }
            total
        })
    });
    g.bench_function("baseline_bare_get_records_loop", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let n = rt.block_on(async {
                    let shards = list_shards(&client, "bench-consume").await.unwrap();
                    let mut tasks = Vec::new();
                    for s in shards {
                        let client = client.clone();
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
                                // The same 5 calls a second per shard.
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
                                count += out.records().len();
                                if out.records().is_empty() {
                                    break;
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
