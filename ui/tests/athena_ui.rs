//! The strategic view on Athena, by widget label, against moto's Athena,
//! Glue and S3 on 127.0.0.1: the engine switch, the scan estimate beside
//! Run, the figures with what Athena scanned, Cancel stopping the query in
//! Athena, and offline the cached answer, marked. (What the SQL means is checked against DuckDB in
//! `tests/tests/athena.rs`; moto answers here with a result queued in
//! Athena's shape.)
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use egui_kittest::kittest::Queryable;
use gridwatch_simulator::Embedded;
use gridwatch_tests::Moto;
use serde_json::json;

mod common;
use common::{harness, step_until};

/// One row of the default view (Region × day, per device type), as
/// Athena would give it: a header row, then values as text.
fn answer(day_us: i64) -> serde_json::Value {
    let columns = [
        ("region", "varchar"),
        ("devicetype", "varchar"),
        ("day", "bigint"),
        ("records", "bigint"),
        ("energy_kwh", "double"),
        ("energy_source", "varchar"),
        ("peak_demand_w", "double"),
        ("peak_at_us", "bigint"),
        ("load_factor", "double"),
        ("voltage_p50", "double"),
        ("voltage_p95", "double"),
        ("voltage_p99", "double"),
        ("voltage_compliance", "double"),
        ("voltage_anomalies", "bigint"),
    ];
    let values = [
        "north",
        "smart_meter",
        &day_us.to_string(),
        "96",
        "12.5",
        "counter",
        "1.25E7",
        &(day_us + 3_600_000_000).to_string(),
        "0.5",
        "230.1",
        "236.0",
        "240.2",
        "0.9895833333333334",
        "1",
    ];
    let datum = |v: &str| json!({ "VarCharValue": v });
    json!({
        "ResultSet": {
            "Rows": [
                { "Data": columns.iter().map(|(n, _)| datum(n)).collect::<Vec<_>>() },
                { "Data": values.iter().map(|v| datum(v)).collect::<Vec<_>>() },
            ],
            "ResultSetMetadata": {
                "ColumnInfo": columns.iter().map(|(n, t)| json!({
                    "Name": n, "Label": n, "Type": t, "CatalogName": "hive", "SchemaName": "",
                    "TableName": "", "Precision": 0, "Scale": 0, "Nullable": "UNKNOWN",
                    "CaseSensitive": false,
                })).collect::<Vec<_>>(),
            },
        }
    })
}

#[test]
fn the_strategic_view_runs_on_athena_with_its_estimate_and_offline_cache() {
    common::use_emulator_credentials();
    let moto = Moto::start();
    let rt = common::runtime();
    // Two extracts in the last day's partitions, 1,000 and 2,345 bytes.
    let now_us = gridwatch_core::time::now_us();
    let hour = |ago: i64| {
        let c = gridwatch_types::time::civil(now_us - ago * 3_600_000_000);
        format!(
            "readings/json/year={:04}/month={:02}/day={:02}/hour={:02}/part",
            c.year, c.month, c.day, c.hour
        )
    };
    rt.block_on(async {
        let s3 = moto.s3();
        s3.create_bucket().bucket("lake").send().await.unwrap();
        for (key, size) in [(hour(2), 1_000), (hour(5), 2_345)] {
            s3.put_object()
                .bucket("lake")
                .key(key)
                .body(vec![b'x'; size].into())
                .send()
                .await
                .unwrap();
        }
        let options =
            gridwatch_core::aws::AwsOptions::from_form(&None, &None, &Some(moto.endpoint()));
        let conf = options.load().await;
        let glue = gridwatch_lake::athena::setup::glue_client(&conf);
        let definition =
            gridwatch_lake::athena::TableDefinition::seed("lake", "", "gridwatch_readings");
        gridwatch_lake::athena::setup::setup(&glue, "gridwatch", &definition)
            .await
            .unwrap();
    });
    let day_us = now_us - now_us.rem_euclid(86_400_000_000);
    moto.queue_athena_result(&answer(day_us));

    let dir = tempfile::tempdir().unwrap();
    let session = rt.block_on(async {
        common::session(
            Embedded::open(&dir.path().join("a.sqlite"), 2).unwrap(),
            dir.path(),
        )
    });
    let mut h = harness(&rt, &session);
    step_until(&mut h, "the first status", |app| app.model.status.is_some());
    h.state_mut().stream_settings.endpoint_url = Some(moto.endpoint());
    h.state_mut().athena.output = "s3://lake/results/".into();
    h.get_by_label("Strategic").click();
    h.run_steps(2);
    h.get_by_label("Engine").click();
    h.run_steps(2);
    h.get_by_label("Athena").click();
    step_until(&mut h, "the estimate", |app| {
        app.strategic.estimate.is_some()
    });
    let estimate = h.state().strategic.estimate.clone().unwrap().unwrap();
    assert_eq!(
        estimate.bytes, 3_345,
        "the two objects in the last 30 days' partitions"
    );
    assert_eq!(estimate.objects, 2);
    h.get_by_label_contains("≈ 3.345 kB in");
    h.get_by_label_contains("(limit 100 GB)");

    h.get_by_label("Run").click();
    step_until(&mut h, "the figures", |app| {
        app.strategic.table.is_some() && !app.strategic.waiting
    });
    let table = h.state().strategic.table.clone().unwrap();
    assert_eq!(table.columns[..3], ["Region", "DeviceType", "day"]);
    assert_eq!(table.rows.len(), 1);
    assert_eq!(
        table.rows[0][2],
        gridwatch_types::Cell::Text(gridwatch_types::time::format_date(day_us))
    );
    assert_eq!(
        table.rows[0][6],
        gridwatch_types::Cell::Number(12_500_000.0)
    );
    let notes = h.state().strategic.notes.clone();
    assert!(
        notes[0].starts_with("Athena scanned 0 B (query "),
        "{notes:?}"
    );
    h.get_by_label_contains("Athena scanned");

    // Cancel while Athena holds the query (moto advances it only after
    // 10,000 polls): the job ends with no figures, the query stopped.
    moto.post(
        "/moto-api/state-manager/set-transition",
        &json!({
            "model_name": "athena::execution",
            "transition": {"progression": "manual", "times": 10000}
        }),
    );
    h.get_by_label("Run").click();
    step_until(&mut h, "the query waiting in Athena", |app| {
        app.strategic
            .job
            .as_ref()
            .is_some_and(|j| j.running && j.message.starts_with("Athena: queued"))
    });
    h.get_by_label("Cancel").click();
    step_until(&mut h, "the cancelled run", |app| {
        app.strategic.job.as_ref().is_some_and(|j| !j.running)
    });
    let job = h.state().strategic.job.clone().unwrap();
    assert_eq!(
        job.error.as_deref(),
        Some("cancelled; the query was stopped in Athena; no figures")
    );
    assert!(
        h.state().strategic.table.is_none(),
        "no figures after a cancel"
    );

    // Athena gone: the same figures, from the cache, marked.
    drop(moto);
    h.get_by_label("Run").click();
    step_until(&mut h, "the cached figures", |app| {
        !app.strategic.waiting && app.strategic.notes.iter().any(|n| n.starts_with("CACHED"))
    });
    assert_eq!(h.state().strategic.table.as_ref().unwrap().rows, table.rows);
    h.get_by_label_contains("CACHED: Athena is unreachable");
    rt.block_on(session.shutdown()).unwrap();
}
