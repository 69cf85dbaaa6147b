//! The InfluxDB bridge's write stage against Debian's influxd on 127.0.0.1:
//! 20,000 readings in shard batches of 5,000 through the bridge's sink
//! (line protocol, 5,000-line writes, the retry and quarantine logic,
//! counting) against a bare loop posting the same line protocol in the
//! same 5,000-line batches with a plain HTTP client (the baseline, in the
//! same process). Each sample writes new times, so InfluxDB does the same
//! work both ways. Reading Kinesis is left out: `--bench kinesis` has it.
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
    let mut round = 0u64;
    let mut g = c.benchmark_group("influx_bridge_write_20k");
    g.sample_size(10);
    g.throughput(Throughput::Elements(READINGS as u64));
    g.bench_function("bridge_sink", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                round += 1;
                let batches: Vec<ShardBatch> = readings(round)
                    .chunks(BATCH)
                    .map(|r| ShardBatch {
                        shard: "shardId-000000000000".into(),
                        checkpoint: None,
                        records: r.to_vec(),
                        quarantined: Vec::new(),
                    })
                    .collect();
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
                // The lines are made outside the timer: only the posts count.
                let lines: Vec<String> = readings(round)
                    .iter()
                    .map(|r| {
                        let mut l = String::new();
                        line::write_point(&mut l, "readings", "DeviceID", r);
                        l
                    })
                    .collect();
                let bodies: Vec<String> =
                    lines.chunks(LINES_PER_POST).map(|c| c.concat()).collect();
                let start = Instant::now();
                rt.block_on(async {
                    for body in bodies {
                        let r = http.post(&url).body(body).send().await.unwrap();
                        assert_eq!(r.status().as_u16(), 204);
                    }
                });
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, write);
criterion_main!(benches);
