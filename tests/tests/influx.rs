//! History and the stream job against InfluxDB, for the customers AWS sends
//! to Timestream for InfluxDB: Debian's influxd on 127.0.0.1 (the same v1
//! `/query` and `/write` API that InfluxDB 2.x and 3.x serve), readings
//! written by the tests' own line protocol through curl, and every figure
//! checked against what InfluxDB itself answers and what the tests wrote.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::process::Command;
use std::time::Duration;

use gridwatch_tests::{
    EMULATOR_ENV, Influx, KillOnDrop, Kinesalite, Moto, create_stream, emulator_python,
    gridwatch_bin, put_records, wait_for,
};
use serde_json::Value;

/// 2023-11-14T22:00:00Z.
const T0_MS: i64 = 1_699_999_200_000;
const DEVICES: i64 = 3;
/// A reading every 30 s for an hour.
const POINTS: i64 = 120;

fn watt(i: i64, d: i64) -> f64 {
    100.0 + ((i * 7 + d * 13) % 50) as f64 + 0.25
}

/// The tests' own line protocol: meter-0..2, watt and voltage.
fn lines() -> String {
    let mut out = String::new();
    for d in 0..DEVICES {
        for i in 0..POINTS {
            out.push_str(&format!(
                "readings,DeviceID=meter-{d},Region=north watt_measure={},voltage_measure={} {}\n",
                watt(i, d),
                230.0 + (i % 5) as f64 * 0.5,
                T0_MS + i * 30_000
            ));
        }
    }
    out
}

fn gridwatch(cache: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    Command::new(gridwatch_bin())
        .arg("--cache")
        .arg(cache)
        .args(args)
        .env_remove("INFLUX_TOKEN")
        .env_remove("INFLUX_USERNAME")
        .env_remove("INFLUX_PASSWORD")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn json_rows(out: &std::process::Output) -> Vec<Value> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
        .as_array()
        .unwrap()
        .clone()
}

fn query_args<'a>(influx: &'a str, device: &'a str) -> Vec<&'a str> {
    vec![
        "query",
        "--source",
        "influxdb",
        "--influx-url",
        influx,
        "--influx-db",
        "grid",
        "--device",
        device,
        "--measure",
        "watt",
        "--from",
        "2023-11-14T22:00:00Z",
        "--to",
        "2023-11-14T23:00:00Z",
        "--bucket",
        "10m",
        "--format",
        "json",
    ]
}

#[test]
fn query_gives_influxdbs_own_buckets_and_offline_the_cached_ones() {
    let influx = Influx::start(false);
    assert_eq!(influx.write(&lines()), "204");
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("c.sqlite");
    let url = influx.url();
    let rows = json_rows(&gridwatch(&cache, &query_args(&url, "meter-1"), &[]));
    assert_eq!(rows.len(), 6, "six 10-minute buckets: {rows:?}");

    // InfluxDB's own figures for the same GROUP BY time.
    let own = influx.run(
        "SELECT count(\"watt_measure\"), sum(\"watt_measure\"), min(\"watt_measure\"), max(\"watt_measure\"), mean(\"watt_measure\") FROM readings WHERE \"DeviceID\" = 'meter-1' AND time >= 1699999200000ms AND time < 1700002800000ms GROUP BY time(10m) fill(none)",
    );
    let own = own["results"][0]["series"][0]["values"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(own.len(), 6);
    for (b, (row, theirs)) in rows.iter().zip(&own).enumerate() {
        let start_ms = T0_MS + b as i64 * 600_000;
        assert_eq!(theirs[0].as_i64(), Some(start_ms));
        let t = gridwatch_types::time::format_time(start_ms * 1000);
        assert_eq!(row["bucket"], Value::String(t.clone()), "{row}");
        for (col, i) in [("count", 1), ("sum", 2), ("min", 3), ("max", 4), ("avg", 5)] {
            assert_eq!(row[col].as_f64(), theirs[i].as_f64(), "{t} {col}");
        }
        // And from what the test wrote: 20 readings a bucket.
        let mine: Vec<f64> = (b as i64 * 20..(b as i64 + 1) * 20)
            .map(|i| watt(i, 1))
            .collect();
        assert_eq!(row["count"].as_f64(), Some(20.0));
        let sum: f64 = mine.iter().sum();
        assert!((row["sum"].as_f64().unwrap() - sum).abs() < 1e-9, "{t}");
        let max = mine.iter().cloned().fold(f64::MIN, f64::max);
        assert_eq!(row["max"].as_f64(), Some(max));
    }

    // Offline: the same rows, said to come from the cache.
    drop(influx);
    let out = gridwatch(&cache, &query_args(&url, "meter-1"), &[]);
    assert_eq!(json_rows(&out), rows);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("InfluxDB is unreachable; showing the CACHED result fetched at"),
        "{err}"
    );
    // A query never asked before has no cached answer: the cause is said.
    let out = gridwatch(&cache, &query_args(&url, "meter-2"), &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("InfluxDB at {url} is unreachable")),
        "{err}"
    );
}

