//! The SQL box's Cancel: a query polars is still running answers
//! `Cancelled` at once, with no table, and the session takes the next one.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::sync::Arc;
use std::time::Duration;

use gridwatch_session::{Headless, Session};
use gridwatch_simulator::lake::{LakeOptions, LakeSink};
use gridwatch_simulator::{Embedded, Fleet, Pacing, RunOptions, run_fleet};
use gridwatch_types::{ErrorCode, FleetSpec, LakeSqlQuery, Reply, Request};

/// 2023-11-14T00:00:00Z.
const START_US: i64 = 1_699_920_000_000_000;

#[test]
fn a_cancelled_query_answers_cancelled_and_the_next_one_runs() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    // 20 meters at 1 s for 30 minutes: 36,000 records, all in one region.
    rt.block_on(async {
        let spec = FleetSpec {
            smart_meters: 20,
            interval_ms: 1000,
            ..FleetSpec::default()
        };
        let mut fleet = Fleet::new(&spec, START_US);
        let mut sink = LakeSink::new(LakeOptions::new(&lake));
        let (_stop, stop_rx) = tokio::sync::watch::channel(false);
        let options = RunOptions {
            pacing: Pacing::AsFastAsPossible,
            end_us: Some(START_US + 1_800_000_000),
        };
        run_fleet(&mut fleet, &mut sink, options, stop_rx, |_| {})
            .await
            .unwrap();
    });
    let session = Arc::new(rt.block_on(async {
        Session::new(
            Embedded::open(&dir.path().join("c.sqlite"), 1).unwrap(),
            lake.clone(),
        )
    }));
    let query = |sql: &str| {
        Request::LakeSql(LakeSqlQuery {
            sql: sql.into(),
            from_us: START_US,
            to_us: START_US + 3_600_000_000,
        })
    };
    // Every record joined with every other of its region: 1.3 billion rows
    // to count, far more than polars' streaming engine gets through in the
    // second before the cancel in a debug build, with 36,000 rows held.
    let slow = query("SELECT count(*) AS n FROM readings a JOIN readings b ON a.Region = b.Region");
    let running = {
        let session = session.clone();
        rt.spawn(async move { session.dispatch(&Headless::default(), slow).await })
    };
    std::thread::sleep(Duration::from_secs(1));
    let desktop = Headless::default();
    let ack = rt.block_on(session.dispatch(&desktop, Request::CancelLakeSql));
    assert_eq!(ack.unwrap(), Reply::Done);
    let answer = rt.block_on(running).unwrap();
    let error = answer.expect_err("a cancelled query gives no table");
    assert_eq!(error.code, ErrorCode::Cancelled, "{error:?}");

    // The next query is not cancelled by the last one's Cancel.
    let Reply::Table(table) = rt
        .block_on(session.dispatch(&desktop, query("SELECT count(*) AS n FROM readings")))
        .unwrap()
    else {
        panic!("LakeSql answers with a table")
    };
    assert_eq!(table.columns, ["n"]);
    assert_eq!(
        table.rows,
        [[gridwatch_types::Cell::Number(36_000.0)]],
        "20 meters, one reading a second for 30 minutes"
    );
}
