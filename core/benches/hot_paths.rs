//! Hot paths, each beside a baseline run in the same process, so the figure
//! that matters is the ratio (these machines are noisy):
//!
//! - decode: the record codec vs a typed serde struct of the same record
//!   (derived `Deserialize`), both into the same `Record`, errors checked.
//! - ingest: `Cache::ingest` with a shard checkpoint a transaction vs a bare
//!   prepared-insert loop writing the same readings and checkpoint into the
//!   same tables, on a connection set up as the cache sets up its own.
//! - chart: the per-pixel min/max query vs the same columns asked of SQLite
//!   (a `GROUP BY` on the pixel index), and the floor: reading every row.
//!
//! Before any timing, each pair is run once on the same input and its
//! answers compared: a bench that would time a wrong answer stops.
//! - route: the bus's MD5 routing of a partition key vs the MD5 and a walk
//!   over the ranges in order.
//!
//! Run: `cargo bench -p gridwatch-core --bench hot_paths`.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use gridwatch_core::bus::{Bus, even_ranges};
use gridwatch_core::cache::Checkpoint;
use gridwatch_core::cache::IngestBatch;
use gridwatch_core::codec::{self, Record};
use gridwatch_core::{Cache, CacheReader};
use gridwatch_types::ChartColumn;
use md5::{Digest, Md5};
use rusqlite::params;
use serde::Deserialize;

const T0: i64 = 1_700_000_000_000_000;

fn meter_record(i: u64) -> Record {
    Record {
        // 1,000 meters, each reporting in turn.
        device_id: format!("c0ffee00-8b1e-4a7c-9d2f-{:012x}", i % 1000),
        time_us: T0 + i as i64 * 1_000,
        time_adjusted: false,
        measure_keys: Vec::new(),
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

/// The decode row's record as a developer would type it for serde: its
/// known keys as fields, its strings owned.
#[derive(Deserialize)]
struct TypedMeterRecord {
    #[serde(rename = "Time")]
    time_ms: f64,
    #[serde(rename = "DeviceID")]
    device_id: String,
    voltage_measure: Option<f64>,
    current_measure: Option<f64>,
    watt_measure: Option<f64>,
    energy_measure: Option<f64>,
    temperature_measure: Option<f64>,
    #[serde(rename = "DeviceType")]
    device_type: Option<String>,
    #[serde(rename = "Region")]
    region: Option<String>,
    #[serde(rename = "Feeder")]
    feeder: Option<String>,
}

/// The baseline's decode: the typed struct, then the same `Record` the
/// codec gives (measures named without their suffix, in the wire's order).
fn decode_typed(bytes: &[u8]) -> Result<Record, serde_json::Error> {
    let t: TypedMeterRecord = serde_json::from_slice(bytes)?;
    let measures = [
        ("voltage", t.voltage_measure),
        ("current", t.current_measure),
        ("watt", t.watt_measure),
        ("energy", t.energy_measure),
        ("temperature", t.temperature_measure),
    ];
    let dimensions = [
        ("DeviceType", t.device_type),
        ("Region", t.region),
        ("Feeder", t.feeder),
    ];
    Ok(Record {
        device_id: t.device_id,
        time_us: (t.time_ms * 1000.0).round() as i64,
        time_adjusted: false,
        measure_keys: Vec::new(),
        measures: measures
            .into_iter()
            .filter_map(|(name, v)| Some((name.to_owned(), v?)))
            .collect(),
        dimensions: dimensions
            .into_iter()
            .filter_map(|(name, v)| Some((name.to_owned(), v?)))
            .collect(),
    })
}

fn decode(c: &mut Criterion) {
    let wire: Vec<Vec<u8>> = (0..1_000)
        .map(|i| {
            let mut buf = Vec::new();
            codec::encode(&meter_record(i), &mut buf);
            buf
        })
        .collect();
    for (i, w) in wire.iter().enumerate() {
        let ours = codec::decode(w, T0).expect("the codec reads its own record");
        assert_eq!(ours, meter_record(i as u64), "the codec's answer");
        assert_eq!(
            decode_typed(w).expect("typed"),
            ours,
            "the baseline's answer"
        );
    }
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(wire.len() as u64));
    g.bench_function("gridwatch_codec", |b| {
        b.iter(|| {
            for w in &wire {
                black_box(codec::decode(black_box(w), T0).expect("decodes"));
            }
        })
    });
    g.bench_function("baseline_serde_typed_struct", |b| {
        b.iter(|| {
            for w in &wire {
                black_box(decode_typed(black_box(w)).expect("decodes"));
            }
        })
    });
    g.finish();
}

const INGEST_RECORDS: u64 = 2_000; // 10,000 readings a transaction

/// A consumer's checkpoint after batch `n`, as a shard iterator gives them.
fn checkpoint_after(n: u64) -> Checkpoint {
    Checkpoint {
        shard: "shardId-000000000000".into(),
        sequence: format!("{:056}", n),
    }
}

/// A connection set up as `Cache` sets up its own (WAL, `synchronous =
/// NORMAL`, 64 MiB of page cache), on a cache file whose ids exist.
fn bare_connection(path: &std::path::Path) -> rusqlite::Connection {
    let mut seed = Cache::open(path).expect("cache");
    seed.ingest(&IngestBatch {
        source: "bench",
        records: &[meter_record(0)],
        quarantined: &[],
        checkpoints: &[],
    })
    .expect("seed ids");
    drop(seed);
    let conn = rusqlite::Connection::open(path).expect("open");
    Cache::configure(&conn).expect("set up as the cache's");
    conn
}

/// The baseline: the same readings and checkpoint into the same tables,
/// ids already known, nothing else: one prepared statement per row in one
/// transaction.
fn bare_ingest(conn: &rusqlite::Connection, records: &[Record], checkpoint: &Checkpoint) {
    let tx = conn.unchecked_transaction().expect("tx");
    {
        let mut stmt = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO reading (device, measure, ts_us, value) VALUES (?1, ?2, ?3, ?4)",
            )
            .expect("prepare");
        for r in records {
            // Same device spread as the records: 1,000 meters, numbered
            // as the cache numbers them (in the order first seen).
            let device = ((r.time_us - T0) / 1_000) % 1_000 + 1;
            for (m, (_, v)) in r.measures.iter().enumerate() {
                stmt.execute(params![device, m as i64 + 1, r.time_us, v])
                    .expect("insert");
            }
        }
        tx.prepare_cached(
            "INSERT INTO checkpoint (source, shard, sequence, updated_us) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (source, shard) DO UPDATE SET sequence = excluded.sequence,
                                                      updated_us = excluded.updated_us",
        )
        .expect("prepare")
        .execute(params![
            "bench",
            checkpoint.shard,
            checkpoint.sequence,
            gridwatch_core::time::now_us()
        ])
        .expect("checkpoint");
    }
    tx.commit().expect("commit");
}

