//! Snapshot images of the main views, drawn by wgpu (on Mesa's software
//! Vulkan here) and compared with `tests/snapshots/*.png`. The scene is
//! fixed so the images are too: a fleet with a fixed seed over fixed past
//! times, into the cache and the lake, and the UI's clock fixed at the end
//! of that history. `UPDATE_SNAPSHOTS=1` writes new images after a change
//! to the look, for review in the diff.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::sync::Arc;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use gridwatch_session::Session;
use gridwatch_simulator::lake::{LakeOptions, LakeSink};
use gridwatch_simulator::{Embedded, Fleet, Pacing, RunOptions, run_fleet};
use gridwatch_types::FleetSpec;
use gridwatch_ui::GridwatchUi;

mod common;

/// 2026-03-02 00:00 UTC: the end of the scene's history, and the UI's "now".
const NOW_US: i64 = 1_772_409_600_000_000;

fn fixed_clock() -> i64 {
    NOW_US
}

fn spec() -> FleetSpec {
    FleetSpec {
        smart_meters: 16,
        feeders: 2,
        transformers: 2,
        interval_ms: 60_000,
        seed: 3,
        ..FleetSpec::default()
    }
}

#[test]
fn the_main_views_look_as_they_did() {
    // A fixed folder: the status bar and the Connections window show it.
    let dir = std::env::temp_dir().join("gridwatch-snapshot-scene");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let rt = common::runtime();
    let session = rt.block_on(async {
        let engine = Embedded::open(&dir.join("cache.sqlite"), 2).unwrap();
        let history = RunOptions {
            pacing: Pacing::AsFastAsPossible,
            end_us: Some(NOW_US),
        };
        // Two hours into the cache; three days into the lake.
        engine
            .start_fleet(spec(), NOW_US - 7_200_000_000, history, |_| {})
            .await
            .unwrap();
        engine.wait_fleet().await.unwrap();
        let mut lake = LakeSink::new(LakeOptions::new(dir.join("lake")));
        let mut fleet = Fleet::new(&spec(), NOW_US - 3 * 86_400_000_000);
        let (_stop, stop) = tokio::sync::watch::channel(false);
        run_fleet(&mut fleet, &mut lake, history, stop, |_| {})
            .await
            .unwrap();
        Arc::new(
            Session::new(engine, dir.join("lake")).with_settings_path(dir.join("settings.json")),
        )
    });
    let backend = common::InProcess::new(rt.clone(), session.clone());
    let mut ui = GridwatchUi::new(Box::new(backend));
    ui.clock = fixed_clock;
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .wgpu()
        .build_ui_state(|ui, app: &mut GridwatchUi| app.show(ui), ui);

    // Operations: the list, the chart with its cached history, the fleet
    // panel and heatmap, the alarms the latest readings raised.
    common::step_until(&mut h, "the scene's devices and chart", |app| {
        app.model.devices.len() == 20
            && app
                .model
                .devices
                .values()
                .all(|r| r.info.is_some() && r.latest.is_some())
            && app.model.series.get("watt").is_some_and(|s| s.len() >= 5)
            && app.model.stats.records_per_s == 0.0
    });
    settle(&mut h);
    h.snapshot("operations");

    h.get_by_label("Fleet…").click();
    settle(&mut h);
    h.snapshot("fleet_launcher");
    h.get_by_label("Fleet…").click();

    h.get_by_label("Connections…").click();
    settle(&mut h);
    h.snapshot("connections");
    h.get_by_label("Connections…").click();

    // History: the chosen device's voltage over the last hour, from the
    // cache; charted as the view opens, and again on Chart.
    h.get_by_label("History").click();
    common::step_until(&mut h, "the chosen device's history, by itself", |app| {
        app.history.result.is_some()
    });
    settle(&mut h);
    h.state_mut().history.result = None;
    h.get_by_label("1 h").click();
    h.get_by_label("Chart").click();
    common::step_until(&mut h, "the cached history", |app| {
        app.history.result.is_some()
    });
    settle(&mut h);
    h.snapshot("history");

    // Strategic: the lake's last seven days by region and day (the view
    // runs its default 30 days as it opens).
    h.get_by_label("Strategic").click();
    common::step_until(&mut h, "the default figures, by themselves", |app| {
        app.strategic.table.is_some()
    });
    settle(&mut h);
    h.state_mut().strategic.table = None;
    h.get_by_label("Last 7 days").click();
    h.get_by_label("Run").click();
    common::step_until(&mut h, "the strategic figures", |app| {
        app.strategic.table.is_some()
    });
    settle(&mut h);
    h.snapshot("strategic");
    rt.block_on(session.shutdown()).unwrap();
}

/// A few frames for layout to settle (egui sizes some widgets on the
/// frame after they first appear).
fn settle(h: &mut Harness<'static, GridwatchUi>) {
    for _ in 0..5 {
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
