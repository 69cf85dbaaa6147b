//! Energy and peak demand by region and day over one ~10-million-reading
//! extract (10,000 meters every 15 minutes for two days: 1.92 M records of 5
//! measures), Gridwatch beside DuckDB on the very same files, JSON and
//! Parquet. DuckDB runs in its own process (PyPI `duckdb`, from
//! `./dev.sh setup`); its figure is the query time it measures itself, so
//! Python's start-up is not counted against it.
//!
//! Run: `cargo bench -p gridwatch-lake --bench aggregate`. The extract is
//! made once under the target folder and reused.
#![allow(clippy::unwrap_used)] // a benchmark that cannot set up should stop loudly

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use gridwatch_core::codec;
use gridwatch_lake::{AggregateRequest, GroupKey};
use gridwatch_simulator::lake::{LakeOptions, LakeSink};
use gridwatch_simulator::{Fleet, RecordSink};
use gridwatch_types::FleetSpec;

const START_US: i64 = 1_700_006_400_000_000; // 2023-11-15T00:00:00Z
const DAYS: i64 = 2;

fn extract_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("bench-lake-10m")
}

/// Writes the JSON extract once, and a Parquet copy of it (compacted).
fn ensure_extract() -> (PathBuf, PathBuf) {
    let json = extract_dir().join("json-lake");
    let parquet = extract_dir().join("parquet-lake");
    if !json.join("readings").exists() {
        let spec = FleetSpec {
            smart_meters: 10_000,
            interval_ms: 15 * 60 * 1000,
            anomaly_rate: 0.051,
            seed: 7,
            ..FleetSpec::default()
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut sink = LakeSink::new(LakeOptions::new(&json));
            let mut fleet = Fleet::new(&spec, START_US);
            let end = START_US + DAYS * 86_400_000_000;
            let mut buf = Vec::new();
            while fleet.next_due_us().unwrap() < end {
                let r = fleet.next_record().unwrap();
                buf.clear();
                codec::encode(&r, &mut buf);
                sink.send(&r.device_id, &buf, r.time_us).await.unwrap();
            }
            sink.flush().await.unwrap();
        });
    }
    if !parquet.join("readings").exists() {
        let copy = Command::new("cp")
            .arg("-r")
            .arg(&json)
            .arg(&parquet)
            .status()
            .unwrap();
        assert!(copy.success());
        gridwatch_lake::compact::compact(
            &parquet,
            0,
            gridwatch_types::time::MAX_US,
            i64::MAX / 2,
            false,
            &std::sync::atomic::AtomicBool::new(false),
        )
        .unwrap();
    }
    (json, parquet)
}

fn request() -> AggregateRequest {
    AggregateRequest {
        from_us: START_US,
        to_us: START_US + DAYS * 86_400_000_000,
        by: vec![GroupKey::Dimension("Region".into()), GroupKey::Day],
        filters: vec![],
        top: None,
        ..AggregateRequest::default()
    }
}

const DUCKDB: &str = r#"
import sys, time, duckdb
lake, kind = sys.argv[1], sys.argv[2]
src = (f"read_json('{lake}/readings/json/*/*/*/*/*', format='newline_delimited')" if kind == 'json'
       else f"read_parquet('{lake}/readings/parquet/*/*/*/*.parquet')")
cols = ('CAST(round("Time" * 1000) AS BIGINT) AS time_us, DeviceID AS device_id, Region, watt_measure AS watt, energy_measure AS energy'
        if kind == 'json' else 'time_us, device_id, Region, watt, energy')
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
t = time.perf_counter()
con.execute(f"""
WITH t AS (SELECT {cols} FROM {src}),
k AS (SELECT *, time_us - time_us % 86400000000 AS day, time_us - time_us % 900000000 AS interval FROM t),
inc AS (SELECT *, energy - lag(energy) OVER (PARTITION BY device_id ORDER BY time_us) AS d FROM k),
e AS (SELECT Region, day, sum(CASE WHEN d < 0 THEN energy ELSE d END) AS energy_kwh FROM inc GROUP BY ALL),
dev AS (SELECT Region, day, device_id, interval, avg(watt) AS w FROM k GROUP BY ALL),
grp AS (SELECT Region, day, interval, sum(w) AS demand FROM dev GROUP BY ALL),
p AS (SELECT Region, day, max(demand) AS peak, arg_max(interval, demand) AS peak_at FROM grp GROUP BY ALL)
SELECT * FROM e JOIN p USING (Region, day) ORDER BY Region, day
""").fetchall()
print(time.perf_counter() - t)
"#;