/// What a cache file holds that both sides write: readings (device,
/// measure, time, value) and checkpoints (shard, sequence).
type CacheContents = (Vec<(i64, i64, i64, f64)>, Vec<(String, String)>);

fn cache_contents(path: &std::path::Path) -> CacheContents {
    let conn = rusqlite::Connection::open(path).expect("open");
    let readings = conn
        .prepare("SELECT device, measure, ts_us, value FROM reading ORDER BY 1, 2, 3")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    let checkpoints = conn
        .prepare("SELECT shard, sequence FROM checkpoint ORDER BY 1")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    (readings, checkpoints)
}

/// One batch through each side into fresh files: the same rows, or stop.
fn ingest_sides_agree(dir: &std::path::Path) {
    let batch: Vec<Record> = (0..INGEST_RECORDS).map(meter_record).collect();
    let ours = dir.join("check-ours.sqlite");
    Cache::open(&ours)
        .expect("cache")
        .ingest(&IngestBatch {
            source: "bench",
            records: &batch,
            quarantined: &[],
            checkpoints: &[checkpoint_after(0)],
        })
        .expect("ingest");
    let bare = dir.join("check-bare.sqlite");
    bare_ingest(&bare_connection(&bare), &batch, &checkpoint_after(0));
    let (ours, bare) = (cache_contents(&ours), cache_contents(&bare));
    assert_eq!(ours.0.len(), INGEST_RECORDS as usize * 5);
    assert_eq!(ours, bare, "the two sides wrote different rows");
}

