//! The app over InfluxDB (Timestream for InfluxDB), by widget label:
//! Connections tests it and says what it found; History charts a measure
//! aggregated by InfluxDB and runs InfluxQL, and offline shows the cached
//! answer, marked. Against Debian's influxd on 127.0.0.1, written to with
//! the tests' own line protocol.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use egui_kittest::kittest::Queryable;
use gridwatch_simulator::Embedded;
use gridwatch_tests::Influx;
use gridwatch_types::Cell;

mod common;
use common::{harness, step_until};

#[test]
fn connections_tests_influxdb_and_history_charts_and_queries_it() {
    let influx = Influx::start(false);
    // Sixty readings of meter-1 over the last half hour.
    let now_ms = gridwatch_core::time::now_us() / 1000;
    let lines: String = (0..60)
        .map(|i| {
            format!(
                "readings,DeviceID=meter-1 watt_measure={} {}\n",
                100 + i,
                now_ms - 30_000 * (i + 1)
            )
        })
        .collect();
    assert_eq!(influx.write(&lines), "204");
    let rt = common::runtime();
    let dir = tempfile::tempdir().unwrap();
    let session = rt.block_on(async {
        common::session(
            Embedded::open(&dir.path().join("i.sqlite"), 1).unwrap(),
            dir.path(),
        )
    });
    let mut h = harness(&rt, &session);
    step_until(&mut h, "the first status", |app| app.model.status.is_some());

    h.get_by_label("Connections…").click();
    h.run_steps(2);
    common::type_into(&mut h, "InfluxDB URL", &influx.url());
    common::type_into(&mut h, "InfluxDB database", "grid");
    h.get_by_label("Test InfluxDB").click();
    step_until(&mut h, "the test's answer", |app| {
        app.connections.results.contains_key("InfluxDB")
    });
    h.get_by_label_contains("database grid, 60 points of readings in the last hour");
    h.get_by_label("Connections…").click();
    h.run_steps(2);

    h.get_by_label("History").click();
    h.run_steps(2);
    h.get_by_label("InfluxDB").click();
    h.run_steps(2);
    h.state_mut().history.measure = "watt".into();
    h.get_by_label("Chart").click();
    step_until(&mut h, "the chart's buckets", |app| {
        app.history.result.is_some() || app.history.error.is_some()
    });
    let result = h
        .state()
        .history
        .result
        .clone()
        .unwrap_or_else(|| panic!("{:?}", h.state().history.error));
    assert_eq!(
        result.table.columns,
        ["bucket", "avg", "min", "max", "sum", "count"]
    );
    let column = |name: &str| {
        let i = result.table.columns.iter().position(|c| c == name).unwrap();
        result
            .table
            .rows
            .iter()
            .map(move |r| match &r[i] {
                Cell::Number(n) => *n,
                other => panic!("{other:?}"),
            })
            .collect::<Vec<f64>>()
    };
    assert_eq!(column("count").iter().sum::<f64>(), 60.0);
    assert_eq!(
        column("sum").iter().sum::<f64>(),
        (100..160).sum::<i64>() as f64
    );
    assert_eq!(
        column("max").iter().cloned().fold(f64::MIN, f64::max),
        159.0
    );

    // InfluxQL, Grafana's macros expanded.
    h.state_mut().history.sql =
        "SELECT count(\"watt_measure\") FROM \"readings\" WHERE $timeFilter".into();
    h.get_by_label("Run query").click();
    step_until(&mut h, "the InfluxQL answer", |app| {
        !app.history.waiting
            && (app.history.error.is_some()
                || app.history.result.as_ref().is_some_and(|r| {
                    r.sql.starts_with(
                        "SELECT count(\"watt_measure\") FROM \"readings\" WHERE time >= ",
                    )
                }))
    });
    assert!(
        h.state().history.error.is_none(),
        "{:?}",
        h.state().history.error
    );
    let answer = h.state().history.result.clone().unwrap();
    assert_eq!(answer.table.rows.len(), 1);
    assert_eq!(answer.table.rows[0][1], Cell::Number(60.0));

    // Offline: the same answer, marked as cached.
    drop(influx);
    h.get_by_label("Run query").click();
    step_until(&mut h, "the cached answer", |app| {
        !app.history.waiting
            && (app.history.error.is_some()
                || app
                    .history
                    .result
                    .as_ref()
                    .is_some_and(|r| r.cached_at_us.is_some()))
    });
    assert!(
        h.state().history.error.is_none(),
        "{:?}",
        h.state().history.error
    );
    assert_eq!(
        h.state().history.result.as_ref().unwrap().table.rows,
        answer.table.rows
    );
    h.get_by_label_contains("CACHED, fetched");
    rt.block_on(session.shutdown()).unwrap();
}
