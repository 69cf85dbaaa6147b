//! Soak at 10,000 devices, in-process: the whole UI over the real embedded
//! pipeline (fleet -> bus -> ingest -> cache -> live view) for half a
//! minute of real time. The lag behind the clock is printed, not asserted
//! (no timing assertions); what is asserted is that no "gone quiet" alarm
//! came from the pipeline's own backlog: every device of this fleet
//! reports every interval, so any such alarm would be the backlog's.
//! (The Xvfb soak in tests/tests/soak.rs drives the packaged app; this one
//! sees the alarms themselves, which the app's health file does not carry.)
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::time::{Duration, Instant};

use gridwatch_simulator::{Embedded, Pacing, RunOptions};
use gridwatch_types::FleetSpec;
use gridwatch_ui::alarms::AlarmKind;

mod common;

#[test]
fn ten_thousand_devices_raise_no_gone_quiet_alarm_from_the_backlog() {
    let dir = tempfile::tempdir().unwrap();
    let rt = common::runtime();
    let spec = FleetSpec {
        smart_meters: 10_000,
        interval_ms: 1_000,
        ..FleetSpec::default()
    };
    let engine = rt.block_on(async {
        let engine = Embedded::open(&dir.path().join("soak.sqlite"), 2).unwrap();
        let live = RunOptions {
            pacing: Pacing::RealTime,
            end_us: None,
        };
        let now = gridwatch_core::time::now_us();
        engine.start_fleet(spec, now, live, |_| {}).await.unwrap();
        engine
    });
    let session = common::session(engine, dir.path());
    let mut h = common::harness(&rt, &session);
    common::step_until(&mut h, "readings from the fleet", |app| {
        app.model.devices.len() > 1_000
    });
    let start = Instant::now();
    let (mut worst_lag, mut frames) = (0.0f64, 0u64);
    while start.elapsed() < Duration::from_secs(30) {
        h.step();
        frames += 1;
        let app = h.state();
        if let Some(lag) = app.model.lag_s(gridwatch_core::time::now_us()) {
            worst_lag = worst_lag.max(lag);
        }
    }
    let app = h.state();
    let quiet: Vec<_> = app
        .model
        .alarms
        .list
        .iter()
        .filter(|a| a.kind == AlarmKind::Stale)
        .map(|a| format!("{}: {}", a.device_id, a.message))
        .take(5)
        .collect();
    eprintln!(
        "soak (in-process UI): {} devices listed, {} readings, lag now {:.1} s, worst {worst_lag:.1} s, \
         {frames} frames, {} gone-quiet alarms",
        app.model.devices.len(),
        app.model.stats.readings_ingested,
        app.model
            .lag_s(gridwatch_core::time::now_us())
            .unwrap_or(0.0),
        quiet.len()
    );
    assert!(app.model.devices.len() >= 9_000, "the fleet is listed");
    assert!(quiet.is_empty(), "gone quiet from the backlog: {quiet:?}");
    rt.block_on(session.shutdown()).unwrap();
}
