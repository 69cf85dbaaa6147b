//! The command line end to end: simulate fills the cache, then devices and
//! query read it back.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use gridwatch_tests::{gridwatch, gridwatch_ok};
use serde_json::Value;

/// 2023-11-14T22:13:20Z: a fixed start makes the fleet's readings fixed too.
const START_MS: &str = "1700000000000";
const START_US: i64 = 1_700_000_000_000_000;

fn simulated() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cli.sqlite");
    let out = gridwatch_ok(
        &cache,
        &[
            "simulate",
            "--devices",
            "30",
            "--feeders",
            "2",
            "--interval",
            "1s",
            "--duration",
            "120s",
            "--fast",
            "--start",
            START_MS,
        ],
    );
    assert!(out.contains("simulated 32 devices"), "{out}");
    (dir, cache)
}

#[test]
fn simulate_then_devices_and_query() {
    let (_dir, cache) = simulated();

    let devices: Value =
        serde_json::from_str(&gridwatch_ok(&cache, &["devices", "--format", "json"])).unwrap();
    let devices = devices.as_array().unwrap();
    assert_eq!(devices.len(), 32);
    let feeders = devices
        .iter()
        .filter(|d| d["dimensions"]["DeviceType"] == "feeder")
        .count();
    assert_eq!(feeders, 2);
    for d in devices {
        for dim in ["Region", "Feeder", "DeviceType"] {
            assert!(d["dimensions"][dim].is_string(), "{d} lacks {dim}");
        }
    }
    let id = devices[0]["device_id"].as_str().unwrap();

    // One device, one-minute buckets over the two simulated minutes: about
    // one reading a second in each.
    let from = START_MS;
    let to = (START_US / 1000 + 120_000).to_string();
    let q: Value = serde_json::from_str(&gridwatch_ok(
        &cache,
        &[
            "query",
            "--device",
            id,
            "--measure",
            "voltage",
            "--from",
            from,
            "--to",
            &to,
            "--bucket",
            "1m",
            "--format",
            "json",
        ],
    ))
    .unwrap();
    let buckets = q.as_array().unwrap();
    assert_eq!(buckets.len(), 2, "{q}");
    let count: u64 = buckets.iter().map(|b| b["count"].as_u64().unwrap()).sum();
    assert!(
        (118..=120).contains(&count),
        "{count} readings in 2 minutes at 1 Hz"
    );
    for b in buckets {
        let (min, avg, max) = (
            b["min"].as_f64().unwrap(),
            b["avg"].as_f64().unwrap(),
            b["max"].as_f64().unwrap(),
        );
        assert!(min <= avg && avg <= max);
        assert!((b["sum"].as_f64().unwrap() - avg * b["count"].as_f64().unwrap()).abs() < 1e-6);
    }
    assert_eq!(buckets[0]["start"], "2023-11-14T22:13:20Z");

    // Without --device: the whole fleet, "voltage_measure" spelled as on the wire.
    let fleet: Value = serde_json::from_str(&gridwatch_ok(
        &cache,
        &[
            "query",
            "--measure",
            "voltage_measure",
            "--from",
            from,
            "--to",
            &to,
            "--bucket",
            "2m",
            "--format",
            "json",
        ],
    ))
    .unwrap();
    let fleet_count = fleet[0]["count"].as_u64().unwrap();
    assert!(
        (32 * 118..=32 * 120).contains(&fleet_count),
        "{fleet_count} readings from 32 devices"
    );

    let csv = gridwatch_ok(
        &cache,
        &[
            "query",
            "--measure",
            "watt",
            "--from",
            from,
            "--to",
            &to,
            "--format",
            "csv",
        ],
    );
    assert!(csv.starts_with("start,avg,min,max,sum,count\n"), "{csv}");
    assert_eq!(csv.lines().count(), 3);

    let table = gridwatch_ok(&cache, &["devices"]);
    assert!(table.starts_with("device_id"), "{table}");
    assert_eq!(table.lines().count(), 33);
}

#[test]
fn simulating_the_same_span_again_adds_nothing() {
    let (_dir, cache) = simulated();
    let out = gridwatch_ok(
        &cache,
        &[
            "simulate",
            "--devices",
            "30",
            "--feeders",
            "2",
            "--interval",
            "1s",
            "--duration",
            "120s",
            "--fast",
            "--start",
            START_MS,
        ],
    );
    assert!(out.contains(" 0 new readings"), "{out}");
}