#[test]
fn a_pasted_grafana_influxql_panel_runs_with_its_macros() {
    let influx = Influx::start(false);
    assert_eq!(influx.write(&lines()), "204");
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("c.sqlite");
    let url = influx.url();
    // A panel as Grafana's InfluxDB query editor writes it.
    let panel = "SELECT mean(\"voltage_measure\") FROM \"readings\" WHERE (\"Region\" = '$region') AND $timeFilter GROUP BY time($__interval), \"DeviceID\" fill(none)";
    let base = [
        "sql",
        "--source",
        "influxdb",
        "--influx-url",
        &url,
        "--influx-db",
        "grid",
        "--from",
        "2023-11-14T22:00:00Z",
        "--to",
        "2023-11-14T23:00:00Z",
        "--pixels",
        "6",
        "--var",
        "region=north",
    ];
    let mut explain = base.to_vec();
    explain.extend(["--explain", panel]);
    let out = gridwatch(&cache, &explain, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // An hour over 6 pixels: Grafana's 10-minute interval.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "SELECT mean(\"voltage_measure\") FROM \"readings\" WHERE (\"Region\" = 'north') AND time >= 1699999200000ms and time <= 1700002800000ms GROUP BY time(10m), \"DeviceID\" fill(none)"
    );
    let mut run = base.to_vec();
    run.extend(["--format", "json", panel]);
    let rows = json_rows(&gridwatch(&cache, &run, &[]));
    // Every series as rows: its name and tag as columns.
    assert_eq!(rows.len(), 3 * 6, "{rows:?}");
    let own = influx.run(
        "SELECT mean(\"voltage_measure\") FROM readings WHERE time >= 1699999200000ms AND time <= 1700002800000ms GROUP BY time(10m), \"DeviceID\" fill(none)",
    );
    let series = own["results"][0]["series"].as_array().unwrap();
    let mut k = 0;
    for s in series {
        for v in s["values"].as_array().unwrap() {
            let row = &rows[k];
            k += 1;
            assert_eq!(row["name"], "readings");
            assert_eq!(row["DeviceID"], s["tags"]["DeviceID"]);
            assert_eq!(row["mean"].as_f64(), v[1].as_f64());
        }
    }
    // A value that is not a plain name is refused, never pasted into InfluxQL.
    // (base ends with its --var region=north.)
    let mut bad = base[..base.len() - 2].to_vec();
    bad.extend(["--var", "region=x' OR '1'='1", panel]);
    let out = gridwatch(&cache, &bad, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("InfluxQL cannot take it safely"), "{err}");
    // A statement error inside a 200 is said as the server said it.
    let mut wrong = base.to_vec();
    wrong.push("SELECT nonsense(");
    let out = gridwatch(&cache, &wrong, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("InfluxDB refused the query"), "{err}");
}

