//! Issue 20, "views an operator can read at a glance", by widget label over
//! the real embedded pipeline in this process: charts with values, units,
//! times and hover; freshness; the device list's keys, search and offline
//! devices; alarms that open their device; the top bar at 1280 px; the
//! Connections window at 1280×800; History that follows its pickers.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::sync::Arc;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use gridwatch_session::Session;
use gridwatch_simulator::{Embedded, Pacing, RunOptions};
use gridwatch_types::{FleetSpec, Request};
use gridwatch_ui::GridwatchUi;
use gridwatch_ui::format::short_id;

mod common;
use common::{harness, harness_with_controls, step_until};

const DEVICES: u32 = 20;

fn spec(seed: u64) -> FleetSpec {
    FleetSpec {
        smart_meters: DEVICES,
        interval_ms: 200,
        seed,
        ..FleetSpec::default()
    }
}

/// A session with five minutes of history and a live fleet running; with
/// `earlier`, a fleet of other devices wrote a minute of readings before.
fn engine(dir: &std::path::Path, earlier: bool) -> (Arc<tokio::runtime::Runtime>, Arc<Session>) {
    let rt = common::runtime();
    let engine = rt.block_on(async {
        let engine = Embedded::open(&dir.join("ui.sqlite"), 2).unwrap();
        let now = gridwatch_core::time::now_us();
        let cache = dir.join("ui.sqlite");
        if earlier {
            let old = FleetSpec {
                smart_meters: 5,
                ..spec(99)
            };
            common::fill_history(&engine, &cache, old, now - 360_000_000, now - 300_000_000).await;
        }
        common::fill_history(&engine, &cache, spec(1), now - 300_000_000, now).await;
        let live = RunOptions {
            pacing: Pacing::RealTime,
            end_us: None,
        };
        engine
            .start_fleet(spec(1), now, live, |_| {})
            .await
            .unwrap();
        engine
    });
    (rt, common::session(engine, dir))
}

fn ready(h: &mut Harness<'static, GridwatchUi>, devices: usize) {
    step_until(h, "the device list and a chart with history", |app| {
        app.model.devices.len() == devices
            && app.model.devices.values().all(|r| r.info.is_some())
            && app.model.series.get("watt").is_some_and(|s| s.len() > 100)
            && app.operations.shown.len() == app.operations.charted.len()
    });
}

/// The label of the chart of `measure`: what its axes say.
fn axes(h: &Harness<'static, GridwatchUi>, measure: &str) -> String {
    h.get_by_label_contains(&format!("{measure} chart. Values: "))
        .accesskit_node()
        .label()
        .unwrap_or_default()
}

/// The value ticks of an axes label.
fn value_ticks(axes: &str) -> Vec<String> {
    let values = axes
        .split("Values: ")
        .nth(1)
        .unwrap()
        .split(". Times")
        .next()
        .unwrap();
    values.split(", ").map(String::from).collect()
}

