//! A Grafana dashboard export (six kinds of panel, two variables, a
//! collapsed row with panels Gridwatch cannot run) imported and run with
//! the CLI against moto's Timestream Query: every query reaches moto as the
//! plugin would send it (the proxy records each request body), canned
//! answers come back into the right panels, and offline the panels show
//! their cached answers, marked.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use gridwatch_tests::{EMULATOR_ENV, FaultProxy, Moto, gridwatch_bin};
use serde_json::{Value, json};

const FROM: &str = "1700000000000";
const TO: &str = "1700000300000";
const FILTER: &str =
    "time BETWEEN from_milliseconds(1700000000000) AND from_milliseconds(1700000300000)";

fn ts_source() -> Value {
    json!({"type": "grafana-timestream-datasource", "uid": "${DS_TIMESTREAM}"})
}

fn target(sql: &str) -> Value {
    json!({"refId": "A", "rawQuery": sql, "datasource": ts_source()})
}

fn thresholds(second: (&str, f64)) -> Value {
    json!({"mode": "absolute", "steps": [
        {"color": "green", "value": null},
        {"color": second.0, "value": second.1}
    ]})
}

/// A dashboard in the shape of Grafana's "Export for sharing externally".
fn dashboard() -> Value {
    let ts = |id: u32, kind: &str, title: &str, (x, y, w, h): (u32, u32, u32, u32), sql: &str| {
        json!({"id": id, "type": kind, "title": title, "datasource": ts_source(),
               "gridPos": {"x": x, "y": y, "w": w, "h": h}, "targets": [target(sql)],
               "fieldConfig": {"defaults": {}, "overrides": []}, "options": {}})
    };
    let mut series = ts(
        2,
        "timeseries",
        "Voltage by device",
        (0, 1, 12, 8),
        "SELECT DeviceID, BIN(time, $__interval_ms) AS t, avg(measure_value::double) AS volts FROM $__database.$__table WHERE $__timeFilter AND measure_name = '${measure}' AND DeviceID IN (${device_id}) GROUP BY DeviceID, BIN(time, $__interval_ms) ORDER BY t",
    );
    series["interval"] = json!("10s");
    let mut stat = ts(
        3,
        "stat",
        "Average voltage",
        (12, 1, 6, 4),
        "SELECT avg(measure_value::double) AS avg FROM $__database.$__table WHERE $__timeFilter AND measure_name = '$__measure'",
    );
    stat["targets"][0]["measure"] = json!("voltage_measure");
    stat["fieldConfig"]["defaults"] =
        json!({"unit": "volt", "decimals": 1, "thresholds": thresholds(("red", 240.0))});
    stat["options"] = json!({"reduceOptions": {"calcs": ["lastNotNull"]}});
    let mut gauge = ts(
        4,
        "gauge",
        "Feeder load",
        (18, 1, 6, 4),
        "SELECT max(measure_value::double) / 400 * 100 AS load FROM $__database.$__table WHERE $__timeFilter AND measure_name = 'watt_measure'",
    );
    gauge["fieldConfig"]["defaults"] = json!({"unit": "percent", "min": 0, "max": 100, "thresholds": thresholds(("orange", 70.0))});
    let mut bars = ts(
        5,
        "bargauge",
        "Peak by device",
        (12, 5, 12, 4),
        "SELECT DeviceID, max(measure_value::double) AS peak FROM $__database.$__table WHERE $__timeFilter AND measure_name = '${measure}' AND DeviceID IN (${device_id:sqlstring}) GROUP BY DeviceID",
    );
    bars["fieldConfig"]["defaults"] =
        json!({"unit": "volt", "thresholds": thresholds(("red", 240.0))});
    let table = ts(
        6,
        "table",
        "Readings",
        (0, 9, 12, 6),
        "SELECT DeviceID, count(*) AS readings FROM $__database.$__table WHERE $__timeFilter GROUP BY DeviceID",
    );
    let heat = ts(
        7,
        "heatmap",
        "Voltage heatmap",
        (12, 9, 12, 6),
        "SELECT DeviceID, CREATE_TIME_SERIES(time, measure_value::double) AS volts FROM $__database.$__table WHERE $__timeFilter AND measure_name = '${measure}' GROUP BY DeviceID",
    );
    json!({
        "__inputs": [{"name": "DS_TIMESTREAM", "label": "Timestream", "type": "datasource", "pluginId": "grafana-timestream-datasource"}],
        "title": "Feeder overview",
        "uid": "feeders",
        "schemaVersion": 39,
        "time": {"from": "now-5m", "to": "now"},
        "refresh": "30s",
        "templating": {"list": [
            {"name": "measure", "type": "custom", "query": "voltage_measure,watt_measure",
             "current": {"text": "voltage_measure", "value": "voltage_measure"}},
            {"name": "device_id", "type": "query", "datasource": ts_source(),
             "query": "SELECT DISTINCT DeviceID FROM $__database.$__table WHERE measure_name = '${measure}'",
             "multi": true, "includeAll": true, "current": {"text": ["All"], "value": ["$__all"]}}
        ]},
        "panels": [
            {"id": 1, "type": "row", "title": "Fleet", "collapsed": false, "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}, "panels": []},
            series, stat, gauge, bars, table, heat,
            {"id": 8, "type": "row", "title": "Other sources", "collapsed": true, "gridPos": {"x": 0, "y": 15, "w": 24, "h": 1},
             "panels": [
                {"id": 9, "type": "timeseries", "title": "Substation (InfluxDB)", "gridPos": {"x": 0, "y": 16, "w": 12, "h": 8},
                 "datasource": {"type": "influxdb", "uid": "influx"},
                 "targets": [{"refId": "A", "query": "SELECT mean(\"v\") FROM \"volts\" WHERE $timeFilter GROUP BY time($__interval)"}]},
                {"id": 10, "type": "text", "title": "Notes", "gridPos": {"x": 12, "y": 16, "w": 12, "h": 8}, "options": {"content": "hi"}}
             ]}
        ]
    })
}

fn col(name: &str, t: &str) -> Value {
    json!({"Name": name, "Type": {"ScalarType": t}})
}

fn s(v: &str) -> Value {
    json!({"ScalarValue": v})
}

fn page(columns: Vec<Value>, rows: Vec<Vec<Value>>) -> String {
    json!({
        "QueryId": "q",
        "ColumnInfo": columns,
        "Rows": rows.into_iter().map(|r| json!({"Data": r})).collect::<Vec<_>>(),
        "QueryStatus": {"ProgressPercentage": 100.0, "CumulativeBytesScanned": 10, "CumulativeBytesMetered": 10},
    })
    .to_string()
}

/// Each query exactly as the Grafana frontend and the plugin's backend
/// write it for this dashboard, over 5 minutes at 1920 px, and its answer.
fn expected() -> Vec<(String, String)> {
    let ts_col = json!({"Name": "volts", "Type": {"TimeSeriesMeasureValueColumnInfo": {"Type": {"ScalarType": "DOUBLE"}}}});
    let points = |a: &str, b: &str| {
        json!({"TimeSeriesValue": [
            {"Time": "2023-11-14 22:13:30.000000000", "Value": s(a)},
            {"Time": "2023-11-14 22:14:30.000000000", "Value": s(b)}
        ]})
    };
    vec![
        (
            "SELECT DISTINCT DeviceID FROM grid.readings WHERE measure_name = 'voltage_measure'"
                .into(),
            page(
                vec![col("DeviceID", "VARCHAR")],
                vec![vec![s("m-1")], vec![s("m-2")]],
            ),
        ),
        (
            // Min interval 10s wins over 5 min / 960 px (200 ms).
            format!(
                "SELECT DeviceID, BIN(time, 10000ms) AS t, avg(measure_value::double) AS volts FROM grid.readings WHERE {FILTER} AND measure_name = 'voltage_measure' AND DeviceID IN ('m-1','m-2') GROUP BY DeviceID, BIN(time, 10000ms) ORDER BY t"
            ),
            page(
                vec![
                    col("DeviceID", "VARCHAR"),
                    col("t", "TIMESTAMP"),
                    col("volts", "DOUBLE"),
                ],
                vec![
                    vec![s("m-1"), s("2023-11-14 22:13:20.000000000"), s("230.0")],
                    vec![s("m-1"), s("2023-11-14 22:13:30.000000000"), s("231.0")],
                    vec![s("m-2"), s("2023-11-14 22:13:20.000000000"), s("229.5")],
                ],
            ),
        ),
        (
            format!(
                "SELECT avg(measure_value::double) AS avg FROM grid.readings WHERE {FILTER} AND measure_name = 'voltage_measure'"
            ),
            page(vec![col("avg", "DOUBLE")], vec![vec![s("241.5")]]),
        ),
        (
            format!(
                "SELECT max(measure_value::double) / 400 * 100 AS load FROM grid.readings WHERE {FILTER} AND measure_name = 'watt_measure'"
            ),
            page(vec![col("load", "DOUBLE")], vec![vec![s("72.5")]]),
        ),
        (
            format!(
                "SELECT DeviceID, max(measure_value::double) AS peak FROM grid.readings WHERE {FILTER} AND measure_name = 'voltage_measure' AND DeviceID IN ('m-1','m-2') GROUP BY DeviceID"
            ),
            page(
                vec![col("DeviceID", "VARCHAR"), col("peak", "DOUBLE")],
                vec![vec![s("m-1"), s("235.0")], vec![s("m-2"), s("244.0")]],
            ),
        ),
        (
            format!(
                "SELECT DeviceID, count(*) AS readings FROM grid.readings WHERE {FILTER} GROUP BY DeviceID"
            ),
            page(
                vec![col("DeviceID", "VARCHAR"), col("readings", "BIGINT")],
                vec![vec![s("m-1"), s("300")], vec![s("m-2"), s("298")]],
            ),
        ),
        (
            format!(
                "SELECT DeviceID, CREATE_TIME_SERIES(time, measure_value::double) AS volts FROM grid.readings WHERE {FILTER} AND measure_name = 'voltage_measure' GROUP BY DeviceID"
            ),
            page(
                vec![col("DeviceID", "VARCHAR"), ts_col],
                vec![
                    vec![s("m-1"), points("230.1", "230.9")],
                    vec![s("m-2"), points("229.0", "228.4")],
                ],
            ),
        ),
    ]
}

fn gridwatch(cache: &Path, args: &[&str]) -> Output {
    Command::new(gridwatch_bin())
        .arg("--cache")
        .arg(cache)
        .args(args)
        .envs(EMULATOR_ENV)
        .output()
        .unwrap()
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn run(cache: &Path, endpoint: &str) -> Value {
    let out = ok(gridwatch(
        cache,
        &[
            "grafana",
            "run",
            "Feeder overview",
            "--from",
            FROM,
            "--to",
            TO,
            "--database",
            "grid",
            "--table",
            "readings",
            "--format",
            "json",
            "--endpoint-url",
            endpoint,
        ],
    ));
    serde_json::from_str(&out).unwrap()
}

fn panel(answers: &Value, id: u64) -> &Value {
    answers["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["panel_id"] == json!(id))
        .unwrap()
}

fn figures(p: &Value) -> Vec<(String, String, String)> {
    p["figures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_owned(),
                f["text"].as_str().unwrap().to_owned(),
                f["color"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn check_answers(a: &Value) {
    let series = &panel(a, 2)["series"];
    assert_eq!(series[0]["name"], "m-1");
    assert_eq!(
        series[0]["points"],
        json!([
            [1_700_000_000_000_000i64, 230.0],
            [1_700_000_010_000_000i64, 231.0]
        ])
    );
    assert_eq!(series[1]["name"], "m-2");
    assert_eq!(
        figures(panel(a, 3)),
        vec![("avg".into(), "241.5 V".into(), "red".into())]
    );
    assert_eq!(
        figures(panel(a, 4)),
        vec![("load".into(), "72.50%".into(), "orange".into())]
    );
    assert_eq!(
        figures(panel(a, 5)),
        vec![
            ("m-1".into(), "235 V".into(), "green".into()),
            ("m-2".into(), "244 V".into(), "red".into())
        ]
    );
    let table = &panel(a, 6)["table"];
    assert_eq!(table["columns"], json!(["DeviceID", "readings"]));
    assert_eq!(table["rows"].as_array().unwrap().len(), 2);
    let heat = panel(a, 7)["series"].as_array().unwrap();
    assert_eq!(heat.len(), 2, "one series per CREATE_TIME_SERIES row");
    assert_eq!(heat[1]["name"], "m-2");
    assert_eq!(heat[1]["points"][1][1], json!(228.4));
    // Nothing dropped silently: what cannot run says so in its place.
    // An InfluxDB panel with no InfluxDB named says what to name.
    let why = panel(a, 9)["error"].as_str().unwrap_or_default().to_owned();
    assert!(
        why.contains("this panel reads InfluxDB: name the InfluxDB connection"),
        "{why}"
    );
    assert!(panel(a, 10)["error"].as_str().unwrap().contains("\"text\""));
    // The query variable was filled from its own query.
    let device = &a["variables"][1];
    assert_eq!(device["options"], json!(["m-1", "m-2"]));
}

#[test]
fn a_grafana_dashboard_runs_as_the_plugin_would_and_offline_from_the_cache() {
    let moto = Moto::start();
    for (sql, answer) in expected() {
        // Once: the second run is offline, answered by the cache.
        moto.can_query(&sql, &[answer]);
    }
    let proxy = FaultProxy::start(moto.port, Arc::new(|_: &str, _: u64| None));
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("c.sqlite");
    let file = dir.path().join("feeders.json");
    std::fs::write(
        &file,
        serde_json::to_string_pretty(&json!({"dashboard": dashboard(), "meta": {}})).unwrap(),
    )
    .unwrap();

    let said = ok(gridwatch(
        &cache,
        &["grafana", "import", file.to_str().unwrap()],
    ));
    assert!(
        said.contains(
            "imported \"Feeder overview\": 8 panels (1 Gridwatch cannot run yet), 2 variables"
        ),
        "{said}"
    );
    let list = ok(gridwatch(&cache, &["grafana", "list", "--format", "json"]));
    assert_eq!(
        serde_json::from_str::<Value>(&list).unwrap(),
        json!([{"name": "Feeder overview"}])
    );
    let shown: Value = serde_json::from_str(&ok(gridwatch(
        &cache,
        &["grafana", "show", "Feeder overview", "--format", "json"],
    )))
    .unwrap();
    assert_eq!(shown["time_from"], "now-5m");
    assert_eq!(shown["refresh"], "30s");
    assert_eq!(
        shown["panels"][1]["grid"],
        json!({"x": 0, "y": 1, "w": 12, "h": 8})
    );
    let collapsed: Vec<&Value> = shown["panels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["collapsed"] == json!(true))
        .collect();
    assert_eq!(collapsed.len(), 2, "the collapsed row's panels are kept");

    let live = run(&cache, &proxy.endpoint());
    check_answers(&live);
    for id in [2, 3, 4, 5, 6, 7] {
        assert_eq!(
            panel(&live, id)["cached_at_us"],
            Value::Null,
            "panel {id} is live"
        );
    }
    // Every query reached Timestream exactly as the plugin sends it.
    let sent: BTreeSet<String> = proxy
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|(op, _)| op == "Query")
        .map(|(_, body)| {
            serde_json::from_slice::<Value>(body).unwrap()["QueryString"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let want: BTreeSet<String> = expected().into_iter().map(|(sql, _)| sql).collect();
    assert_eq!(sent, want);

    // Offline: moto is gone; the panels show their last answers, marked.
    let endpoint = moto.endpoint();
    drop(proxy);
    drop(moto);
    let offline = run(&cache, &endpoint);
    check_answers(&offline);
    for id in [2, 3, 4, 5, 6, 7] {
        assert!(
            panel(&offline, id)["cached_at_us"].as_i64().is_some(),
            "panel {id} is marked cached"
        );
    }
    let table = ok(gridwatch(
        &cache,
        &[
            "grafana",
            "run",
            "Feeder overview",
            "--from",
            FROM,
            "--to",
            TO,
            "--database",
            "grid",
            "--table",
            "readings",
            "--endpoint-url",
            &endpoint,
        ],
    ));
    assert!(table.contains("CACHED, fetched at"), "{table}");
}

#[test]
fn sql_takes_variables_and_explains_without_running() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("c.sqlite");
    let out = ok(gridwatch(
        &cache,
        &[
            "sql",
            "SELECT * FROM $__database.$__table WHERE measure_name = '${measure}' AND DeviceID IN (${device}) AND bin(time, $__interval_ms) > 0",
            "--database",
            "grid",
            "--table",
            "readings",
            "--var",
            "measure=voltage_measure",
            "--var",
            "device=m-1,m-2",
            "--from",
            FROM,
            "--to",
            TO,
            "--pixels",
            "1000",
            "--explain",
        ],
    ));
    // 5 min over 1000 px: 300 ms, 200 ms on Grafana's ladder.
    assert_eq!(
        out.trim(),
        "SELECT * FROM grid.readings WHERE measure_name = 'voltage_measure' AND DeviceID IN ('m-1','m-2') AND bin(time, 200ms) > 0"
    );
    // Injection through --var and --database: refused, or quoted.
    let refused = gridwatch(
        &cache,
        &[
            "sql",
            "SELECT * FROM t WHERE d = $device",
            "--var",
            "device=x OR 1=1",
            "--explain",
        ],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("${device:sqlstring}"));
    let quoted = ok(gridwatch(
        &cache,
        &[
            "sql",
            "SELECT * FROM $__database.t",
            "--database",
            "grid\"; DROP TABLE t; --",
            "--explain",
        ],
    ));
    assert_eq!(
        quoted.trim(),
        "SELECT * FROM \"grid\"\"; DROP TABLE t; --\".t"
    );
}