#[test]
fn credentials_come_from_the_environment_or_secrets_manager_and_a_refusal_says_so() {
    let influx = Influx::start(true);
    assert_eq!(influx.write(&lines()), "204");
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("c.sqlite");
    let url = influx.url();
    let args = query_args(&url, "meter-0");

    let out = gridwatch(&cache, &args, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("InfluxDB refused the credentials (401): set INFLUX_TOKEN, or INFLUX_USERNAME and INFLUX_PASSWORD"),
        "{err}"
    );
    let wrong = gridwatch(
        &cache,
        &args,
        &[("INFLUX_USERNAME", "admin"), ("INFLUX_PASSWORD", "wrong")],
    );
    assert!(!wrong.status.success());
    let rows = json_rows(&gridwatch(
        &cache,
        &args,
        &[("INFLUX_USERNAME", "admin"), ("INFLUX_PASSWORD", "s3cret")],
    ));
    assert_eq!(rows.len(), 6);

    // The same from an AWS Secrets Manager secret (moto), as Timestream for
    // InfluxDB keeps an instance's credentials.
    let moto = Moto::start();
    emulator_python([
        "-c",
        "import boto3,sys,json; c=boto3.client('secretsmanager', endpoint_url=sys.argv[1], region_name='us-east-1'); \
         c.create_secret(Name='influx-admin', SecretString=json.dumps({'username': 'admin', 'password': 's3cret'}))",
        &moto.endpoint(),
    ]);
    let mut with_secret = args.clone();
    let endpoint = moto.endpoint();
    with_secret.extend([
        "--influx-secret",
        "influx-admin",
        "--endpoint-url",
        &endpoint,
    ]);
    let rows2 = json_rows(&gridwatch(&cache, &with_secret, &EMULATOR_ENV));
    assert_eq!(rows2, rows);
    let mut missing = args.clone();
    missing.extend([
        "--influx-secret",
        "no-such-secret",
        "--endpoint-url",
        &endpoint,
    ]);
    let out = gridwatch(&cache, &missing, &EMULATOR_ENV);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("secret \"no-such-secret\" from AWS Secrets Manager"),
        "{err}"
    );
}

/// Counts the points of measurement `readings` InfluxDB holds.
fn points(influx: &Influx) -> i64 {
    let v = influx.run("SELECT count(\"watt_measure\") FROM readings");
    v["results"][0]["series"][0]["values"][0][1]
        .as_i64()
        .unwrap_or(0)
}

#[test]
fn the_bridge_writes_each_record_once_across_a_kill_and_quarantines_refused_points() {
    let influx = Influx::start(false);
    // A field InfluxDB already holds as an integer: a float for it is
    // refused (a field type conflict). Field types are kept per shard (a
    // week): the old point sits in the records' week.
    assert_eq!(
        influx.write(&format!(
            "readings,DeviceID=old current_measure=5i {}\n",
            T0_MS - 60_000
        )),
        "204"
    );
    let kinesalite = Kinesalite::start(None);
    let records = 2_000i64;
    let items: Vec<(String, Vec<u8>)> = (0..records)
        .map(|n| {
            let device = format!("meter-{}", n % 20);
            // Every 500th record carries the conflicting field.
            let extra = if n % 500 == 7 { r#", "current_measure": 1.5"# } else { "" };
            let data = format!(
                r#"{{"Time": {}, "DeviceID": "{device}", "watt_measure": {n}{extra}, "Region": "north"}}"#,
                T0_MS + n * 1000
            );
            (device, data.into_bytes())
        })
        .collect();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = kinesalite.client();
        create_stream(&client, "to-influx", 2).await;
        put_records(&client, "to-influx", &items).await;
    });
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("bridge.sqlite");
    let url = influx.url();
    let endpoint = kinesalite.endpoint();
    let bridge = |until_caught_up: bool| {
        let mut cmd = Command::new(gridwatch_bin());
        cmd.arg("--cache")
            .arg(&cache)
            .args(["bridge", "--to", "influxdb", "--stream", "to-influx"])
            .args(["--influx-url", &url, "--influx-db", "grid"])
            .args(["--endpoint-url", &endpoint])
            .envs(EMULATOR_ENV);
        if until_caught_up {
            cmd.arg("--until-caught-up");
        }
        cmd
    };
    // Killed (SIGKILL, no goodbye) once some points are in.
    let mut child = KillOnDrop(
        bridge(false)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(Duration::from_secs(60), "the first points", || {
        (points(&influx) > 1).then_some(())
    });
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    drop(child);

    let out = bridge(true).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("InfluxDB points written"), "{stdout}");
    // Each record once (the old point and every record), whatever the
    // kill replayed: InfluxDB keeps one point per series and time.
    let refused = (0..records).filter(|n| n % 500 == 7).count() as i64;
    assert_eq!(refused, 4);
    assert_eq!(points(&influx), records - refused);
    let conn = rusqlite::Connection::open(&cache).unwrap();
    let quarantined: Vec<(String, String)> = conn
        .prepare("SELECT reason_code, reason FROM quarantine ORDER BY received_us")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(quarantined.len(), refused as usize, "{quarantined:?}");
    for (code, reason) in &quarantined {
        assert_eq!(code, "rejected_by_influxdb");
        assert!(reason.contains("field type conflict"), "{reason}");
    }
    // Caught up: a rerun writes nothing.
    let again = bridge(true).output().unwrap();
    assert!(again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stdout).starts_with("bridged 0 readings"),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
}

