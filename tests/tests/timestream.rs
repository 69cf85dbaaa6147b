//! Timestream history against moto server on 127.0.0.1, which answers
//! queries with canned, paged results in the real Query protocol.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::process::{Command, Output};
use std::time::Duration;

use gridwatch_tests::{EMULATOR_ENV, Moto, gridwatch_bin};
use serde_json::{Value, json};

fn can(moto: &Moto, query: &str, pages: Vec<Value>) {
    moto.can_query(
        query,
        &pages.iter().map(Value::to_string).collect::<Vec<_>>(),
    );
}

fn gridwatch(cache: &std::path::Path, endpoint: &str, args: &[&str]) -> Output {
    Command::new(gridwatch_bin())
        .arg("--cache")
        .arg(cache)
        .args(args)
        .args(["--endpoint-url", endpoint])
        .envs(EMULATOR_ENV)
        .output()
        .unwrap()
}

fn scalar(t: &str) -> Value {
    json!({"ScalarType": t})
}

fn columns() -> Value {
    json!([
        {"Name": "device", "Type": scalar("VARCHAR")},
        {"Name": "volts", "Type": scalar("DOUBLE")},
        {"Name": "n", "Type": scalar("BIGINT")},
        {"Name": "i", "Type": scalar("INTEGER")},
        {"Name": "ok", "Type": scalar("BOOLEAN")},
        {"Name": "t", "Type": scalar("TIMESTAMP")},
        {"Name": "d", "Type": scalar("DATE")},
        {"Name": "tod", "Type": scalar("TIME")},
        {"Name": "span", "Type": scalar("INTERVAL_DAY_TO_SECOND")},
        {"Name": "months", "Type": scalar("INTERVAL_YEAR_TO_MONTH")},
        {"Name": "tags", "Type": {"ArrayColumnInfo": {"Type": scalar("VARCHAR")}}},
        {"Name": "pair", "Type": {"RowColumnInfo": [{"Name": "a", "Type": scalar("BIGINT")}, {"Name": "b", "Type": scalar("VARCHAR")}]}},
        {"Name": "series", "Type": {"TimeSeriesMeasureValueColumnInfo": {"Type": scalar("DOUBLE")}}}
    ])
}

fn row(device: &str, null_volts: bool) -> Value {
    let s = |v: &str| json!({"ScalarValue": v});
    json!({"Data": [
        s(device),
        if null_volts { json!({"NullValue": true}) } else { s("231.5") },
        s("9007199254740993"),
        s("-7"),
        s("true"),
        s("2023-11-14 22:13:20.123456789"),
        s("2023-11-14"),
        s("01:02:03.500000000"),
        s("1 00:00:01.000000000"),
        s("1-2"),
        {"ArrayValue": [s("north"), s("feeder-7")]},
        {"RowValue": {"Data": [s("5"), s("five")]}},
        {"TimeSeriesValue": [
            {"Time": "2023-11-14 22:00:00.000000000", "Value": s("230.1")},
            {"Time": "2023-11-14 22:01:00.000000000", "Value": s("229.9")}
        ]}
    ]})
}

fn page(rows: Vec<Value>, next: Option<&str>, metered: i64) -> Value {
    let mut p = json!({
        "QueryId": "q-1",
        "ColumnInfo": columns(),
        "Rows": rows,
        "QueryStatus": {"ProgressPercentage": 100.0, "CumulativeBytesScanned": metered, "CumulativeBytesMetered": metered},
    });
    if let Some(n) = next {
        p["NextToken"] = json!(n);
    }
    p
}

