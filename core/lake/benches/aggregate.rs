//! The default view (records, energy, peak demand, load factor and voltage
//! figures per device type, by region and day) over one ~10-million-reading
//! extract (10,000 meters every 15 minutes for two days: 1.92 M records of 5
//! measures), Gridwatch beside DuckDB on the very same files, JSON and
//! Parquet; then `lake sql`'s energy-and-peak question on both engines.
//!
//! Both sides are timed warm, the same way: Gridwatch's call in this
//! process, DuckDB's in one Python process kept running for the whole
//! bench (`tests/scripts/duckdb_aggregate.py --repeat`, the script the
//! tests check Gridwatch's figures with), each reading the files anew on
//! every run from a warm page cache. DuckDB's figure is the time it
//! measures around its own work, so the pipe between the processes is not
//! counted against it. Every run's answers are compared (same groups,
//! numbers to 1e-9 relative): a bench that measures a wrong answer stops.
//! The whole-process race, cold caches and 100 M readings included, is
//! `scripts/lake-race.py` (BENCHMARKS.md).
//!
//! Run: `cargo bench -p gridwatch-lake --bench aggregate`. The extract is
//! made once under the target folder and reused.
#![allow(clippy::unwrap_used)] // a benchmark that cannot set up should stop loudly

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use gridwatch_core::codec;
use gridwatch_lake::table::{Rows, ViewOptions};
use gridwatch_lake::{AggregateRequest, GroupKey};
use gridwatch_simulator::lake::{LakeOptions, LakeSink};
use gridwatch_simulator::{Fleet, RecordSink};
use gridwatch_tests::{WarmPython, answers_differ};
use gridwatch_types::FleetSpec;
use serde_json::Value;

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

fn duckdb_view(lake: &Path, kind: &str) -> WarmPython {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/scripts/duckdb_aggregate.py");
    let req = request();
    let mut args: Vec<std::ffi::OsString> = vec![
        script.into(),
        lake.into(),
        req.from_us.to_string().into(),
        req.to_us.to_string().into(),
        "region,day".into(),
        "".into(),
        "--repeat".into(),
    ];
    if kind == "parquet" {
        args.push("--parquet".into());
    }
    WarmPython::spawn(args)
}

/// A table as the JSON rows the CLI prints (`--format json`).
fn as_json_rows(table: &gridwatch_types::ResultTable) -> Vec<Value> {
    let rows = Rows::from(table);
    rows.rows
        .iter()
        .map(|r| {
            Value::Object(
                rows.columns
                    .iter()
                    .cloned()
                    .zip(r.iter().cloned())
                    .collect(),
            )
        })
        .collect()
}

/// The view as the app and `gridwatch aggregate` run it.
fn ours(lake: &Path) -> (Duration, Vec<Value>) {
    let start = Instant::now();
    let never = std::sync::atomic::AtomicBool::new(false);
    let view = gridwatch_lake::view(lake, &request(), &ViewOptions::default(), &never).unwrap();
    let elapsed = start.elapsed();
    assert!(view.report.records > 1_900_000, "{:?}", view.report);
    assert_eq!(view.table.rows.len(), 5 * DAYS as usize);
    (elapsed, as_json_rows(&view.table))
}

fn theirs(duckdb: &mut WarmPython) -> (Duration, Vec<Value>) {
    let (elapsed, answer) = duckdb.ask();
    (elapsed, answer.as_array().unwrap().clone())
}

/// The columns naming the groups of the view (per device type, by region
/// and day) and of the SQL question (by region and day).
const VIEW_GROUPS: &[&str] = &["Region", "DeviceType", "day"];
const SQL_GROUPS: &[&str] = &["Region", "day"];