#[test]
fn a_missing_database_and_a_refusing_server_are_named() {
    let influx = Influx::start(false);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("c.sqlite");
    let url = influx.url();
    let mut args = query_args(&url, "meter-0");
    let at = args.iter().position(|a| *a == "grid").unwrap();
    args[at] = "nosuchdb";
    let out = gridwatch(&cache, &args, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("InfluxDB has no database \"nosuchdb\""),
        "{err}"
    );
}

#[test]
fn a_grafana_dashboards_influxdb_panels_run_with_their_variables() {
    let influx = Influx::start(false);
    assert_eq!(influx.write(&lines()), "204");
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("c.sqlite");
    let url = influx.url();
    // An export as Grafana writes it for an InfluxDB data source: raw
    // InfluxQL targets, a custom variable, a stat and a time series.
    let ds = serde_json::json!({"type": "influxdb", "uid": "influx"});
    let dashboard = serde_json::json!({"dashboard": {
    "title": "Meters on InfluxDB",
    "schemaVersion": 39,
    "time": {"from": "2023-11-14T22:00:00Z", "to": "2023-11-14T23:00:00Z"},
    "templating": {"list": [{"name": "device", "type": "custom", "query": "meter-0,meter-2",
        "current": {"value": "meter-2"}}]},
    "panels": [
        {"id": 1, "type": "timeseries", "title": "Watt", "datasource": ds, "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
         "maxDataPoints": 6,
         "targets": [{"refId": "A", "rawQuery": true, "query":
            "SELECT max(\"watt_measure\") FROM \"readings\" WHERE \"DeviceID\" = '$device' AND $timeFilter GROUP BY time($__interval) fill(none)"}]},
        {"id": 2, "type": "stat", "title": "Readings", "datasource": ds, "gridPos": {"x": 12, "y": 0, "w": 12, "h": 8},
         "targets": [{"refId": "A", "rawQuery": true, "query":
            "SELECT count(\"watt_measure\") FROM \"readings\" WHERE \"DeviceID\" = '$device' AND $timeFilter"}]},
        {"id": 3, "type": "timeseries", "title": "Built", "datasource": ds, "gridPos": {"x": 0, "y": 8, "w": 12, "h": 8},
         "targets": [{"refId": "A", "rawQuery": false, "select": [[{"type": "field", "params": ["watt_measure"]}]]}]}
    ]}});
    let file = dir.path().join("meters.json");
    std::fs::write(&file, dashboard.to_string()).unwrap();
    let out = gridwatch(&cache, &["grafana", "import", file.to_str().unwrap()], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = |extra: &[&str]| {
        let mut args = vec![
            "grafana",
            "run",
            "Meters on InfluxDB",
            "--influx-url",
            &url,
            "--influx-db",
            "grid",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let out = gridwatch(&cache, &args, &[]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let panel = |a: &Value, id: u64| {
        a["panels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["panel_id"] == serde_json::json!(id))
            .unwrap()
            .clone()
    };
    let a = run(&[]);
    // The dashboard's selection, meter-2: six 10-minute maxima.
    let maxima = panel(&a, 1);
    assert_eq!(maxima["error"], Value::Null, "{maxima}");
    assert!(
        maxima["sql"][0].as_str().unwrap().contains("'meter-2'"),
        "{maxima}"
    );
    let points = maxima["series"][0]["points"].as_array().unwrap().clone();
    assert_eq!(points.len(), 6, "{maxima}");
    for (b, p) in points.iter().enumerate() {
        let b = b as i64;
        let max = (b * 20..(b + 1) * 20)
            .map(|i| watt(i, 2))
            .fold(f64::MIN, f64::max);
        assert_eq!(p[0].as_i64(), Some((T0_MS + b * 600_000) * 1000));
        assert_eq!(p[1].as_f64(), Some(max));
    }
    assert_eq!(panel(&a, 2)["figures"][0]["value"].as_f64(), Some(120.0));
    let built = panel(&a, 3)["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(built.contains("Grafana's query builder"), "{built}");

    // Another pick of the variable asks again.
    let b = run(&["--var", "device=meter-0"]);
    assert!(
        panel(&b, 1)["sql"][0]
            .as_str()
            .unwrap()
            .contains("'meter-0'")
    );
    let first = (0..20).map(|i| watt(i, 0)).fold(f64::MIN, f64::max);
    assert_eq!(
        panel(&b, 1)["series"][0]["points"][0][1].as_f64(),
        Some(first)
    );
}