#[test]
fn every_page_arrives_with_every_type_parsed() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let q = "SELECT * FROM \"grid\".\"readings\" WHERE x = 1";
    can(
        &moto,
        q,
        vec![
            page(
                vec![row("m-1", false), row("m-2", true)],
                Some("page-2"),
                100,
            ),
            page(vec![row("m-3", false)], Some("page-3"), 200),
            page(vec![row("m-4", false)], None, 300),
        ],
    );
    let out = gridwatch(
        &dir.path().join("c.sqlite"),
        &moto.endpoint(),
        &["sql", q, "--format", "json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    let devices: Vec<&str> = rows.iter().map(|r| r["device"].as_str().unwrap()).collect();
    assert_eq!(devices, vec!["m-1", "m-2", "m-3", "m-4"], "all three pages");
    let r = &rows[0];
    assert_eq!(r["volts"], json!(231.5));
    assert_eq!(rows[1]["volts"], Value::Null);
    assert_eq!(
        r["n"],
        json!(9_007_199_254_740_993i64),
        "a BIGINT past 2^53 keeps every digit"
    );
    assert_eq!(r["i"], json!(-7));
    assert_eq!(r["ok"], json!(true));
    assert_eq!(r["t"], json!("2023-11-14T22:13:20.123456789Z"));
    assert_eq!(r["d"], json!("2023-11-14"));
    assert_eq!(r["tod"], json!("01:02:03.500000000"));
    assert_eq!(r["span"], json!("86401 s"));
    assert_eq!(r["months"], json!("14 months"));
    assert_eq!(r["tags"], json!(["north", "feeder-7"]));
    assert_eq!(r["pair"], json!([5, "five"]));
    assert_eq!(
        r["series"],
        json!([{"time": "2023-11-14T22:00:00Z", "value": 230.1}, {"time": "2023-11-14T22:01:00Z", "value": 229.9}])
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("4 rows in 3 pages; 300 bytes scanned, 300 bytes metered"),
        "{err}"
    );
}

#[test]
fn a_query_over_its_byte_cap_is_stopped() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let q = "SELECT * FROM big";
    can(
        &moto,
        q,
        vec![
            page(vec![row("m-1", false)], Some("more"), 5_000_000),
            page(vec![], None, 9_000_000),
        ],
    );
    let out = gridwatch(
        &dir.path().join("c.sqlite"),
        &moto.endpoint(),
        &["sql", q, "--max-bytes", "1000000"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("metering 5000000 bytes, over the cap of 1000000 bytes"),
        "{err}"
    );
}

#[test]
fn history_is_bucketed_on_the_server_escaped_and_cached_for_offline_use() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("c.sqlite");
    let (from, to) = (1_700_000_000_000i64, 1_700_003_600_000i64);
    // The exact SQL Gridwatch sends: a hostile device ID stays a literal.
    let sql = gridwatch_core::timestream::bucket_query(
        "grid",
        "readings",
        "voltage_measure",
        Some("x' OR '1'='1"),
        from * 1000,
        to * 1000,
        Duration::from_secs(60),
    );
    assert!(sql.contains("'x'' OR ''1''=''1'"));
    let cols = json!([
        {"Name": "bucket", "Type": scalar("TIMESTAMP")},
        {"Name": "avg", "Type": scalar("DOUBLE")},
        {"Name": "min", "Type": scalar("DOUBLE")},
        {"Name": "max", "Type": scalar("DOUBLE")},
        {"Name": "sum", "Type": scalar("DOUBLE")},
        {"Name": "count", "Type": scalar("BIGINT")}
    ]);
    let bucket = |t: &str, v: &str| {
        json!({"Data": [
        {"ScalarValue": t}, {"ScalarValue": v}, {"ScalarValue": v}, {"ScalarValue": v}, {"ScalarValue": v}, {"ScalarValue": "1"}]})
    };
    can(
        &moto,
        &sql,
        vec![
            json!({"QueryId": "h", "ColumnInfo": cols, "Rows": [bucket("2023-11-14 22:13:00.000000000", "230.5")], "NextToken": "2"}),
            json!({"QueryId": "h", "ColumnInfo": cols, "Rows": [bucket("2023-11-14 22:14:00.000000000", "231.5")]}),
        ],
    );
    let args = [
        "query",
        "--source",
        "timestream",
        "--database",
        "grid",
        "--table",
        "readings",
        "--device",
        "x' OR '1'='1",
        "--measure",
        "voltage",
        "--from",
        &from.to_string(),
        "--to",
        &to.to_string(),
        "--bucket",
        "1m",
        "--format",
        "json",
    ];
    let out = gridwatch(&cache, &moto.endpoint(), &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2, "both pages: {rows}");
    assert_eq!(rows[1]["avg"], json!(231.5));

    // Offline: the endpoint is gone, the cached result is shown, marked.
    drop(moto);
    let offline = gridwatch(&cache, "http://127.0.0.1:9", &args);
    assert!(
        offline.status.success(),
        "{}",
        String::from_utf8_lossy(&offline.stderr)
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&offline.stdout).unwrap(),
        rows
    );
    let err = String::from_utf8_lossy(&offline.stderr);
    assert!(
        err.contains("showing the CACHED result fetched at"),
        "{err}"
    );
}