fn ingest(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    ingest_sides_agree(dir.path());
    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Elements(INGEST_RECORDS * 5));
    g.sample_size(20);

    let mut cache = Cache::open(&dir.path().join("ingest.sqlite")).expect("cache");
    let mut next = 0u64;
    g.bench_function("cache_ingest", |b| {
        b.iter_batched(
            || {
                let batch: Vec<Record> = (next..next + INGEST_RECORDS).map(meter_record).collect();
                let checkpoint = checkpoint_after(next);
                next += INGEST_RECORDS;
                (batch, checkpoint)
            },
            |(records, checkpoint)| {
                cache
                    .ingest(&IngestBatch {
                        source: "bench",
                        records: &records,
                        quarantined: &[],
                        checkpoints: std::slice::from_ref(&checkpoint),
                    })
                    .expect("ingest")
            },
            BatchSize::LargeInput,
        )
    });

    let conn = bare_connection(&dir.path().join("bare.sqlite"));
    let mut next = 1u64;
    g.bench_function("baseline_bare_insert_loop", |b| {
        b.iter_batched(
            || {
                let batch: Vec<Record> = (next..next + INGEST_RECORDS).map(meter_record).collect();
                let checkpoint = checkpoint_after(next);
                next += INGEST_RECORDS;
                (batch, checkpoint)
            },
            |(records, checkpoint)| bare_ingest(&conn, &records, &checkpoint),
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
            measure_keys: Vec::new(),
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
    let columns = reader
        .chart(Some("meter-1"), "watt", from, to, 2_000)
        .expect("chart");
    // The same columns asked of SQLite: a GROUP BY on the pixel index.
    let by_sql = |reader: &CacheReader| -> Vec<ChartColumn> {
        reader
            .connection()
            .prepare_cached(CHART_SQL)
            .expect("prepare")
            .query_map(params![from, to, 2_000i64, to - from], |r| {
                Ok(ChartColumn {
                    first_us: r.get(0)?,
                    last_us: r.get(1)?,
                    min: r.get(2)?,
                    max: r.get(3)?,
                    sum: r.get(4)?,
                    count: r.get::<_, i64>(5)? as u64,
                })
            })
            .expect("query")
            .map(|r| r.expect("row"))
            .collect()
    };
    assert_eq!(by_sql(&reader), columns, "the two sides' columns");
    // The floor reads what the chart folds: the same readings, every one.
    let read_every_row = |stmt: &mut rusqlite::CachedStatement<'_>| -> Vec<(i64, f64)> {
        stmt.query_map(params![from, to], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .map(|r| r.expect("row"))
            .collect()
    };
    let floor = || {
        reader
            .connection()
            .prepare_cached(FLOOR_SQL)
            .expect("prepare")
    };
    let rows = read_every_row(&mut floor());
    assert_eq!(
        columns.iter().map(|c| c.count).sum::<u64>(),
        rows.len() as u64
    );
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
    g.bench_function("baseline_sql_group_by_pixel", |b| {
        b.iter(|| black_box(by_sql(&reader)))
    });
    g.bench_function("floor_read_every_row", |b| {
        let mut stmt = floor();
        b.iter(|| black_box(read_every_row(&mut stmt)))
    });
    g.finish();
}

/// The chart's floor: every reading of the range, not folded.
const FLOOR_SQL: &str = "SELECT ts_us, value FROM reading WHERE device = 1 AND measure = 1 AND ts_us >= ?1 AND ts_us < ?2";

/// The chart's columns as one SQL query: each reading's pixel computed,
/// grouped, in pixel order.
const CHART_SQL: &str =
    "SELECT min(ts_us), max(ts_us), min(value), max(value), sum(value), count(*)
     FROM reading WHERE device = 1 AND measure = 1 AND ts_us >= ?1 AND ts_us < ?2
     GROUP BY (ts_us - ?1) * ?3 / ?4 ORDER BY 1";

/// The route's baseline: the shard whose range holds the key's MD5, found
/// by walking the ranges in order.
fn route_by_scan(ranges: &[(u128, u128)], key: &str) -> u32 {
    let hash = u128::from_be_bytes(Md5::digest(key.as_bytes()).into());
    ranges
        .iter()
        .position(|&(start, end)| start <= hash && hash <= end)
        .expect("the ranges cover every key") as u32
}

fn route(c: &mut Criterion) {
    let (bus, _readers) = Bus::new(4, 1, &[]);
    let keys: Vec<String> = (0..1_000)
        .map(|i| format!("c0ffee{i:04}-8b1e-4a7c-9d2f"))
        .collect();
    let ranges: Vec<(u128, u128)> = even_ranges(4)
        .iter()
        .map(|r| (r.starting, r.ending))
        .collect();
    for k in &keys {
        assert_eq!(bus.route(k).0, route_by_scan(&ranges, k), "{k}");
    }
    let mut g = c.benchmark_group("route");
    g.throughput(Throughput::Elements(keys.len() as u64));
    g.bench_function("md5_hash_key_range", |b| {
        b.iter(|| {
            for k in &keys {
                black_box(bus.route(black_box(k)));
            }
        })
    });
    g.bench_function("baseline_md5_and_range_scan", |b| {
        b.iter(|| {
            for k in &keys {
                black_box(route_by_scan(&ranges, black_box(k)));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, decode, ingest, chart, route);
criterion_main!(benches);