/// Times `runs` of one side, each answer checked against `expected`.
fn timed(
    runs: u64,
    groups: &[&str],
    expected: &[Value],
    mut run: impl FnMut() -> (Duration, Vec<Value>),
) -> Duration {
    (0..runs)
        .map(|_| {
            let (elapsed, answer) = run();
            if let Some(diff) = answers_differ(&answer, expected, groups) {
                panic!("a wrong answer was timed: {diff}");
            }
            elapsed
        })
        .sum()
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

/// DuckDB on the same question, warm: the table `readings` a view over the
/// same Parquet files with the same columns, each run reading them anew.
const DUCKDB_SQL: &str = r#"
import json, sys, time, duckdb
lake, query = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.execute(f"""CREATE VIEW readings AS SELECT time_us // 1000 AS "Time", device_id AS DeviceID, Region,
    watt AS watt_measure, energy AS energy_measure
    FROM read_parquet('{lake}/readings/parquet/*/*/*/*.parquet', hive_partitioning = false)""")
for _ in sys.stdin:
    t = time.perf_counter()
    cur = con.execute(query)
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r)) for r in cur.fetchall()]
    print(f"{time.perf_counter() - t}\t{json.dumps(rows)}", flush=True)
"#;

fn ours_sql(lake: &Path) -> (Duration, Vec<Value>) {
    let start = Instant::now();
    let req = gridwatch_lake::sql::SqlRequest {
        sql: ENERGY_AND_PEAK_SQL.into(),
        from_us: START_US,
        to_us: START_US + DAYS * 86_400_000_000,
        memory_budget: 1 << 30,
    };
    let never = std::sync::atomic::AtomicBool::new(false);
    let answer = gridwatch_lake::sql::run(lake, &req, &never, &|_, _| {}).unwrap();
    let elapsed = start.elapsed();
    assert_eq!(answer.frame.height(), 5 * DAYS as usize);
    (elapsed, as_json_rows(&answer.table().unwrap()))
}

fn lake(c: &mut Criterion) {
    let (json, parquet) = ensure_extract();
    let mut g = c.benchmark_group("lake_region_day_10m_readings");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    for (name, dir) in [("json", &json), ("parquet", &parquet)] {
        let mut duckdb = duckdb_view(dir, name);
        // The two engines must agree before either is timed.
        let (_, expected) = ours(dir);
        let (_, answer) = theirs(&mut duckdb);
        if let Some(diff) = answers_differ(&expected, &answer, VIEW_GROUPS) {
            panic!("{name}: Gridwatch and DuckDB differ: {diff}");
        }
        g.bench_function(format!("gridwatch_{name}"), |b| {
            b.iter_custom(|iters| timed(iters, VIEW_GROUPS, &expected, || ours(dir)))
        });
        g.bench_function(format!("baseline_duckdb_{name}"), |b| {
            b.iter_custom(|iters| timed(iters, VIEW_GROUPS, &expected, || theirs(&mut duckdb)))
        });
    }
    g.finish();
    let mut g = c.benchmark_group("lake_sql_energy_and_peak_10m_readings");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    let mut duckdb = WarmPython::spawn([
        std::ffi::OsStr::new("-c"),
        DUCKDB_SQL.as_ref(),
        parquet.as_os_str(),
        ENERGY_AND_PEAK_SQL.as_ref(),
    ]);
    let (_, expected) = ours_sql(&parquet);
    let (_, answer) = theirs(&mut duckdb);
    if let Some(diff) = answers_differ(&expected, &answer, SQL_GROUPS) {
        panic!("lake sql: Gridwatch and DuckDB differ: {diff}");
    }
    g.bench_function("gridwatch_polars_sql_parquet", |b| {
        b.iter_custom(|iters| timed(iters, SQL_GROUPS, &expected, || ours_sql(&parquet)))
    });
    g.bench_function("baseline_duckdb_sql_parquet", |b| {
        b.iter_custom(|iters| timed(iters, SQL_GROUPS, &expected, || theirs(&mut duckdb)))
    });
    g.finish();
}

criterion_group!(benches, lake);
criterion_main!(benches);