#[test]
fn the_bridge_writes_batches_of_at_most_100_retries_quarantines_and_resumes() {
    use aws_sdk_kinesis::primitives::Blob;
    use gridwatch_tests::{Fault, FaultProxy, Kinesalite, create_stream};
    let moto = Moto::start();
    let kinesalite = Kinesalite::start(None);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let k = kinesalite.client();
        create_stream(&k, "to-timestream", 2).await;
        for n in 0..13u64 {
            for d in 0..10 {
                let device = format!("meter-{d}");
                // One producer spells the suffix its own way, which the
                // seed's Flink job keeps in the measure name.
                let watt = if d == 9 { "watt_MEASURE" } else { "watt_measure" };
                let data = format!(
                    r#"{{"Time": {}, "DeviceID": "{device}", "voltage_measure": 230.{n}, "{watt}": {}, "Region": "north"}}"#,
                    1_700_000_000_000u64 + n * 1000,
                    100 + n
                );
                k.put_record().stream_name("to-timestream").partition_key(&device).data(Blob::new(data)).send().await.unwrap();
            }
        }
    });
    moto.create_timestream_table("grid", "readings");
    // The first write is throttled; the third has one record rejected.
    let proxy = FaultProxy::start(
        moto.port,
        std::sync::Arc::new(|op: &str, n: u64| {
            match (op, n) {
            ("WriteRecords", 1) => Fault::new("ThrottlingException"),
            ("WriteRecords", 3) => Some(Fault {
                error: "RejectedRecordsException",
                extra: r#","RejectedRecords":[{"RecordIndex":0,"Reason":"The record timestamp is outside the time range of the data ingestion window."}]"#.into(),
                answer: None,
            }),
            _ => None,
        }
        }),
    );
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("bridge.sqlite");
    let bridge = || {
        Command::new(gridwatch_bin())
            .arg("--cache")
            .arg(&cache)
            .args([
                "bridge",
                "--stream",
                "to-timestream",
                "--database",
                "grid",
                "--table",
                "readings",
                "--until-caught-up",
            ])
            .args([
                "--endpoint-url",
                &kinesalite.endpoint(),
                "--timestream-endpoint-url",
                &proxy.endpoint(),
            ])
            .envs(EMULATOR_ENV)
            .output()
            .unwrap()
    };
    let out = bridge();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("bridged 130 readings"), "{stdout}");
    assert!(
        stdout.contains("259 Timestream records written"),
        "{stdout}"
    );
    assert!(stdout.contains("1 rejected"), "{stdout}");

    let writes: Vec<usize> = proxy
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|(op, _)| op == "WriteRecords")
        .map(|(_, body)| {
            serde_json::from_slice::<Value>(body).unwrap()["Records"]
                .as_array()
                .unwrap()
                .len()
        })
        .collect();
    assert!(writes.len() >= 4, "{writes:?}");
    assert!(
        writes.iter().all(|n| *n <= 100),
        "no call over 100 records: {writes:?}"
    );
    // Measure names as the producers wrote the keys, per device.
    let names: std::collections::BTreeSet<(bool, String)> = (proxy.timestream_writes())
        .into_iter()
        .map(|(device, measure, _)| (device == "meter-9", measure))
        .collect();
    let expected: std::collections::BTreeSet<(bool, String)> = [
        (false, "voltage_measure"),
        (false, "watt_measure"),
        (true, "voltage_measure"),
        (true, "watt_MEASURE"),
    ]
    .into_iter()
    .map(|(s, n)| (s, n.to_owned()))
    .collect();
    assert_eq!(names, expected);

    let conn = rusqlite::Connection::open(&cache).unwrap();
    let (code, reason): (String, String) = conn
        .query_row("SELECT reason_code, reason FROM quarantine", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(code, "rejected_by_timestream");
    assert!(reason.contains("outside the time range"), "{reason}");

    // A restart resumes from the checkpoints: nothing is written again.
    let calls_before = writes.len();
    let again = bridge();
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("bridged 0 readings"));
    let calls_after = proxy
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|(op, _)| op == "WriteRecords")
        .count();
    assert_eq!(calls_after, calls_before);
}

#[test]
fn values_out_of_range_are_null_and_reported_and_the_rest_of_the_answer_stands() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let q = "SELECT d, t, tod, span FROM odd";
    let cols = json!([
        {"Name": "d", "Type": scalar("DATE")},
        {"Name": "t", "Type": scalar("TIMESTAMP")},
        {"Name": "tod", "Type": scalar("TIME")},
        {"Name": "span", "Type": scalar("INTERVAL_DAY_TO_SECOND")}
    ]);
    let s = |v: &str| json!({"ScalarValue": v});
    can(
        &moto,
        q,
        vec![json!({"QueryId": "odd", "ColumnInfo": cols, "Rows": [
            // Past 2262, where i64 nanoseconds end: read exactly.
            {"Data": [s("2300-01-01"), s("2300-01-01 00:00:00.000000001"), s("23:59:59.999999999"), s("1 00:00:00.000000000")]},
            // Out of range: each cell null and reported, the row kept.
            {"Data": [s("2023-11-14"), s("2147483647-01-01 00:00:00.000000000"), s("99999999999999999999:00:00"), s("9999999999999 00:00:00.000000000")]}
        ]})],
    );
    let out = gridwatch(
        &dir.path().join("c.sqlite"),
        &moto.endpoint(),
        &["sql", q, "--format", "json"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        rows,
        json!([
            {"d": "2300-01-01", "t": "2300-01-01T00:00:00.000000001Z", "tod": "23:59:59.999999999", "span": "86400 s"},
            {"d": "2023-11-14", "t": null, "tod": null, "span": null}
        ])
    );
    for line in [
        "row 2, column t: \"2147483647-01-01 00:00:00.000000000\" is out of range for a timestamp (1970-01-01 to 9999-12-31)",
        "row 2, column tod: \"99999999999999999999:00:00\" is not a time",
        "row 2, column span: \"9999999999999 00:00:00.000000000\" is out of range for a day-to-second interval (at most 106751 days either way)",
    ] {
        assert!(err.contains(line), "{line}\n{err}");
    }
    assert!(err.contains("2 rows in 1 pages"), "{err}");
}
