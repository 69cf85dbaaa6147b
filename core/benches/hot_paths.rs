//! Hot paths, each beside a baseline run in the same process, so the figure
//! that matters is the ratio (these machines are noisy):
//!
//! - decode: the record codec vs `serde_json::from_slice::<Value>`.
//! - ingest: `Cache::ingest` vs a bare prepared-insert loop into the same table.
//! - chart: the per-pixel min/max query vs reading every row of the range.
//! - route: the bus's MD5 routing of a partition key.
//!
//! Run: `cargo bench -p gridwatch-core --bench hot_paths`.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use gridwatch_core::bus::Bus;
use gridwatch_core::cache::IngestBatch;
use gridwatch_core::codec::{self, Record};
use gridwatch_core::{Cache, CacheReader};
use rusqlite::params;

const T0: i64 = 1_700_000_000_000_000;

fn meter_record(i: u64) -> Record {
    Record {
        // 1,000 meters, each reporting in turn.
        device_id: format!("c0ffee00-8b1e-4a7c-9d2f-{:012x}", i % 1000),
        time_us: T0 + i as i64 * 1_000,
        time_adjusted: false,
        measures: vec![
            ("voltage".into(), 229.0 + (i % 17) as f64 * 0.13),
            ("current".into(), 3.0 + (i % 7) as f64 * 0.21),
            ("watt".into(), 700.0 + (i % 101) as f64),
            ("energy".into(), 12_345.678 + i as f64 * 0.001),
            ("temperature".into(), 18.5 + (i % 9) as f64 * 0.1),
        ],
        dimensions: vec![
            ("DeviceType".into(), "smart_meter".into()),
            ("Region".into(), "north".into()),
            ("Feeder".into(), "N-F07".into()),
        ],
    }
}

fn decode(c: &mut Criterion) {
    let wire: Vec<Vec<u8>> = (0..1_000)
        .map(|i| {
            let mut buf = Vec::new();
            codec::encode(&meter_record(i), &mut buf);
            buf
        })
        .collect();
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(wire.len() as u64));
    g.bench_function("gridwatch_codec", |b| {
        b.iter(|| {
            for w in &wire {
                black_box(codec::decode(black_box(w), T0).ok());
            }
        })
    });
    g.bench_function("baseline_serde_json_value", |b| {
        b.iter(|| {
            for w in &wire {
                black_box(serde_json::from_slice::<serde_json::Value>(black_box(w)).ok());
            }
        })
    });
    g.finish();
}

const INGEST_RECORDS: u64 = 2_000; // 10,000 readings a transaction

fn ingest(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Elements(INGEST_RECORDS * 5));
    g.sample_size(20);

    let mut cache = Cache::open(&dir.path().join("ingest.sqlite")).expect("cache");
    let mut next = 0u64;
    g.bench_function("cache_ingest", |b| {
        b.iter_batched(
            || {
                let batch: Vec<Record> = (next..next + INGEST_RECORDS).map(meter_record).collect();
                next += INGEST_RECORDS;
                batch
            },
            |records| {
                cache
                    .ingest(&IngestBatch {
                        source: "bench",
                        records: &records,
                        quarantined: &[],
                        checkpoints: &[],
                    })
                    .expect("ingest")
            },
            BatchSize::LargeInput,
        )
    });

    // The baseline: the same readings into the same table, ids already
    // known, nothing else: one prepared INSERT per reading in a transaction.
    let mut bare = Cache::open(&dir.path().join("bare.sqlite")).expect("cache");
    bare.ingest(&IngestBatch {
        source: "bench",
        records: &[meter_record(0)],
        quarantined: &[],
        checkpoints: &[],
    })
    .expect("seed ids");
    let conn = rusqlite::Connection::open(dir.path().join("bare.sqlite")).expect("open");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    conn.pragma_update(None, "synchronous", "NORMAL")
        .expect("sync");
    drop(bare);
    let mut next = 1u64;
    g.bench_function("baseline_bare_insert_loop", |b| {
        b.iter_batched(
            || {
                let batch: Vec<Record> = (next..next + INGEST_RECORDS).map(meter_record).collect();
                next += INGEST_RECORDS;
                batch
            },
            |records| {
                let tx = conn.unchecked_transaction().expect("tx");
                {
                    let mut stmt = tx
                        .prepare_cached(
                            "INSERT OR IGNORE INTO reading (device, measure, ts_us, value) VALUES (?1, ?2, ?3, ?4)",
                        )
                        .expect("prepare");
                    for r in &records {
                        for (m, (_, v)) in r.measures.iter().enumerate() {
                            // Same device spread as the records: 1,000 meters.
                            let device = ((r.time_us - T0) / 1_000) % 1_000 + 1;
                            stmt.execute(params![device, m as i64 + 1, r.time_us, v])
                                .expect("insert");
                        }
                    }
                }
                tx.commit().expect("commit");
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn chart(c: &mut Criterion) {
    // One device, 24 h at 1 s: 86,400 readings of one measure.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("chart.sqlite");
    let mut cache = Cache::open(&path).expect("cache");
    let day: Vec<Record> = (0..86_400i64)
        .map(|s| Record {
            device_id: "meter-1".into(),
            time_us: T0 + s * 1_000_000,
            time_adjusted: false,
            measures: vec![("watt".into(), 500.0 + (s % 3600) as f64)],
            dimensions: vec![],
        })
        .collect();
    for chunk in day.chunks(10_000) {
        cache
            .ingest(&IngestBatch {
                source: "bench",
                records: chunk,
                quarantined: &[],
                checkpoints: &[],
            })
            .expect("ingest");
    }
    let reader = CacheReader::open(&path).expect("reader");
    let (from, to) = (T0, T0 + 86_400 * 1_000_000);
    let mut g = c.benchmark_group("chart_24h_1s");
    g.bench_function("decimated_2000px", |b| {
        b.iter(|| {
            black_box(
                reader
                    .chart(Some("meter-1"), "watt", from, to, 2_000)
                    .expect("chart"),
            )
        })
    });
    g.bench_function("baseline_read_every_row", |b| {
        let mut stmt = reader
            .connection()
            .prepare("SELECT ts_us, value FROM reading WHERE device = 1 AND measure = 1 AND ts_us >= ?1 AND ts_us < ?2")
            .expect("prepare");
        b.iter(|| {
            let rows: Vec<(i64, f64)> = stmt
                .query_map(params![from, to], |r| Ok((r.get(0)?, r.get(1)?)))
                .expect("query")
                .map(|r| r.expect("row"))
                .collect();
            black_box(rows)
        })
    });
    g.finish();
}

fn route(c: &mut Criterion) {
    let (bus, _readers) = Bus::new(4, 1, &[]);
    let keys: Vec<String> = (0..1_000)
        .map(|i| format!("c0ffee{i:04}-8b1e-4a7c-9d2f"))
        .collect();
    let mut g = c.benchmark_group("route");
    g.throughput(Throughput::Elements(keys.len() as u64));
    g.bench_function("md5_hash_key_range", |b| {
        b.iter(|| {
            for k in &keys {
                black_box(bus.route(black_box(k)));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, decode, ingest, chart, route);
criterion_main!(benches);
