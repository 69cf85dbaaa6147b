//! What a newcomer sees on a first start in embedded mode: empty states
//! that say what to do, and the History and Strategic views showing
//! something without a button pressed.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use egui_kittest::kittest::Queryable;
use gridwatch_simulator::Embedded;
use gridwatch_types::{FillLake, FleetSpec, Request};

mod common;
use common::{harness, step_until};

#[test]
fn an_empty_start_says_what_to_do_and_the_strategic_view_runs_when_the_lake_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let rt = common::runtime();
    let session = rt.block_on(async {
        common::session(
            Embedded::open(&dir.path().join("f.sqlite"), 1).unwrap(),
            dir.path(),
        )
    });
    let mut h = harness(&rt, &session);
    step_until(&mut h, "the first status", |app| app.model.status.is_some());
    // No fleet, no devices: where they come from.
    h.get_by_label_contains("No devices yet. Launch a simulated fleet with Fleet…");
    h.get_by_label_contains("No readings yet.");

    // The Strategic view asks of the lake by itself, and an empty lake is
    // a state with a way out, not an error.
    h.get_by_label("Strategic").click();
    step_until(&mut h, "the empty lake", |app| app.strategic.lake_empty);
    h.get_by_label_contains("The lake has no extracts yet");
    h.get_by_label("Write 30 days of simulated history");
    assert_eq!(h.state().strategic.error, None);

    // The app's first start writes a small simulated lake in the
    // background (here: the same request, not from this view).
    let job = rt
        .block_on(session.dispatch(
            &*common::test_desktop(),
            Request::FillLake(FillLake {
                days: 3,
                spec: FleetSpec {
                    smart_meters: 20,
                    interval_ms: 15 * 60 * 1000,
                    ..FleetSpec::default()
                },
            }),
        ))
        .unwrap();
    assert!(matches!(job, gridwatch_types::Reply::Job(_)), "{job:?}");
    // The view finds the job, and the figures come when it ends, with no
    // button pressed.
    step_until(&mut h, "the job seen by the view", |app| {
        app.strategic
            .job
            .as_ref()
            .is_some_and(|j| !j.name.is_empty())
    });
    let start = std::time::Instant::now();
    while h.state().strategic.table.is_none() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(120),
            "no figures: {:?} {:?}",
            h.state().strategic.job,
            h.state().strategic.error
        );
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    h.run_steps(2);
    h.get_by_label("energy_kwh");
    assert!(h.query_by_label_contains("no extracts yet").is_none());
    rt.block_on(session.shutdown()).unwrap();
}

#[test]
fn history_shows_neutral_text_for_a_cancelled_query() {
    use gridwatch_types::{ApiError, ErrorCode};
    use gridwatch_ui::backend::Answer;
    let mut history = gridwatch_ui::views::history::History {
        waiting: true,
        ..Default::default()
    };
    let answer = Answer {
        request: Request::CancelHistory,
        result: Err(ApiError::new(
            ErrorCode::Cancelled,
            "the query was cancelled",
        )),
    };
    assert_eq!(history.on_reply(answer), None, "the view takes it");
    assert!(!history.waiting);
    assert_eq!(history.error, None, "a cancel is no error");
    assert_eq!(history.note.as_deref(), Some("Cancelled."));
}
