//! Each answer goes to the view that asked: with two chart requests in
//! flight at once (the Operations chart's and the History view's), the one
//! that fails is reported by the view that sent it, and the other view
//! shows its chart and no error.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::sync::Arc;
use std::sync::atomic::Ordering;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use gridwatch_session::Session;
use gridwatch_simulator::{Embedded, Pacing, RunOptions};
use gridwatch_types::{FleetSpec, Layout, Request, Settings, View};
use gridwatch_ui::GridwatchUi;
use gridwatch_ui::format::short_id;

mod common;
use common::{Controls, step_until};

/// Five minutes of six meters' history in the cache; no live fleet.
fn session(dir: &std::path::Path) -> (Arc<tokio::runtime::Runtime>, Arc<Session>) {
    let rt = common::runtime();
    let engine = rt.block_on(async {
        let engine = Embedded::open(&dir.join("r.sqlite"), 2).unwrap();
        let now = gridwatch_core::time::now_us();
        let spec = FleetSpec {
            smart_meters: 6,
            interval_ms: 1_000,
            ..FleetSpec::default()
        };
        let history = RunOptions {
            pacing: Pacing::AsFastAsPossible,
            end_us: Some(now),
        };
        engine
            .start_fleet(spec, now - 300_000_000, history, |_| {})
            .await
            .unwrap();
        engine.wait_fleet().await.unwrap();
        engine
    });
    (rt, common::session(engine, dir))
}

/// A start on the History view (as the last run left it), with the
/// answers held until the first device is chosen: in that one frame the
/// Operations view asks for the device's chart history and the History
/// view charts the device's measure from the cache, both `Request::Chart`.
fn start_on_history(
    rt: &Arc<tokio::runtime::Runtime>,
    session: &Arc<Session>,
    history_range_s: i64,
    set_up: impl FnOnce(&mut GridwatchUi, &Controls),
) -> (Harness<'static, GridwatchUi>, Controls) {
    let layout = Layout {
        view: View::History,
        history_range_s,
        ..Layout::default()
    };
    let saved = Settings {
        layout,
        ..Settings::default()
    };
    rt.block_on(session.dispatch(
        &*common::test_desktop(),
        Request::SaveSettings(Box::new(saved)),
    ))
    .unwrap();
    let controls = Controls::default();
    controls.hold.store(true, Ordering::SeqCst);
    let mut h = common::harness_over(rt, session, controls.clone());
    set_up(h.state_mut(), &controls);
    h.run_steps(2);
    assert!(h.state().model.selected.is_none(), "nothing answered yet");
    // The first answers (status, settings, devices) arrive in one frame; the
    // next answers are held again, so what that frame sent is in flight.
    controls.hold.store(false, Ordering::SeqCst);
    h.step();
    controls.hold.store(true, Ordering::SeqCst);
    h.step();
    let app = h.state();
    assert_eq!(app.view, View::History);
    assert!(app.model.selected.is_some(), "the first device is chosen");
    let charts = app
        .requests_in_flight()
        .into_iter()
        .filter(|k| *k == "chart")
        .count();
    assert!(
        charts >= 2,
        "the Operations chart and the History chart in flight at once: {:?}",
        app.requests_in_flight()
    );
    controls.hold.store(false, Ordering::SeqCst);
    (h, controls)
}

#[test]
fn a_failed_history_chart_is_reported_by_the_history_view_only() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, session) = session(dir.path());
    // A custom range the UI can read but the session refuses: before 1970.
    let (mut h, _) = start_on_history(&rt, &session, 0, |app, _| {
        app.history.custom_from = "1969-12-31 00:00".into();
        app.history.custom_to = "1970-01-02 00:00".into();
    });
    step_until(&mut h, "the History view's failure", |app| {
        app.history.error.is_some() && !app.history.waiting
    });
    h.get_by_label_contains("is before 1970-01-01");
    assert!(h.state().history.result.is_none());
    // The Operations chart's answer went to Operations: its history is on
    // the chart, and nobody else reports an error.
    step_until(&mut h, "the Operations chart's history", |app| {
        app.model.series.get("watt").is_some_and(|s| s.len() > 100)
    });
    assert_eq!(h.state().operations.error, None);
    assert_eq!(h.state().last_error, None, "nothing in the status bar");
    h.get_by_label("Operations").click();
    h.run_steps(2);
    let device = h.state().model.selected.clone().unwrap();
    h.get_by_label_contains(&format!("Chart: watt of {}", short_id(&device)));
    assert!(h.query_by_label_contains("is before 1970-01-01").is_none());
    assert!(h.query_by_label_contains("could not be read").is_none());
    rt.block_on(session.shutdown()).unwrap();
}

#[test]
fn a_failed_operations_chart_is_reported_by_operations_only() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, session) = session(dir.path());
    // The backend fails the Operations chart's request (watt); the History
    // view's (voltage, the last hour) goes through.
    let (mut h, _) = start_on_history(&rt, &session, 3_600, |_, controls| {
        *controls.fail.lock().unwrap() = Some(|request| match request {
            Request::Chart(c) if c.measure == "watt" => {
                Some(common::failed("the cache is locked by another process"))
            }
            _ => None,
        });
    });
    step_until(&mut h, "the History view's chart", |app| {
        app.history.result.is_some() && !app.history.waiting
    });
    assert!(h.state().history.from_cache);
    assert_eq!(h.state().history.error, None);
    h.get_by_label_contains("columns from the local cache");
    assert!(
        h.query_by_label_contains("locked by another process")
            .is_none()
    );
    assert_eq!(h.state().last_error, None, "nothing in the status bar");
    h.get_by_label("Operations").click();
    h.run_steps(2);
    let device = h.state().model.selected.clone().unwrap();
    h.get_by_label(&format!(
        "The history of watt of {} could not be read: the cache is locked by another process",
        short_id(&device)
    ));
    rt.block_on(session.shutdown()).unwrap();
}
