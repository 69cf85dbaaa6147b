//! The Dashboards view over the real session and moto's Timestream: an
//! imported dashboard opened by label, a variable changed in its picker,
//! the panels asked again with the new value; and a snapshot image of the
//! view (`UPDATE_SNAPSHOTS=1` writes it).
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use gridwatch_session::Headless;
use gridwatch_simulator::Embedded;
use gridwatch_tests::Moto;
use gridwatch_types::{ImportDashboard, Reply, Request, TimestreamConnection};
use gridwatch_ui::GridwatchUi;
use serde_json::json;

mod common;

const FILTER: &str =
    "time BETWEEN from_milliseconds(1700000000000) AND from_milliseconds(1700000300000)";

fn dashboard() -> String {
    let ds = json!({"type": "grafana-timestream-datasource", "uid": "ts"});
    json!({
        "title": "Feeder overview",
        "schemaVersion": 39,
        "time": {"from": "2023-11-14T22:13:20Z", "to": "2023-11-14T22:18:20Z"},
        "templating": {"list": [{"name": "measure", "label": "Measure", "type": "custom",
            "query": "voltage_measure,watt_measure", "current": {"value": "voltage_measure"}}]},
        "panels": [
            {"id": 1, "type": "timeseries", "title": "By device", "datasource": ds, "gridPos": {"x": 0, "y": 0, "w": 16, "h": 10},
             "targets": [{"refId": "A", "rawQuery": "SELECT DeviceID, time, measure_value::double AS v FROM $__database.$__table WHERE $__timeFilter AND measure_name = '${measure}' ORDER BY time"}]},
            {"id": 2, "type": "stat", "title": "Average", "datasource": ds, "gridPos": {"x": 16, "y": 0, "w": 8, "h": 5},
             "fieldConfig": {"defaults": {"unit": "volt", "decimals": 1, "thresholds": {"steps": [{"color": "green", "value": null}, {"color": "red", "value": 240}]}}},
             "targets": [{"refId": "A", "rawQuery": "SELECT avg(measure_value::double) AS avg FROM $__database.$__table WHERE $__timeFilter AND measure_name = '${measure}'"}]},
            {"id": 3, "type": "timeseries", "title": "Substation", "datasource": {"type": "influxdb"}, "gridPos": {"x": 16, "y": 5, "w": 8, "h": 5},
             "targets": [{"refId": "A", "query": "SELECT mean(v) FROM volts WHERE $timeFilter"}]}
        ]
    })
    .to_string()
}

fn page(columns: serde_json::Value, rows: Vec<serde_json::Value>) -> String {
    json!({"QueryId": "q", "ColumnInfo": columns, "Rows": rows}).to_string()
}

fn can(moto: &Moto, measure: &str, base: f64) {
    let s = |v: String| json!({"ScalarValue": v});
    let col = |n: &str, t: &str| json!({"Name": n, "Type": {"ScalarType": t}});
    let rows = (0..10)
        .flat_map(|i| {
            ["m-1", "m-2"].into_iter().enumerate().map(move |(d, dev)| {
                json!({"Data": [s(dev.into()), s(format!("2023-11-14 22:{:02}:{:02}.000000000", 13 + (20 + i * 30) / 60, (20 + i * 30) % 60)), s(format!("{}", base + d as f64 * 3.0 + (i % 4) as f64))]})
            })
        })
        .collect();
    moto.can_query(
        &format!("SELECT DeviceID, time, measure_value::double AS v FROM grid.readings WHERE {FILTER} AND measure_name = '{measure}' ORDER BY time"),
        &[page(json!([col("DeviceID", "VARCHAR"), col("time", "TIMESTAMP"), col("v", "DOUBLE")]), rows)],
    );
    moto.can_query(
        &format!("SELECT avg(measure_value::double) AS avg FROM grid.readings WHERE {FILTER} AND measure_name = '{measure}'"),
        &[page(json!([col("avg", "DOUBLE")]), vec![json!({"Data": [s(format!("{}", base + 1.5))]})])],
    );
}