fn duckdb_seconds(lake: &Path, kind: &str) -> Duration {
    let printed = gridwatch_tests::emulator_python([
        std::ffi::OsStr::new("-c"),
        DUCKDB.as_ref(),
        lake.as_os_str(),
        kind.as_ref(),
    ]);
    Duration::from_secs_f64(printed.trim().parse().unwrap())
}

fn ours(lake: &Path) -> Duration {
    let start = Instant::now();
    let req = request();
    let (out, report) = gridwatch_lake::aggregate(lake, &req).unwrap();
    assert!(report.records > 1_900_000, "{report:?}");
    assert_eq!(out.height(), 5 * DAYS as usize);
    start.elapsed()
}

/// `lake sql` on the energy-and-peak question, the same SQL for both
/// engines over the same Parquet files, as the table `readings`.
const ENERGY_AND_PEAK_SQL: &str = r#"
WITH dev AS (
    SELECT Region, "Time" - "Time" % 86400000 AS day, DeviceID, "Time" - "Time" % 900000 AS iv,
           avg(watt_measure) AS w, max(energy_measure) - min(energy_measure) AS e
    FROM readings GROUP BY Region, day, DeviceID, iv),
grp AS (SELECT Region, day, iv, sum(w) AS demand, sum(e) AS energy FROM dev GROUP BY Region, day, iv)
SELECT Region, day, sum(energy) AS energy_kwh, max(demand) AS peak_w FROM grp
GROUP BY Region, day ORDER BY Region, day
"#;

const DUCKDB_SQL: &str = r#"
import sys, time, duckdb
lake, query = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
t = time.perf_counter()
con.execute(f"""CREATE VIEW readings AS SELECT time_us // 1000 AS "Time", device_id AS DeviceID, Region,
    watt AS watt_measure, energy AS energy_measure FROM read_parquet('{lake}/readings/parquet/*/*/*/*.parquet')""")
rows = con.execute(query).fetchall()
print(time.perf_counter() - t)
"#;

fn duckdb_sql_seconds(lake: &Path) -> Duration {
    let printed = gridwatch_tests::emulator_python([
        std::ffi::OsStr::new("-c"),
        DUCKDB_SQL.as_ref(),
        lake.as_os_str(),
        ENERGY_AND_PEAK_SQL.as_ref(),
    ]);
    Duration::from_secs_f64(printed.trim().parse().unwrap())
}

fn ours_sql(lake: &Path) -> Duration {
    let start = Instant::now();
    let req = gridwatch_lake::sql::SqlRequest {
        sql: ENERGY_AND_PEAK_SQL.into(),
        from_us: START_US,
        to_us: START_US + DAYS * 86_400_000_000,
        memory_budget: 1 << 30,
    };
    let never = std::sync::atomic::AtomicBool::new(false);
    let answer = gridwatch_lake::sql::run(lake, &req, &never, &|_, _| {}).unwrap();
    assert_eq!(answer.frame.height(), 5 * DAYS as usize);
    start.elapsed()
}

fn lake(c: &mut Criterion) {
    let (json, parquet) = ensure_extract();
    let mut g = c.benchmark_group("lake_region_day_10m_readings");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    for (name, dir, kind) in [("json", &json, "json"), ("parquet", &parquet, "parquet")] {
        g.bench_function(format!("gridwatch_{name}"), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| ours(dir)).sum())
        });
        g.bench_function(format!("baseline_duckdb_{name}"), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| duckdb_seconds(dir, kind)).sum())
        });
    }
    g.finish();
    let mut g = c.benchmark_group("lake_sql_energy_and_peak_10m_readings");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.bench_function("gridwatch_polars_sql_parquet", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| ours_sql(&parquet)).sum())
    });
    g.bench_function("baseline_duckdb_sql_parquet", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| duckdb_sql_seconds(&parquet)).sum())
    });
    g.finish();
}

criterion_group!(benches, lake);
criterion_main!(benches);
