//! Strategic views on any lake (issue 15): a lake written by a test script
//! (`tests/scripts/seed_lake.py`, not Gridwatch) the way Firehose writes
//! the seed producer's records (newline and back-to-back JSON, gzip,
//! Parquet; only voltage and watt), checked against DuckDB on the very
//! same files: any measure's figures, energy integrated from power, per
//! device type by default, and `lake sql` through polars.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gridwatch_tests::{emulator_python, gridwatch, gridwatch_ok};
use serde_json::Value;

const FROM: &str = "2023-11-15T00:00:00Z";
const TO: &str = "2023-11-19T00:00:00Z";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/seed_lake.py")
}

/// A seed-shaped lake (`--mixed`: feeders and meters) in a new folder.
fn seed_lake(mixed: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec![script().into_os_string(), "write".into(), dir.path().into()];
    if mixed {
        args.push("--mixed".into());
    }
    emulator_python(args);
    // Every layout is there.
    let files = gridwatch_tests::files_under(dir.path());
    assert!(files.iter().any(|f| f.to_string_lossy().ends_with(".gz")));
    assert!(
        files
            .iter()
            .any(|f| f.to_string_lossy().ends_with(".parquet"))
    );
    dir
}

fn duckdb(args: &[&str]) -> Vec<Value> {
    let mut all = vec![script().into_os_string()];
    all.extend(args.iter().map(Into::into));
    serde_json::from_str(&emulator_python(all)).unwrap()
}

/// `command` (`aggregate`, `lake sql Q`) over the fixture's range, as JSON.
fn ours(lake: &Path, command: &[&str], args: &[&str]) -> Vec<Value> {
    let mut all = command.to_vec();
    all.extend_from_slice(&["--lake", lake.to_str().unwrap(), "--from", FROM, "--to", TO]);
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    serde_json::from_str(&gridwatch_ok(&lake.join("unused.sqlite"), &all)).unwrap()
}

fn aggregate(lake: &Path, args: &[&str]) -> Vec<Value> {
    ours(lake, &["aggregate"], args)
}

fn sql(lake: &Path, query: &str, extra: &[&str]) -> Vec<Value> {
    ours(lake, &["lake", "sql", query], extra)
}

/// Two numbers within 1e-9 of each other, relative to their size.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn assert_value(what: &str, a: &Value, b: &Value) {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => assert!(close(x, y), "{what}: gridwatch {x} vs duckdb {y}"),
        _ => assert_eq!(a, b, "{what}"),
    }
}

/// Rows keyed by the given columns; every other column of `theirs` must
/// match in `ours`.
fn assert_same(ours: &[Value], theirs: &[Value], keys: &[&str]) {
    let index = |rows: &[Value]| -> BTreeMap<String, Value> {
        rows.iter()
            .map(|r| {
                let k: Vec<String> = keys.iter().map(|k| r[*k].to_string()).collect();
                (k.join("|"), r.clone())
            })
            .collect()
    };
    let (a, b) = (index(ours), index(theirs));
    assert!(!b.is_empty());
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "the same groups"
    );
    for (k, theirs) in &b {
        for (col, want) in theirs.as_object().unwrap() {
            assert_value(&format!("{k} {col}"), &a[k][col], want);
        }
    }
}

#[test]
fn any_measure_by_region_and_day_equals_duckdb_on_every_layout() {
    let lake = seed_lake(false);
    let lake = lake.path();
    for measure in ["watt", "voltage"] {
        let got = aggregate(lake, &["--measure", measure, "--by", "region,day"]);
        let want = duckdb(&["stats", lake.to_str().unwrap(), measure, "region,day"]);
        assert_eq!(got.len(), 12, "3 regions x 4 days");
        assert_same(&got, &want, &["Region", "day"]);
    }
    // `watt_measure`, as the seed names it, is the same measure; two at once.
    let both = aggregate(
        lake,
        &["--measure", "watt_measure,voltage", "--by", "region"],
    );
    assert!(both[0]["watt_p99"].is_number() && both[0]["voltage_p90"].is_number());
    // Hours too.
    let got = aggregate(lake, &["--measure", "watt", "--by", "hour"]);
    let want = duckdb(&["stats", lake.to_str().unwrap(), "watt", "hour"]);
    assert_eq!(got.len(), 96);
    assert_same(&got, &want, &["hour"]);
}

