//! The Strategic view over a lake it did not write (the seed's records, by
//! `tests/scripts/seed_lake.py`): a run shows its progress (files read of
//! files to read) and can be cancelled, leaving no figures; the pickers
//! fill from the lake; the SQL box answers through polars.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::path::Path;

use egui_kittest::kittest::Queryable;
use gridwatch_simulator::Embedded;
use gridwatch_types::Cell;

mod common;
use common::{harness, step_until};

/// A session over a seed-shaped lake of `devices` devices (four days).
fn over_seed_lake(
    dir: &Path,
    devices: u32,
) -> (
    std::sync::Arc<tokio::runtime::Runtime>,
    std::sync::Arc<gridwatch_session::Session>,
) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scripts/seed_lake.py");
    gridwatch_tests::emulator_python([
        script.as_os_str(),
        "write".as_ref(),
        dir.join("lake").as_os_str(),
        "--devices".as_ref(),
        devices.to_string().as_ref(),
    ]);
    let rt = common::runtime();
    let session = rt.block_on(async {
        common::session(Embedded::open(&dir.join("f.sqlite"), 1).unwrap(), dir)
    });
    (rt, session)
}

/// The fixture's four days end on 2023-11-19; the view's ranges end now.
fn seed_range_clock() -> i64 {
    1_700_352_000_000_000 // 2023-11-19T00:00:00Z
}

#[test]
fn a_run_shows_files_read_and_cancel_leaves_no_figures() {
    let dir = tempfile::tempdir().unwrap();
    // Enough readings that a debug build reads them for a while.
    let (rt, session) = over_seed_lake(dir.path(), 240);
    let mut h = harness(&rt, &session);
    h.state_mut().clock = seed_range_clock;
    step_until(&mut h, "the first status", |app| app.model.status.is_some());
    h.get_by_label("Strategic").click();
    // The view runs by itself; its run is a job with progress.
    step_until(&mut h, "the run's progress", |app| {
        app.strategic
            .job
            .as_ref()
            .is_some_and(|j| j.running && j.view && j.files_total > 0)
    });
    let job = h.state().strategic.job.clone().unwrap();
    assert!(job.message.contains("files read"), "{job:?}");
    assert!(job.files_read <= job.files_total);
    h.get_by_label_contains("files read");
    h.get_by_label("Cancel").click();
    step_until(&mut h, "the run to stop", |app| {
        app.strategic.job.as_ref().is_some_and(|j| !j.running)
    });
    let job = h.state().strategic.job.clone().unwrap();
    assert!(
        job.error.as_deref().unwrap_or("").contains("cancelled"),
        "{job:?}"
    );
    assert!(h.state().strategic.table.is_none(), "no partial figures");
    h.get_by_label_contains("cancelled; no figures");
    // Run again to its end: the figures come, with how energy was made.
    h.get_by_label("Run").click();
    let start = std::time::Instant::now();
    while h.state().strategic.table.is_none() {
        assert!(start.elapsed().as_secs() < 240, "no figures");
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    h.step();
    let s = &h.state().strategic;
    assert!(s.job.is_none(), "{:?}", s.job);
    assert!(
        s.notes.iter().any(|n| n.contains("integrated from watt")),
        "{:?}",
        s.notes
    );
    let table = s.table.as_ref().unwrap();
    let energy = table
        .columns
        .iter()
        .position(|c| c == "energy_kwh")
        .unwrap();
    assert!(
        table
            .rows
            .iter()
            .all(|r| matches!(r[energy], Cell::Number(e) if e > 0.0))
    );
    rt.block_on(session.shutdown()).unwrap();
}

#[test]
fn the_pickers_fill_from_the_lake_and_the_sql_box_answers() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, session) = over_seed_lake(dir.path(), 12);
    let mut h = harness(&rt, &session);
    h.state_mut().clock = seed_range_clock;
    step_until(&mut h, "the first status", |app| app.model.status.is_some());
    h.get_by_label("Strategic").click();
    step_until(&mut h, "the figures", |app| app.strategic.table.is_some());
    let catalog = h.state().strategic.catalog.clone().unwrap();
    assert_eq!(catalog.measures, ["voltage", "watt"]);
    assert_eq!(catalog.dimensions, ["Region"]);
    // A measure from the lake: its figures instead of energy.
    h.get_by_label("Figures of").click();
    h.run_steps(2);
    h.get_by_label("watt").click();
    h.run_steps(2);
    h.state_mut().strategic.table = None;
    h.get_by_label("Run").click();
    step_until(&mut h, "the watt figures", |app| {
        app.strategic.table.is_some()
    });
    let table = h.state().strategic.table.clone().unwrap();
    assert!(
        table.columns.iter().any(|c| c == "watt_p99"),
        "{:?}",
        table.columns
    );
    // The SQL box: polars over the same range, a chart and a table.
    h.get_by_label("SQL over the lake").click();
    h.run_steps(2);
    h.get_by_label("SQL");
    h.state_mut().strategic.sql.sql =
        "SELECT Region, count(*) AS n FROM readings GROUP BY Region ORDER BY Region".into();
    h.run_steps(1);
    h.get_by_label("Run SQL").click();
    step_until(&mut h, "the SQL answer", |app| {
        app.strategic.sql.table.is_some() || app.strategic.sql.error.is_some()
    });
    let sql = &h.state().strategic.sql;
    assert_eq!(sql.error, None);
    let answer = sql.table.clone().unwrap();
    assert_eq!(answer.columns, ["Region", "n"]);
    assert_eq!(answer.rows.len(), 3);
    assert_eq!(
        gridwatch_ui::views::strategic::sql::chart_columns(&answer),
        Some((0, 1))
    );
    // The answer exports like the figures do: a second pair of buttons.
    assert_eq!(h.query_all_by_label("Export CSV…").count(), 2);
    // A bad query: polars' own words.
    h.state_mut().strategic.sql.sql = "SELECT nope FROM readings".into();
    h.run_steps(1);
    h.get_by_label("Run SQL").click();
    step_until(&mut h, "the SQL error", |app| {
        app.strategic.sql.error.is_some()
    });
    assert!(
        h.state()
            .strategic
            .sql
            .error
            .as_ref()
            .unwrap()
            .contains("nope")
    );
    assert!(h.state().strategic.sql.table.is_none());
    rt.block_on(session.shutdown()).unwrap();
}

#[test]
fn a_cancelled_sql_query_leaves_no_answer_and_no_error_on_screen() {
    use gridwatch_types::{ApiError, ErrorCode, LakeSqlQuery, Reply, Request, ResultTable};
    use gridwatch_ui::backend::Answer;
    use gridwatch_ui::views::strategic::sql::SqlBox;
    let mut sql = SqlBox {
        waiting: true,
        table: Some(ResultTable::default()),
        ..SqlBox::default()
    };
    let cancelled = Answer {
        request: Request::LakeSql(LakeSqlQuery::default()),
        result: Err(ApiError::new(
            ErrorCode::Cancelled,
            "stopped before the end",
        )),
    };
    assert!(sql.on_reply(cancelled).is_none(), "the SQL box takes it");
    assert!(!sql.waiting);
    assert_eq!(sql.table, None);
    assert_eq!(sql.error, None);
    assert_eq!(sql.note.as_deref(), Some("Cancelled."));
    // The cancel's own acknowledgement is the box's too, and changes nothing.
    let ack = Answer {
        request: Request::CancelLakeSql,
        result: Ok(Reply::Done),
    };
    assert!(sql.on_reply(ack).is_none());
    assert_eq!(sql.note.as_deref(), Some("Cancelled."));
}