#[test]
fn charts_label_their_values_units_and_times_and_say_the_nearest_reading() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, session) = engine(dir.path(), false);
    let mut h = harness(&rt, &session);
    ready(&mut h, DEVICES as usize);

    // Three labelled ticks or more, in the measure's (scaled) unit.
    let watt = axes(&h, "watt");
    let ticks = value_ticks(&watt);
    assert!(ticks.len() >= 3, "{watt}");
    for t in &ticks {
        let (number, unit) = t
            .split_once(' ')
            .unwrap_or_else(|| panic!("{t} has a unit"));
        assert!(["W", "kW", "MW"].contains(&unit), "{t}");
        let digits = number.chars().filter(char::is_ascii_digit).count();
        assert!(digits <= 4, "{t}: four significant digits at most");
    }
    // Calendar time ticks on the operator's clock, the date at the first.
    assert!(watt.contains("Times (UTC): "), "{watt}");
    let times = watt.split("Times (UTC): ").nth(1).unwrap();
    let first = times.split(", ").next().unwrap();
    assert!(
        first.len() >= "00:00 Jan 1".len(),
        "the date at the first tick: {first}"
    );
    // The fleet's power in the same units, scaled. Its chart asks for its
    // own series, which may come a few frames after the device's on a
    // loaded machine: waited for, with a hang guard, as the other waits.
    common::step_until_drawn(&mut h, "the fleet chart's value ticks", |h| {
        value_ticks(&axes(h, "fleet power")).len() >= 3
    });
    let fleet = axes(&h, "fleet power");
    assert!(value_ticks(&fleet).len() >= 3, "{fleet}");

    // Hovering says the nearest reading's value and time: the reading the
    // chart holds nearest the pointer (within a pixel column or two: the
    // chart draws each column's extremes).
    h.state_mut().operations.follow_live = false;
    h.run_steps(2);
    let chart = h.get_by_label_contains("watt chart. Values: ").rect();
    h.hover_at(chart.center());
    h.run_steps(2);
    let label = axes(&h, "watt");
    let hovered = label
        .split(". Pointer at ")
        .nth(1)
        .unwrap_or_else(|| panic!("the reading under the pointer is said: {label}"));
    let (said_value, said_time) = hovered.rsplit_once(", ").unwrap();
    let shown = h.state().operations.shown[0].clone();
    let mid = (shown.x.0 + shown.x.1) / 2.0;
    let pixel = (shown.x.1 - shown.x.0) / f64::from(chart.width());
    let readings = &h.state().model.series["watt"].points;
    let closest = readings
        .iter()
        .map(|p| (p[0] - mid).abs())
        .fold(f64::INFINITY, f64::min);
    let near: Vec<&[f64; 2]> = readings
        .iter()
        .filter(|p| (p[0] - mid).abs() <= closest + 3.0 * pixel + 1.0)
        .collect();
    assert!(
        near.iter().any(|p| {
            format!("watt: {}", gridwatch_ui::format::value(p[1], "W")) == said_value
                && gridwatch_ui::format::moment(p[0], gridwatch_ui::format::Clock::Utc) == said_time
        }),
        "{hovered:?} is none of the readings near the pointer: {near:?}"
    );

    // A second chart under the first: the same time range, aligned.
    h.get_by_label("voltage").click();
    step_until(&mut h, "the voltage chart", |app| {
        app.operations.shown.len() == 2
    });
    h.run_steps(3);
    let volts = axes(&h, "voltage");
    assert!(
        value_ticks(&volts).iter().all(|t| t.ends_with(" V")),
        "{volts}"
    );
    let (a, b) = (
        h.get_by_label_contains("watt chart. Values: ").rect(),
        h.get_by_label_contains("voltage chart. Values: ").rect(),
    );
    assert!(
        (a.left() - b.left()).abs() < 0.5 && (a.right() - b.right()).abs() < 0.5,
        "{a:?} {b:?}"
    );
    let shown = h.state().operations.shown.clone();
    assert_eq!(shown[0].x, shown[1].x, "one time axis");

    // Zoom is along time only; the values still fit what is in view.
    let before = shown[0].x;
    h.hover_at(a.center());
    h.event(egui::Event::Zoom(2.0));
    h.run_steps(3);
    let zoomed = h.state().operations.shown.clone();
    let width = |x: (f64, f64)| x.1 - x.0;
    assert!(
        width(zoomed[0].x) < width(before) * 0.9,
        "{before:?} -> {:?}",
        zoomed[0].x
    );
    assert_eq!(zoomed[0].x, zoomed[1].x, "the link holds through a zoom");
    assert!(value_ticks(&axes(&h, "watt")).len() >= 3);

    // (A double-click fits both charts again, together: chart::Shown::reset
    // sets the stack's fit. Not driven here: two kittest clicks a frame
    // apart did not make egui_plot report a double-click.)

    // No axis before the first reading: a meter has no oil temperature.
    h.state_mut()
        .operations
        .charted
        .push("oil_temperature".into());
    h.run_steps(3);
    h.get_by_label("No readings of oil_temperature yet");
    assert!(
        h.query_by_label_contains("oil_temperature chart. Values")
            .is_none()
    );
    rt.block_on(session.shutdown()).unwrap();
}

#[test]
fn freshness_shows_on_charts_rows_and_the_top_bar_and_the_clock_is_a_saved_choice() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, session) = engine(dir.path(), false);
    let mut h = harness(&rt, &session);
    ready(&mut h, DEVICES as usize);
    step_until(&mut h, "the settings", |app| app.saved_settings.is_some());
    h.run_steps(3);
    // Labelled rates and the lag, in the top bar.
    h.get_by_label_contains("readings/s");
    h.get_by_label_contains("lag ");
    h.get_by_label_contains("last reading ");
    let selected = h.state().model.selected.clone().unwrap();
    let row = h
        .get_by_label_contains(&format!("{}  ", short_id(&selected)))
        .accesskit_node()
        .label()
        .unwrap();
    assert!(
        row.trim_end_matches("  stale").ends_with(" s"),
        "the row says its reading's age: {row}"
    );

    // UTC or local, in the top bar, saved with the layout.
    h.get_by_label("Times: UTC").click();
    h.run_steps(2);
    h.get_by_label("Times: local");
    assert!(h.state().settings().layout.local_time);
    assert!(axes(&h, "watt").contains("Times (local): "));

    // Stopped: the charts and rows go stale past three intervals.
    h.get_by_label("Stop fleet").click();
    step_until(&mut h, "a stale chart", |app| {
        !app.model.fleet_running()
            && app
                .model
                .series
                .get("watt")
                .and_then(|s| s.points.back())
                .is_some_and(|p| gridwatch_core::time::now_us() as f64 / 1e6 - p[0] > 3.5)
    });
    // A stopped fleet has no interval of its own: stale past three of the
    // default second.
    h.run_steps(2);
    h.get_by_label_contains("STALE: last reading ");
    rt.block_on(session.shutdown()).unwrap();
}

