//! The InfluxDB bridge's write stage against Debian's influxd on 127.0.0.1:
//! 20,000 readings in shard batches of 5,000 through the bridge's sink
//! (line protocol, 5,000-line writes, the retry and quarantine logic,
//! counting) against a bare loop making the same line protocol with the
//! same writer and posting it in the same 5,000-line batches with a plain
//! HTTP client (the baseline, in the same process; both make their lines
//! inside the timer). Each sample writes new times, so InfluxDB does the
//! same work both ways; before timing, one round through each side must
//! leave InfluxDB holding the same counts. Reading Kinesis is left out:
//! `--bench kinesis` has it.
//!
//! Run: `cargo bench -p gridwatch-tests --bench influx` (needs
//! `./dev.sh setup` for influxd).
#![allow(clippy::unwrap_used)] // a benchmark that cannot set up should stop loudly

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gridwatch_core::bridge::{BridgeSummary, Sink};
use gridwatch_core::codec::Record;
use gridwatch_core::influx::{Auth, InfluxClient, line};
use gridwatch_core::ingest::ShardBatch;
use gridwatch_tests::Influx;

const READINGS: usize = 20_000;
/// A shard batch: as many as one write takes, so both sides post alike.
const BATCH: usize = 5_000;
const LINES_PER_POST: usize = 5_000;

fn readings(round: u64) -> Vec<Record> {
    (0..READINGS)
        .map(|n| Record {
            device_id: format!("meter-{}", n % 100),
            // A new time for every reading of every round.
            time_us: (1_700_000_000_000 + round as i64 * READINGS as i64 * 10 + n as i64 * 10)
                * 1000,
            time_adjusted: false,
            measure_keys: Vec::new(),
            measures: vec![
                ("voltage".into(), 230.1 + (n % 7) as f64 * 0.1),
                ("watt".into(), 100.0 + (n % 500) as f64),
                ("current".into(), 2.5),
            ],
            dimensions: vec![
                ("Region".into(), "north".into()),
                ("Feeder".into(), "N-F01".into()),
            ],
        })
        .collect()
}

fn shard_batches(round: u64) -> Vec<ShardBatch> {
    readings(round)
        .chunks(BATCH)
        .map(|r| ShardBatch {
            shard: "shardId-000000000000".into(),
            checkpoint: None,
            records: r.to_vec(),
            quarantined: Vec::new(),
        })
        .collect()
}

/// The baseline: the lines made by the same writer, posted in the same
/// batches, nothing else.
async fn bare_posts(http: &reqwest::Client, url: &str, records: &[Record]) {
    for batch in records.chunks(LINES_PER_POST) {
        let mut body = String::new();
        for r in batch {
            line::write_point(&mut body, "readings", "DeviceID", r);
        }
        let r = http.post(url).body(body).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 204);
    }
}

/// InfluxDB's counts of each field over one round's times, as JSON text.
async fn counts(http: &reqwest::Client, base: &str, round: u64) -> String {
    let from_ms = 1_700_000_000_000 + round as i64 * READINGS as i64 * 10;
    let to_ms = from_ms + READINGS as i64 * 10;
    let q = format!("SELECT count(*) FROM readings WHERE time >= {from_ms}ms AND time < {to_ms}ms");
    let answer: serde_json::Value = http
        .get(format!("{base}/query"))
        .query(&[("db", "grid"), ("q", q.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["results"][0]["series"][0]["values"][0]
        .as_array()
        .unwrap()[1..]
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn write(c: &mut Criterion) {
    let influx = Influx::start(false);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sink = Sink::Influx {
        client: InfluxClient::new(&influx.url(), "grid", Auth::None).unwrap(),
        measurement: "readings".into(),
        device_tag: "DeviceID".into(),
    };
    let http = reqwest::Client::new();
    let url = format!("{}/write?db=grid&precision=ms", influx.url());
    // One round through each side: InfluxDB must hold the same counts.
    let (ours, theirs) = rt.block_on(async {
        let mut summary = BridgeSummary::default();
        for batch in shard_batches(1) {
            assert!(sink.write(&batch, &mut summary).await.unwrap().is_empty());
        }
        bare_posts(&http, &url, &readings(2)).await;
        (
            counts(&http, &influx.url(), 1).await,
            counts(&http, &influx.url(), 2).await,
        )
    });
    assert_eq!(ours, theirs, "the two sides left different points");
    assert!(ours.contains(&READINGS.to_string()), "{ours}");
    let mut round = 2u64;
    let mut g = c.benchmark_group("influx_bridge_write_20k");
    g.sample_size(10);
    g.throughput(Throughput::Elements(READINGS as u64));
    g.bench_function("bridge_sink", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                round += 1;
                let batches = shard_batches(round);
                let start = Instant::now();
                let mut summary = BridgeSummary::default();
                rt.block_on(async {
                    for batch in &batches {
                        assert!(sink.write(batch, &mut summary).await.unwrap().is_empty());
                    }
                });
                total += start.elapsed();
                assert_eq!(summary.written, READINGS as u64);
            }
            total
        })
    });
    g.bench_function("baseline_bare_post_loop", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                round += 1;
                let records = readings(round);
                let start = Instant::now();
                rt.block_on(bare_posts(&http, &url, &records));
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, write);
criterion_main!(benches);