fn stat(app: &GridwatchUi) -> Option<String> {
    let a = app.dashboards.answers.as_ref()?;
    let p = a.panels.iter().find(|p| p.panel_id == 2)?;
    p.figures.first().map(|f| f.text.clone())
}

#[test]
fn an_imported_dashboard_opens_and_a_variable_change_asks_again() {
    common::use_emulator_credentials();
    let moto = Moto::start();
    can(&moto, "voltage_measure", 230.0);
    can(&moto, "watt_measure", 300.0);
    let rt = common::runtime();
    // A fixed folder: the status bar shows the cache's path, and the
    // snapshot must not change with a temporary name.
    let dir = std::env::temp_dir().join("gridwatch-dashboards-ui");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let session = rt.block_on(async {
        common::session(Embedded::open(&dir.join("d.sqlite"), 1).unwrap(), &dir)
    });
    let imported = rt
        .block_on(session.dispatch(
            &Headless::default(),
            Request::ImportDashboard(ImportDashboard {
                json: dashboard(),
                name: None,
            }),
        ))
        .unwrap();
    assert!(matches!(imported, Reply::Dashboard(_)));
    let backend = common::InProcess::new(rt.clone(), session.clone());
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .wgpu()
        .build_ui_state(
            |ui, app: &mut GridwatchUi| app.show(ui),
            GridwatchUi::new(Box::new(backend)),
        );
    common::step_until(&mut h, "the first status", |app| app.model.status.is_some());
    h.state_mut().history.connection = TimestreamConnection {
        database: "grid".into(),
        table: "readings".into(),
        endpoint_url: Some(moto.endpoint()),
        ..TimestreamConnection::default()
    };
    h.get_by_label("Dashboards").click();
    common::step_until(&mut h, "the saved dashboards", |app| {
        app.dashboards.names.as_ref().is_some_and(|n| !n.is_empty())
    });
    h.get_by_label("Feeder overview").click();
    common::step_until(&mut h, "the panels' answers", |app| stat(app).is_some());
    assert_eq!(stat(h.state()).unwrap(), "231.5 V");
    h.get_by_label("Substation");
    // An InfluxDB panel, with no InfluxDB named, says what to name.
    h.get_by_label_contains("this panel reads InfluxDB: name the InfluxDB connection");
    // The chart's time axis reads as clock times on the operator's clock,
    // not epoch seconds.
    let axis = h
        .get_by_label_contains("By device chart. Times (UTC): ")
        .accesskit_node()
        .label()
        .unwrap_or_default();
    let times = axis.split("): ").nth(1).unwrap_or_default().to_owned();
    // Clock times of the dashboard's range, the first with its date.
    let ticks: Vec<&str> = times.split(", ").collect();
    assert!(ticks.len() >= 3, "{axis}");
    assert!(
        ticks[0].starts_with("22:1") && ticks[0].ends_with(" Nov 14"),
        "{axis}"
    );
    assert!(
        ticks[1..]
            .iter()
            .all(|t| t.len() == 5 && t.starts_with("22:1") && t.as_bytes()[2] == b':'),
        "{axis}"
    );

    // The picker: watt_measure instead; the panels are asked again.
    h.get_by_label("watt_measure").click();
    common::step_until(&mut h, "the answers for watt_measure", |app| {
        stat(app).as_deref() == Some("301.5 V")
    });
    let sql = &h.state().dashboards.answers.as_ref().unwrap().panels[1].sql[0];
    assert!(sql.contains("measure_name = 'watt_measure'"), "{sql}");
    let fig = &h.state().dashboards.answers.as_ref().unwrap().panels[1].figures[0];
    assert_eq!(fig.color.as_deref(), Some("red"));
    for _ in 0..10 {
        h.step();
    }
    h.snapshot("dashboards");
}