#[test]
fn mistakes_get_clear_errors_and_a_non_zero_exit() {
    let (_dir, cache) = simulated();
    let cases: &[(&[&str], &str)] = &[
        (
            &["query", "--measure", "voltage", "--device", "nope"],
            "no device \"nope\"",
        ),
        (
            &["query", "--measure", "frequency"],
            "no measure \"frequency\"",
        ),
        (
            &["query", "--measure", "voltage", "--from", "yesterday"],
            "--from: \"yesterday\" is not a time",
        ),
        (
            &[
                "query",
                "--measure",
                "voltage",
                "--from",
                "now",
                "--to",
                "-1h",
            ],
            "must be after --from",
        ),
        (
            &["query", "--measure", "voltage", "--bucket", "soon"],
            "is not a duration",
        ),
        (
            &["simulate", "--devices", "0", "--duration", "1s"],
            "the fleet is empty",
        ),
    ];
    for (args, message) in cases {
        let out = gridwatch(&cache, args);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{args:?}: {err}");
    }
    let missing = cache.with_file_name("missing.sqlite");
    let out = gridwatch(&missing, &["devices"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no cache at"));
}

#[test]
fn help_names_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let help = gridwatch_ok(&dir.path().join("x"), &["--help"]);
    for cmd in ["simulate", "query", "devices", "--cache"] {
        assert!(help.contains(cmd), "{help}");
    }
}

#[test]
fn cost_prices_the_seeds_fleet_and_names_the_prices_it_used() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("x.sqlite");
    let out: Value = serde_json::from_str(&gridwatch_ok(
        &cache,
        &[
            "cost",
            "--devices",
            "50",
            "--interval",
            "6s",
            "--record-bytes",
            "200",
            "--format",
            "json",
        ],
    ))
    .unwrap();
    assert!(out["prices"].as_str().unwrap().contains("2022-09-28"));
    let lines = out["lines"].as_array().unwrap();
    let sum: f64 = lines
        .iter()
        .map(|l| l["monthly_usd"].as_f64().unwrap())
        .sum();
    assert!((out["total_usd"].as_f64().unwrap() - sum).abs() < 1e-9);
    let stream_hours = lines
        .iter()
        .find(|l| l["item"].as_str().unwrap().starts_with("stream hours"))
        .unwrap();
    assert!((stream_hours["monthly_usd"].as_f64().unwrap() - 29.2).abs() < 1e-9);

    // An edited price file is used, and named.
    let prices = dir.path().join("prices.json");
    gridwatch_ok(
        &cache,
        &["cost", "--write-prices", prices.to_str().unwrap()],
    );
    let mut p: Value = serde_json::from_str(&std::fs::read_to_string(&prices).unwrap()).unwrap();
    p["name"] = "our negotiated prices".into();
    p["kinesis_on_demand_stream_hour"] = 0.02.into();
    std::fs::write(&prices, p.to_string()).unwrap();
    let out: Value = serde_json::from_str(&gridwatch_ok(
        &cache,
        &[
            "cost",
            "--prices",
            prices.to_str().unwrap(),
            "--format",
            "json",
        ],
    ))
    .unwrap();
    assert_eq!(out["prices"], "our negotiated prices");
    assert!((out["lines"][0]["monthly_usd"].as_f64().unwrap() - 14.6).abs() < 1e-9);

    let bad = gridwatch(&cache, &["cost", "--prices", cache.to_str().unwrap()]);
    assert!(!bad.status.success());
}

#[test]
fn csv_and_parquet_exports_read_back_with_the_same_rows() {
    let (dir, cache) = simulated();
    let to = (START_US / 1000 + 120_000).to_string();
    let args = |format: &'static str| -> Vec<String> {
        [
            "query",
            "--measure",
            "watt",
            "--from",
            START_MS,
            "--to",
            &to,
            "--bucket",
            "30s",
            "--format",
            format,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let run = |format: &'static str| {
        let a = args(format);
        let out = gridwatch(&cache, &a.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let json: Value = serde_json::from_slice(&run("json")).unwrap();
    let parquet = dir.path().join("q.parquet");
    std::fs::write(&parquet, run("parquet")).unwrap();
    let csv = dir.path().join("q.csv");
    std::fs::write(&csv, run("csv")).unwrap();
    // An independent reader: DuckDB reads both files back.
    let script = "import duckdb, json, sys\nfor f in sys.argv[1:]:\n    con = duckdb.connect()\n    rows = con.execute(f\"SELECT * FROM '{f}'\").fetchall()\n    print(json.dumps([[c if isinstance(c, (int, float)) else str(c) for c in r] for r in rows]))";
    let text = gridwatch_tests::emulator_python([
        std::ffi::OsStr::new("-c"),
        script.as_ref(),
        parquet.as_os_str(),
        csv.as_os_str(),
    ]);
    let mut lines = text.lines();
    let want: Vec<Vec<Value>> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_object().unwrap().values().cloned().collect())
        .collect();
    for (label, line) in [
        ("parquet", lines.next().unwrap()),
        ("csv", lines.next().unwrap()),
    ] {
        let got: Vec<Vec<Value>> = serde_json::from_str(line).unwrap();
        assert_eq!(got.len(), want.len(), "{label}");
        for (g, w) in got.iter().zip(&want) {
            // The same instant, however the reader spells a time.
            let start = |v: &Value| v.as_str().map(|s| s.replace(' ', "T")[..19].to_string());
            assert_eq!(start(&g[0]), start(&w[0]), "{label} start");
            for i in 1..w.len() {
                let (a, b) = (g[i].as_f64().unwrap(), w[i].as_f64().unwrap());
                assert!(
                    (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                    "{label} column {i}: {a} vs {b}"
                );
            }
        }
    }
}