#[test]
fn the_device_list_moves_by_keys_searches_says_when_nothing_matches_and_hides_offline() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, session) = engine(dir.path(), true);
    let mut h = harness(&rt, &session);
    let all = DEVICES as usize + 5;
    ready(&mut h, all);
    h.run_steps(2);
    h.get_by_label(&format!("Devices ({all})"));

    // The arrow keys move through the list.
    let list: Vec<String> = h.state().model.devices.keys().cloned().collect();
    let at = |h: &Harness<'static, GridwatchUi>| {
        let s = h.state().model.selected.clone().unwrap();
        list.iter().position(|d| *d == s).unwrap()
    };
    let start = at(&h);
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(2);
    assert_eq!(at(&h), start + 1);
    h.key_press(egui::Key::ArrowUp);
    h.run_steps(2);
    assert_eq!(at(&h), start);

    // `/` goes to the search; a search with no hits says so, and the count
    // follows the filter.
    h.event(egui::Event::Key {
        key: egui::Key::Slash,
        physical_key: None,
        pressed: true,
        repeat: false,
        modifiers: egui::Modifiers::NONE,
    });
    h.event(egui::Event::Text("/".into()));
    h.run_steps(2);
    assert!(
        h.get_by_role_and_label(Role::TextInput, "Search devices")
            .is_focused()
    );
    h.get_by_role_and_label(Role::TextInput, "Search devices")
        .type_text("zzz");
    h.run_steps(2);
    assert_eq!(h.state().operations.filter, "zzz", "the slash is not typed");
    h.get_by_label("No device matches \"zzz\".");
    h.get_by_label(&format!("Devices (0 of {all})"));

    // The earlier fleet's devices are offline; they can be hidden.
    h.state_mut().operations.filter.clear();
    h.run_steps(2);
    h.get_by_label("Hide offline devices").click();
    h.run_steps(2);
    h.get_by_label(&format!("Devices ({DEVICES} of {all})"));
    assert!(
        h.state().settings().layout.hide_offline,
        "saved with the layout"
    );
    rt.block_on(session.shutdown()).unwrap();
}

#[test]
fn clicking_an_alarm_opens_its_device_at_the_alarms_time() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, session) = engine(dir.path(), false);
    let mut h = harness(&rt, &session);
    ready(&mut h, DEVICES as usize);
    // Every reading off 230 V by more than a hair raises an alarm.
    h.state_mut().model.alarms.rules.voltage_tolerance_pct = 0.001;
    let selected = h.state().model.selected.clone().unwrap();
    step_until(&mut h, "an alarm on another device", |app| {
        app.model
            .alarms
            .list
            .iter()
            .any(|a| a.device_id != selected)
    });
    // No new alarms while the operator reaches for one: the list holds still.
    let rules = &mut h.state_mut().model.alarms.rules;
    rules.voltage_tolerance_pct = 100.0;
    rules.rapid_change_factor = 1e9;
    rules.stale_intervals = 10_000;
    rules.limits.clear();
    h.run_steps(3);
    let alarm = h
        .state()
        .model
        .alarms
        .list
        .iter()
        .rev()
        .find(|a| a.device_id != selected && !a.acknowledged)
        .cloned()
        .unwrap();
    h.get_all_by_label(short_id(&alarm.device_id))
        .next()
        .unwrap()
        .click();
    step_until(&mut h, "the alarm's device", |app| {
        app.model.selected.as_deref() == Some(alarm.device_id.as_str())
            && !app.operations.shown.is_empty()
    });
    h.run_steps(3);
    let ops = &h.state().operations;
    assert!(!ops.follow_live, "the charts stay at the alarm's time");
    let t = alarm.raised_us as f64 / 1e6;
    let (lo, hi) = ops.shown[0].x;
    assert!(lo < t && t < hi, "{lo} < {t} < {hi}");
    rt.block_on(session.shutdown()).unwrap();
}

