//! A first start in embedded mode: the empty lake fills in the background,
//! and the strategic view then has figures without a click.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::time::{Duration, Instant};

use gridwatch_session::{Headless, Session};
use gridwatch_simulator::Embedded;
use gridwatch_types::{AggregateQuery, Cell, JobStatus, Reply, Request};

#[test]
fn an_empty_lake_is_filled_once_and_the_strategic_view_reads_it() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    std::fs::create_dir(&lake).unwrap();
    let session = rt.block_on(async {
        Session::new(
            Embedded::open(&dir.path().join("c.sqlite"), 1).unwrap(),
            lake.clone(),
        )
    });
    let desktop = Headless::default();
    let ask = |request| rt.block_on(session.dispatch(&desktop, request)).unwrap();

    let started = rt.block_on(session.fill_empty_lake()).unwrap().unwrap();
    assert_eq!(started.name, "writing 30 days of history");
    let deadline = Instant::now() + Duration::from_secs(300);
    let ended: JobStatus = loop {
        let Reply::Job(job) = ask(Request::JobStatus) else {
            panic!("JobStatus answers with a job")
        };
        if !job.running {
            break job;
        }
        assert!(
            Instant::now() < deadline,
            "the first lake took over 5 minutes"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(ended.error, None, "{ended:?}");
    assert!(lake.join("readings").is_dir());
    // A second start finds the lake and leaves it alone.
    assert_eq!(rt.block_on(session.fill_empty_lake()).unwrap(), None);

    let now = gridwatch_core::time::now_us();
    let day = gridwatch_core::time::MICROS_PER_DAY;
    let Reply::Table(table) = ask(Request::Aggregate(AggregateQuery {
        from_us: now - 31 * day,
        to_us: now + day,
        ..AggregateQuery::default()
    })) else {
        panic!("Aggregate answers with a table")
    };
    let column = |name: &str| {
        let i = table.columns.iter().position(|c| c == name);
        i.map(|i| table.rows[0][i].clone())
            .unwrap_or_else(|| panic!("no {name} in {:?}", table.columns))
    };
    // The default fleet: 200 smart meters, one reading each 15 minutes for
    // 30 days; a device whose first or last reading is jittered across an
    // end of the range has one more or one less. The view counts every line
    // the extracts hold.
    let files = gridwatch_tests::files_under(&lake);
    let lines: usize = files
        .iter()
        .map(|f| {
            std::fs::read_to_string(lake.join(f))
                .unwrap()
                .lines()
                .count()
        })
        .sum();
    assert!(
        (200 * 30 * 96 - 200..=200 * 30 * 96 + 200).contains(&lines),
        "{lines} lines"
    );
    assert_eq!(column("records"), Cell::Number(lines as f64));
    assert_eq!(
        ended.message,
        format!("{lines} records in {} files", files.len())
    );
    assert!(table.skipped.is_empty(), "{:?}", table.skipped);
    rt.block_on(session.shutdown()).unwrap();
}
