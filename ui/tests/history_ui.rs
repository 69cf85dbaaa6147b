//! The history view by widget label, against moto's Timestream on
//! 127.0.0.1: a pasted Grafana query runs, every page arrives, and offline
//! the cached answer is shown and marked as cached.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use egui_kittest::kittest::Queryable;
use gridwatch_simulator::Embedded;
use gridwatch_tests::Moto;

mod common;
use common::{harness, step_until};

fn can(moto: &Moto, query: &str) {
    let page = |rows: &str, next: Option<&str>| {
        let next = next
            .map(|n| format!(r#","NextToken":"{n}""#))
            .unwrap_or_default();
        format!(
            r#"{{"QueryId":"q","ColumnInfo":[{{"Name":"t","Type":{{"ScalarType":"TIMESTAMP"}}}},{{"Name":"avg","Type":{{"ScalarType":"DOUBLE"}}}}],"Rows":[{rows}],"QueryStatus":{{"CumulativeBytesScanned":1234,"CumulativeBytesMetered":10000000}}{next}}}"#
        )
    };
    let row = |t: &str, v: &str| {
        format!(r#"{{"Data":[{{"ScalarValue":"{t}"}},{{"ScalarValue":"{v}"}}]}}"#)
    };
    moto.can_query(
        query,
        &[
            page(&row("2023-11-14 22:00:00.000000000", "230.1"), Some("p2")),
            page(&row("2023-11-14 22:01:00.000000000", "229.7"), None),
        ],
    );
}

fn can_raw(moto: &Moto, query: &str, page: &str) {
    moto.can_query(query, &[page.to_string()]);
}

#[test]
fn a_pasted_query_runs_and_offline_the_cached_answer_is_marked() {
    common::use_emulator_credentials();
    let moto = Moto::start();
    can(&moto, "SELECT t, avg FROM grid.readings");
    can_raw(
        &moto,
        "SHOW MEASURES FROM grid.readings",
        r#"{"QueryId":"m","ColumnInfo":[{"Name":"measure_name","Type":{"ScalarType":"VARCHAR"}},{"Name":"data_type","Type":{"ScalarType":"VARCHAR"}}],"Rows":[{"Data":[{"ScalarValue":"voltage_measure"},{"ScalarValue":"double"}]},{"Data":[{"ScalarValue":"watt_measure"},{"ScalarValue":"double"}]}]}"#,
    );
    can_raw(
        &moto,
        "DESCRIBE grid.readings",
        r#"{"QueryId":"d","ColumnInfo":[{"Name":"Column","Type":{"ScalarType":"VARCHAR"}},{"Name":"Type","Type":{"ScalarType":"VARCHAR"}},{"Name":"Timestream attribute type","Type":{"ScalarType":"VARCHAR"}}],"Rows":[{"Data":[{"ScalarValue":"DeviceID"},{"ScalarValue":"varchar"},{"ScalarValue":"DIMENSION"}]},{"Data":[{"ScalarValue":"Region"},{"ScalarValue":"varchar"},{"ScalarValue":"DIMENSION"}]},{"Data":[{"ScalarValue":"measure_name"},{"ScalarValue":"varchar"},{"ScalarValue":"MEASURE_NAME"}]},{"Data":[{"ScalarValue":"time"},{"ScalarValue":"timestamp"},{"ScalarValue":"TIMESTAMP"}]}]}"#,
    );
    let rt = common::runtime();
    let dir = tempfile::tempdir().unwrap();
    let session = rt.block_on(async {
        common::session(
            Embedded::open(&dir.path().join("h.sqlite"), 2).unwrap(),
            dir.path(),
        )
    });
    let mut h = harness(&rt, &session);
    step_until(&mut h, "the first status", |app| app.model.status.is_some());
    h.get_by_label("History").click();
    h.run_steps(2);
    h.get_by_label("Timestream").click();
    h.run_steps(2);
    common::type_into(&mut h, "Database", "grid");
    common::type_into(&mut h, "Table", "readings");
    common::type_into(&mut h, "Endpoint URL", &moto.endpoint());
    h.state_mut().history.sql = "SELECT t, avg FROM $__database.$__table".into();
    h.get_by_label("Run query").click();
    step_until(&mut h, "the result", |app| {
        app.history.result.is_some() || app.history.error.is_some()
    });
    let result = h
        .state()
        .history
        .result
        .clone()
        .unwrap_or_else(|| panic!("{:?}", h.state().history.error));
    // As the Grafana plugin expands them: plain names as they are.
    assert_eq!(result.sql, "SELECT t, avg FROM grid.readings");
    assert_eq!(result.table.rows.len(), 2, "both pages");
    assert_eq!(result.bytes_metered, 10_000_000);
    assert!(result.cached_at_us.is_none());
    h.get_by_label_contains("bytes metered");

    // Discovery fills the measure picker and lists the dimensions.
    h.get_by_label("Discover").click();
    step_until(&mut h, "the pickers", |app| {
        !app.history.measures.is_empty() && !app.history.dimensions.is_empty()
    });
    assert_eq!(
        h.state().history.measures,
        vec!["voltage_measure", "watt_measure"]
    );
    assert_eq!(h.state().history.dimensions, vec!["DeviceID", "Region"]);
    h.run_steps(2);
    // The measure picker offers what Discover found, without the suffix.
    h.get_by_label("Measure").click();
    h.run_steps(2);
    h.get_by_label("watt").click();
    h.run_steps(2);
    assert_eq!(h.state().history.measure, "watt");

    drop(moto);
    h.get_by_label("Run query").click();
    step_until(&mut h, "the cached result", |app| {
        app.history
            .result
            .as_ref()
            .is_some_and(|r| r.cached_at_us.is_some())
            || app.history.error.is_some()
    });
    assert!(
        h.state().history.error.is_none(),
        "{:?}",
        h.state().history.error
    );
    assert_eq!(
        h.state().history.result.as_ref().unwrap().table.rows.len(),
        2
    );
    h.get_by_label_contains("CACHED, fetched");
    rt.block_on(session.shutdown()).unwrap();
}

#[test]
fn a_typo_in_max_bytes_is_refused_next_to_the_field_and_nothing_runs_uncapped() {
    // No AWS here: nothing may be sent (and this test leaves the
    // environment alone, which the other test in this binary sets).
    let rt = common::runtime();
    let dir = tempfile::tempdir().unwrap();
    let session = rt.block_on(async {
        common::session(
            Embedded::open(&dir.path().join("h.sqlite"), 1).unwrap(),
            dir.path(),
        )
    });
    let mut h = harness(&rt, &session);
    step_until(&mut h, "the first status", |app| app.model.status.is_some());
    h.get_by_label("History").click();
    h.run_steps(2);
    h.get_by_label("Timestream").click();
    h.run_steps(2);
    common::type_into(&mut h, "Database", "grid");
    common::type_into(&mut h, "Table", "readings");
    h.state_mut().history.max_bytes.clear();
    common::type_into(&mut h, "Max bytes", "1e9x");
    assert_eq!(h.state().history.max_bytes, "1e9x");
    h.run_steps(2);
    h.get_by_label("Max bytes \"1e9x\" is not a number of bytes: e.g. 10000000000 or 1e10");
    // A typo used to send the query with no cap at all.
    for button in ["Run query", "Chart", "Discover"] {
        h.get_by_label(button).click();
        h.run_steps(2);
        assert!(
            !h.state().history.waiting,
            "{button} sent a query without a cap"
        );
    }
    assert!(h.state().history.result.is_none());
    assert!(h.state().history.error.is_none());
    // Mended, the message goes and the cap is what was typed.
    h.state_mut().history.max_bytes = "1e9".into();
    h.run_steps(2);
    assert!(
        h.query_by_label_contains("is not a number of bytes")
            .is_none(),
        "the message stays after the mend"
    );
    assert_eq!(h.state().history.max_bytes(), Ok(1_000_000_000));
    rt.block_on(session.shutdown()).unwrap();
}

#[test]
fn the_queries_variables_become_pickers_and_a_pick_runs_it_again() {
    use egui::accesskit::Role;
    common::use_emulator_credentials();
    let moto = Moto::start();
    // The query variable's own query (moto serves a canned answer once:
    // each definition left changed asks again), then the query for each
    // pick.
    let devices = r#"{"QueryId":"v","ColumnInfo":[{"Name":"DeviceID","Type":{"ScalarType":"VARCHAR"}}],"Rows":[{"Data":[{"ScalarValue":"m-1"}]},{"Data":[{"ScalarValue":"m-2"}]}]}"#;
    moto.can_query(
        "SELECT DISTINCT DeviceID FROM grid.readings ORDER BY 1",
        &[
            devices.to_string(),
            devices.to_string(),
            devices.to_string(),
        ],
    );
    for device in ["m-1", "m-2"] {
        can(
            &moto,
            &format!(
                "SELECT t, avg FROM grid.readings WHERE DeviceID = '{device}' AND Region = 'south'"
            ),
        );
    }
    let rt = common::runtime();
    let dir = tempfile::tempdir().unwrap();
    let session = rt.block_on(async {
        common::session(
            Embedded::open(&dir.path().join("v.sqlite"), 1).unwrap(),
            dir.path(),
        )
    });
    let mut h = harness(&rt, &session);
    step_until(&mut h, "the first status", |app| app.model.status.is_some());
    h.get_by_label("History").click();
    h.run_steps(2);
    h.get_by_label("Timestream").click();
    h.run_steps(2);
    common::type_into(&mut h, "Database", "grid");
    common::type_into(&mut h, "Table", "readings");
    common::type_into(&mut h, "Endpoint URL", &moto.endpoint());
    // A panel's SQL with two template variables, left in the editor.
    h.state_mut().history.sql =
        "SELECT t, avg FROM $__database.$__table WHERE DeviceID = '$device' AND Region = '${region}'"
            .into();
    h.get_by_label("Query").focus();
    h.step();
    h.get_by_role_and_label(Role::TextInput, "Database").focus();
    step_until(&mut h, "a picker for each variable", |app| {
        app.history.variables.len() == 2
    });
    let names: Vec<String> = h
        .state()
        .history
        .variables
        .iter()
        .map(|v| v.name.clone())
        .collect();
    assert_eq!(names, ["device", "region"]);
    h.get_by_label("$device");
    h.get_by_label("$region");

    // $device lists what its query answers; $region is a list.
    h.state_mut().history.variables[0].kind = gridwatch_types::VariableKind::Query;
    common::type_into(
        &mut h,
        "Definition of $device",
        "SELECT DISTINCT DeviceID FROM $__database.$__table ORDER BY 1",
    );
    common::type_into(&mut h, "Definition of $region", "south, north");
    h.get_by_role_and_label(Role::TextInput, "Database").focus();
    let filled = |app: &gridwatch_ui::GridwatchUi| {
        let v = &app.history.variables;
        v.len() == 2 && v[0].options == ["m-1", "m-2"] && v[1].options == ["south", "north"]
    };
    for _ in 0..300 {
        if filled(h.state()) {
            break;
        }
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    assert!(
        filled(h.state()),
        "{:?} {:?} {:?}",
        h.state().history.variables,
        h.state().history.variable_problems,
        h.state().history.error
    );
    // Nothing picked yet: the first value of each, as Grafana does.
    let picked =
        |app: &gridwatch_ui::GridwatchUi, i: usize| app.history.variables[i].selected.clone();
    assert_eq!(
        picked(h.state(), 0),
        gridwatch_types::Selection::Values(vec!["m-1".into()])
    );
    h.get_by_label("Run query").click();
    step_until(&mut h, "the answer for m-1", |app| {
        app.history.result.is_some() || app.history.error.is_some()
    });
    assert_eq!(
        h.state().history.result.as_ref().map(|r| r.sql.clone()),
        Some("SELECT t, avg FROM grid.readings WHERE DeviceID = 'm-1' AND Region = 'south'".into()),
        "{:?}",
        h.state().history.error
    );

    // Another pick runs the query again by itself.
    h.get_by_label("Value of $device").click();
    h.run_steps(2);
    h.get_by_label("m-2").click();
    step_until(&mut h, "the answer for m-2", |app| {
        app.history
            .result
            .as_ref()
            .is_some_and(|r| r.sql.contains("'m-2'"))
            || app.history.error.is_some()
    });
    assert!(
        h.state().history.error.is_none(),
        "{:?}",
        h.state().history.error
    );
    assert_eq!(
        h.state().history.result.as_ref().unwrap().table.rows.len(),
        2
    );
    rt.block_on(session.shutdown()).unwrap();
}