#[test]
fn the_top_bar_fits_1280_px_with_its_alarm_count_and_a_failed_estimate_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, session) = engine(dir.path(), false);
    let (mut h, controls) = harness_with_controls(&rt, &session);
    *controls.fail.lock().unwrap() = Some(|request| match request {
        Request::EstimateCost(_) => Some(common::failed("the price list is out of reach")),
        _ => None,
    });
    ready(&mut h, DEVICES as usize);
    h.run_steps(3);
    for label in ["Alarms: ", "Stop fleet", "quarantined"] {
        let r = h.get_by_label_contains(label).rect();
        assert!(r.right() <= 1280.0 && r.left() >= 0.0, "{label} at {r:?}");
    }
    assert!(
        h.query_by_label_contains("estimating").is_none(),
        "never stuck"
    );
    rt.block_on(session.shutdown()).unwrap();
}

#[test]
fn connections_fit_1280_by_800_and_a_failed_test_is_one_line_with_details() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, session) = engine(dir.path(), false);
    let mut h = harness(&rt, &session);
    ready(&mut h, DEVICES as usize);
    h.get_by_label("Connections…").click();
    h.run_steps(3);
    let window = h.get_by_role_and_label(Role::Window, "Connections").rect();
    assert!(
        window.bottom() <= 800.0 && window.right() <= 1280.0,
        "{window:?}"
    );
    // What lies below the fold is there, in reach by scrolling.
    h.get_by_label("Apply retention").scroll_to_me();
    h.run_steps(3);
    let retention = h.get_by_label("Apply retention").rect();
    assert!(retention.bottom() <= 800.0, "{retention:?}");

    // No AWS here: the Test says so in one line, the raw error under Details.
    h.get_by_label("Test Kinesis").scroll_to_me();
    h.run_steps(2);
    common::type_into(&mut h, "Stream", "telemetry");
    h.get_by_label("Test Kinesis").click();
    step_until(&mut h, "the test's result", |app| {
        app.connections.results.contains_key("Kinesis")
    });
    h.run_steps(3);
    let e = h.state().connections.results["Kinesis"]
        .clone()
        .unwrap_err();
    let line = gridwatch_ui::format::failure(&e);
    eprintln!("Test Kinesis: {line}\n  raw: {}", e.message);
    assert!(line.chars().count() <= 120, "{line}");
    assert!(
        !line.contains('{') && !line.contains("DispatchFailure"),
        "{line}"
    );
    h.get_by_label(&line);
    h.get_by_label("Details");
    rt.block_on(session.shutdown()).unwrap();
}

#[test]
fn history_follows_its_presets_device_and_measure_and_spans_the_whole_preset() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, session) = engine(dir.path(), false);
    let mut h = harness(&rt, &session);
    ready(&mut h, DEVICES as usize);
    h.get_by_label("History").click();
    step_until(&mut h, "the first chart", |app| {
        app.history.result.is_some() && !app.history.waiting && app.history.shown.is_some()
    });
    // A preset asks again by itself, and the axis spans all of it.
    h.get_by_label("5 min").click();
    step_until(&mut h, "the five minutes", |app| {
        app.history.asked.as_ref().is_some_and(|a| a.range_s == 300) && !app.history.waiting
    });
    h.run_steps(3);
    let (lo, hi) = h.state().history.shown.as_ref().unwrap().x;
    assert!(
        (hi - lo - 300.0).abs() < 1.0,
        "the whole five minutes: {}",
        hi - lo
    );

    // The measure is picked from the device's measures, and asks again.
    h.get_by_label("Measure").click();
    h.run_steps(2);
    h.get_by_label("watt").click();
    step_until(&mut h, "the watt chart", |app| {
        app.history
            .asked
            .as_ref()
            .is_some_and(|a| a.measure == "watt")
            && !app.history.waiting
    });
    h.get_by_label_contains("watt chart. Values: ");

    // The device is picked here too.
    let other = h
        .state()
        .model
        .devices
        .keys()
        .find(|d| Some(*d) != h.state().model.selected.as_ref())
        .unwrap()
        .clone();
    h.get_by_label("Device").click();
    h.run_steps(2);
    h.get_by_label(short_id(&other)).click();
    step_until(&mut h, "the other device's chart", |app| {
        app.history
            .asked
            .as_ref()
            .is_some_and(|a| a.device.as_deref() == Some(other.as_str()))
            && !app.history.waiting
    });
    assert!(h.state().history.result.is_some());
    rt.block_on(session.shutdown()).unwrap();
}