#[test]
fn the_list_shows_what_the_extracts_hold_and_a_missing_measure_is_named() {
    let lake = seed_lake(false);
    let rows = aggregate(lake.path(), &["--list"]);
    let names: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r["kind"].to_string(), r["name"].to_string()))
        .collect();
    for (kind, name) in [
        ("measure", "voltage"),
        ("measure", "watt"),
        ("dimension", "Region"),
    ] {
        assert!(
            names.contains(&(format!("\"{kind}\""), format!("\"{name}\""))),
            "{names:?}"
        );
    }
    let out = gridwatch(
        &lake.path().join("unused.sqlite"),
        &[
            "aggregate",
            "--lake",
            lake.path().to_str().unwrap(),
            "--from",
            FROM,
            "--to",
            TO,
            "--measure",
            "humidity",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("humidity") && err.contains("voltage, watt"),
        "{err}"
    );
}

#[test]
fn energy_without_a_counter_is_integrated_from_power_as_duckdb_computes_it() {
    let lake = seed_lake(false);
    let lake = lake.path();
    let args = [
        "aggregate",
        "--lake",
        lake.to_str().unwrap(),
        "--from",
        FROM,
        "--to",
        TO,
        "--by",
        "region,day",
        "--format",
        "json",
    ];
    let out = gridwatch(&lake.join("unused.sqlite"), &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let want = duckdb(&["energy", lake.to_str().unwrap(), "region,day", "3600000"]);
    assert_same(&got, &want, &["Region", "day"]);
    for row in &got {
        assert_eq!(row["energy_source"], "power", "{row}");
        assert!(row["peak_demand_w"].as_f64().unwrap() > 0.0);
        assert!(row["load_factor"].as_f64().unwrap() <= 1.0);
    }
    // The rule is in the output's notes.
    let notes = String::from_utf8_lossy(&out.stderr);
    assert!(
        notes.contains("integrated from watt") && notes.contains("1 h"),
        "{notes}"
    );
    // Another gap limit: fewer gaps bridged, less energy, same as DuckDB's.
    let short: Vec<Value> = serde_json::from_str(&gridwatch_ok(
        &lake.join("unused.sqlite"),
        &[&args[..], &["--max-gap", "50s"]].concat(),
    ))
    .unwrap();
    let want = duckdb(&["energy", lake.to_str().unwrap(), "region,day", "50000"]);
    assert_same(&short, &want, &["Region", "day"]);
    let total =
        |rows: &[Value]| -> f64 { rows.iter().map(|r| r["energy_kwh"].as_f64().unwrap()).sum() };
    assert!(total(&short) < total(&got));
    // The load duration curve follows from the same power readings.
    let ldc = aggregate(lake, &["--by", "region", "--load-duration"]);
    assert!(!ldc.is_empty());
}

#[test]
fn mixed_fleets_keep_each_device_type_apart() {
    let lake = seed_lake(true);
    let lake = lake.path();
    let rows = aggregate(lake, &["--by", "region,day"]);
    assert_eq!(rows.len(), 3 * 2 * 4, "region x type x day");
    let mut feeder_energy = 0.0;
    let mut meter_energy = 0.0;
    for row in &rows {
        let p99 = row["voltage_p99"].as_f64().unwrap();
        let p50 = row["voltage_p50"].as_f64().unwrap();
        match row["DeviceType"].as_str().unwrap() {
            // Any 11 kV reading in a meter group would pull its p99 past
            // 245 V (one in a hundred is enough, and feeders are 1 in 4).
            "smart_meter" => {
                assert!((215.0..=245.0).contains(&p99), "{row}");
                assert!((215.0..=245.0).contains(&p50), "{row}");
                meter_energy += row["energy_kwh"].as_f64().unwrap();
            }
            "feeder" => {
                assert!(p50 > 10_000.0, "{row}");
                feeder_energy += row["energy_kwh"].as_f64().unwrap();
            }
            other => panic!("type {other}"),
        }
    }
    // Energy per type equals DuckDB's per type: never one sum of both.
    let want = duckdb(&["energy", lake.to_str().unwrap(), "region,day", "3600000"]);
    assert_same(&rows, &want, &["Region", "DeviceType", "day"]);
    assert!(feeder_energy > 100.0 * meter_energy);
    // Any measure is per type too, and equals DuckDB's per type.
    let got = aggregate(lake, &["--measure", "voltage", "--by", "region"]);
    let want = duckdb(&["stats", lake.to_str().unwrap(), "voltage", "region"]);
    assert_same(&got, &want, &["Region", "DeviceType"]);
    // Asked for all types at once, energy is one sum, but no voltage
    // percentile mixes 230 V with 11 kV.
    let all = aggregate(lake, &["--by", "region", "--all-types"]);
    assert_eq!(all.len(), 3);
    for row in &all {
        assert!(row.get("DeviceType").is_none());
        assert!(row["voltage_p50"].is_null(), "{row}");
    }
    let volts = aggregate(lake, &["--measure", "voltage", "--all-types"]);
    assert!(volts[0]["voltage_p99"].is_null(), "{:?}", volts[0]);
    // People read units scaled to the figure.
    let table = gridwatch_ok(
        &lake.join("unused.sqlite"),
        &[
            "aggregate",
            "--lake",
            lake.to_str().unwrap(),
            "--from",
            FROM,
            "--to",
            TO,
            "--by",
            "region",
        ],
    );
    for unit in [" MWh", " MW", " kV", " V", " kW"] {
        assert!(table.contains(unit), "{unit} in\n{table}");
    }
    assert!(!table.contains("999999"), "{table}");
}

#[test]
fn lake_sql_answers_as_duckdb_does_on_the_same_files() {
    let lake = seed_lake(true);
    let lake = lake.path();
    let queries = [
        // A group by over every layout.
        (
            "SELECT Region, DeviceType, count(*) AS n, sum(watt_measure) AS w, min(voltage_measure) AS vmin, \
             max(voltage_measure) AS vmax, avg(watt_measure) AS mean FROM readings GROUP BY Region, DeviceType",
            vec!["Region", "DeviceType"],
        ),
        // A filter on dimensions and on the timestamp column.
        (
            "SELECT DeviceID, count(*) AS n, max(watt_measure) AS peak FROM readings \
             WHERE Region = 'north' AND DeviceType = 'smart_meter' AND \"Time\" >= 1700092800000 \
             GROUP BY DeviceID",
            vec!["DeviceID"],
        ),
        // A window: each reading's change from the one before, per device.
        (
            "SELECT DeviceID, \"Time\", watt_measure - LAG(watt_measure) OVER (PARTITION BY DeviceID ORDER BY \"Time\") AS d \
             FROM readings WHERE Region = 'east'",
            vec!["DeviceID", "Time"],
        ),
        // The table joined with itself: each device's readings above its
        // region's mean.
        (
            "SELECT r.DeviceID, count(*) AS above FROM readings r \
             JOIN (SELECT Region, avg(watt_measure) AS mean FROM readings GROUP BY Region) m ON r.Region = m.Region \
             WHERE r.watt_measure > m.mean GROUP BY r.DeviceID",
            vec!["DeviceID"],
        ),
    ];
    for (query, keys) in &queries {
        let got = sql(lake, query, &[]);
        let want = duckdb(&["sql", lake.to_str().unwrap(), query]);
        assert_eq!(got.len(), want.len(), "{query}");
        assert_same(&got, &want, keys);
    }
    // `time` is the same instant as a timestamp (DuckDB, like Athena,
    // cannot tell `time` from `Time`, so this one is polars' alone).
    let count = |query: &str| sql(lake, query, &[])[0]["n"].clone();
    assert_eq!(
        count("SELECT count(*) AS n FROM readings WHERE \"time\" >= '2023-11-16 00:00:00'"),
        count("SELECT count(*) AS n FROM readings WHERE \"Time\" >= 1700092800000"),
    );
    // A range larger than the memory budget: the JSON is staged in many
    // small files and the answer stays the same.
    let (query, keys) = &queries[0];
    let small = sql(lake, query, &["--memory-mb", "1"]);
    assert_same(
        &small,
        &duckdb(&["sql", lake.to_str().unwrap(), query]),
        keys,
    );
    // Nothing of the staging is left in the lake.
    let hidden: Vec<_> = std::fs::read_dir(lake)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".gridwatch"))
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
    // A bad query fails with polars' own words.
    let out = gridwatch(
        &lake.join("unused.sqlite"),
        &[
            "lake",
            "sql",
            "--lake",
            lake.to_str().unwrap(),
            "--from",
            FROM,
            "--to",
            TO,
            "SELECT nope FROM readings",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nope"), "{err}");
}
