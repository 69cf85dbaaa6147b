//! The UI driven by egui_kittest, by widget label, over the real embedded
//! pipeline running in this process (fleet -> bus -> ingest -> cache).
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::sync::Arc;

use egui::accesskit::Role;
use egui_kittest::kittest::{NodeT, Queryable};
use gridwatch_session::Session;
use gridwatch_simulator::{Embedded, Pacing, RunOptions};
use gridwatch_types::FleetSpec;
use gridwatch_ui::format::short_id;

mod common;
use common::{harness, step_until};

const DEVICES: u32 = 20;

fn spec() -> FleetSpec {
    FleetSpec {
        smart_meters: DEVICES,
        interval_ms: 200,
        // Each meter on a feeder of its own, the feeders over five
        // substations: the fleet spans every region, as these tests search
        // and group by region.
        topology: gridwatch_types::Topology {
            substations: 5,
            meters_per_transformer: 1,
            transformers_per_feeder: 1,
        },
        ..FleetSpec::default()
    }
}

/// A session with five minutes of history and a live fleet running.
fn engine(dir: &std::path::Path) -> (Arc<tokio::runtime::Runtime>, Arc<Session>) {
    let rt = common::runtime();
    let engine = rt.block_on(async {
        let engine = Embedded::open(&dir.join("ui.sqlite"), 2).unwrap();
        let now = gridwatch_core::time::now_us();
        let cache = dir.join("ui.sqlite");
        common::fill_history(&engine, &cache, spec(), now - 300_000_000, now).await;
        let live = RunOptions {
            pacing: Pacing::RealTime,
            end_us: None,
        };
        engine.start_fleet(spec(), now, live, |_| {}).await.unwrap();
        engine
    });
    (rt, common::session(engine, dir))
}

#[test]
fn device_list_and_chart_show_the_pipelines_data() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, engine) = engine(dir.path());
    let mut h = harness(&rt, &engine);

    step_until(&mut h, "the device list and a chart with history", |app| {
        app.model.devices.len() == DEVICES as usize
            && app.model.series.get("watt").is_some_and(|s| s.len() > 100)
    });
    h.get_by_label(&format!("Devices ({DEVICES})"));
    h.get_by_label("Stop fleet");
    // What this fleet would cost through the AWS pipeline, live.
    step_until(&mut h, "the cost estimate", |app| app.cost.is_some());
    h.get_by_label_contains("/month on AWS");
    let first = h
        .state()
        .model
        .selected
        .clone()
        .expect("the first device is chosen");
    h.get_by_label_contains(&format!("Chart: watt of {}", short_id(&first)));

    // Live readings keep arriving on the chart and the fleet total.
    let before = h.state().model.series["watt"].len();
    step_until(&mut h, "live points", |app| {
        app.model.series["watt"].len() > before && app.model.fleet.len() > 2
    });
    assert!(h.state().model.last_fleet.unwrap().devices_reporting == DEVICES);

    // Choosing another device in the list charts that device.
    let other = h
        .state()
        .model
        .devices
        .keys()
        .find(|d| **d != first)
        .unwrap()
        .clone();
    // A device row reads "<id>  <region>  <power>"; alarms name devices too.
    h.get_by_label_contains(&format!("{}  ", short_id(&other)))
        .click();
    step_until(&mut h, "the other device's chart", |app| {
        app.model.selected.as_ref() == Some(&other)
            && app.model.series.get("watt").is_some_and(|s| s.len() > 100)
    });
    h.get_by_label_contains(&format!("Chart: watt of {}", short_id(&other)));

    // The chart exports what it shows (live points keep arriving meanwhile).
    let shown = h.state().model.series["watt"].len();
    // The device chart's button comes first; the fleet chart has its own.
    h.get_all_by_label("Export CSV…").next().unwrap().click();
    step_until(&mut h, "the chart's export", |app| {
        app.operations.saved.is_some()
    });
    // Saved under the name the app suggested to the save dialog.
    let path = std::path::PathBuf::from(h.state().operations.saved.clone().unwrap());
    assert!(
        path.ends_with(format!("gridwatch-{}-watt.csv", short_id(&other))),
        "{}",
        path.display()
    );
    let csv = std::fs::read_to_string(&path).unwrap();
    assert!(csv.starts_with("time,watt\n"));
    let exported = csv.lines().count() - 1;
    let now = h.state().model.series["watt"].len();
    assert!(
        (shown..=now).contains(&exported),
        "{shown} <= {exported} <= {now}"
    );

    // Another measure of the same device.
    h.get_by_label("voltage").click();
    step_until(&mut h, "the voltage chart", |app| {
        app.operations.measure == "voltage"
            && app
                .model
                .series
                .get("voltage")
                .is_some_and(|s| s.len() > 100)
    });
    let volts = h.state().model.series["voltage"].to_vec();
    assert!(
        volts.iter().all(|p| (150.0..300.0).contains(&p[1])),
        "voltage near 230 V"
    );
    // A grid of charts: voltage came under watt, each with its own label.
    h.get_by_label_contains(&format!("Chart: watt of {}", short_id(&other)));
    h.get_by_label_contains(&format!("Chart: voltage of {}", short_id(&other)));
    assert_eq!(h.state().operations.charted, ["watt", "voltage"]);
    // And goes again; the last chart always stays.
    h.get_by_label("voltage").click();
    h.run_steps(2);
    h.get_by_label("watt").click();
    h.run_steps(2);
    assert_eq!(h.state().operations.charted, ["watt"]);
    assert!(
        h.query_by_label_contains("Chart: voltage of").is_none(),
        "the voltage chart is gone"
    );
}

#[test]
fn search_filters_the_list_and_the_fleet_stops_and_starts() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, engine) = engine(dir.path());
    let mut h = harness(&rt, &engine);
    step_until(&mut h, "the device list", |app| {
        app.model.devices.len() == DEVICES as usize
            && app.model.devices.values().all(|r| r.info.is_some())
    });

    // The selected device is named on the chart too; look at the others.
    let selected = h.state().model.selected.clone();
    let (north, elsewhere): (Vec<_>, Vec<_>) = h
        .state()
        .model
        .devices
        .iter()
        .filter(|(id, _)| Some(*id) != selected.as_ref())
        .map(|(id, row)| (id.clone(), row.dimension("Region") == Some("north")))
        .partition(|(_, n)| *n);
    assert!(
        !north.is_empty() && !elsewhere.is_empty(),
        "the fleet spans regions"
    );
    h.get_by_label("Search devices").focus();
    h.step();
    h.get_by_label("Search devices").type_text("north");
    h.step();
    h.step();
    assert_eq!(h.state().operations.filter, "north");
    assert!(
        h.query_by_label_contains(&format!("{}  ", short_id(&north[0].0)))
            .is_some()
    );
    assert!(
        h.query_by_label_contains(&format!("{}  ", short_id(&elsewhere[0].0)))
            .is_none()
    );

    // The dimension pickers narrow the list the same way.
    h.get_by_role_and_label(Role::TextInput, "Search devices")
        .focus();
    h.state_mut().operations.filter.clear();
    h.state_mut()
        .operations
        .dimension_filter
        .insert("Region".into(), "north".into());
    h.run_steps(2);
    assert!(
        h.query_by_label_contains(&format!("{}  ", short_id(&north[0].0)))
            .is_some()
    );
    assert!(
        h.query_by_label_contains(&format!("{}  ", short_id(&elsewhere[0].0)))
            .is_none()
    );
    h.get_by_label("Region");
    h.get_by_label("Follow live");
    // The fleet panel summarises each measure across the devices.
    h.get_by_label("Fleet panel");
    h.get_by_label("voltage (V)");
    let stats = h.state().model.fleet_stats();
    let volts = stats.iter().find(|m| m.measure == "voltage").unwrap();
    assert_eq!(volts.devices, DEVICES as usize);
    // Percentiles in order. (Not the mean below p90: an anomaly of the
    // seed's 5.1% chance far off 230 V can pull it past, as it did once.)
    assert!(
        volts.p90 <= volts.p95 && volts.p95 <= volts.p99,
        "{volts:?}"
    );
    assert!(volts.avg.is_finite() && volts.avg > 0.0, "{volts:?}");
    // Every device online: on a loaded machine a reading can come late, so
    // give the fleet a moment (a hang guard, not a timing claim).
    let heatmap = "Heatmap: watt of 20 online devices (of 20)";
    for _ in 0..400 {
        if h.query_by_label_contains(heatmap).is_some() {
            break;
        }
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    h.get_by_label_contains(heatmap);
    let devices: Vec<String> = h.state().model.devices.keys().cloned().collect();
    let grid = h.state().model.heatmap(&devices, "watt", 150_000_000, 30);
    assert!(
        grid.iter().all(|row| row.iter().any(Option::is_some)),
        "every device has cells"
    );

    h.get_by_label("Stop fleet").click();
    step_until(&mut h, "the fleet to stop", |app| {
        app.model
            .status
            .as_ref()
            .is_some_and(|s| s.running.is_none())
    });
    h.get_by_label("Fleet stopped");

    // The launcher: a fleet of meters and transformers into the lake folder.
    h.get_by_label("Fleet…").click();
    h.run_steps(2);
    h.state_mut().launcher.spec.smart_meters = 6;
    h.state_mut().launcher.spec.transformers = 2;
    h.state_mut().launcher.spec.interval_ms = 250;
    h.run_steps(2);
    h.get_by_label("8 devices: 32 readings/s");
    step_until(&mut h, "the launcher's cost estimate", |app| {
        app.cost
            .as_ref()
            .is_some_and(|(spec, _)| spec == &app.launcher.spec)
    });
    h.get_by_label_contains("On AWS: ≈ $");
    h.get_by_label("Lake folder").click();
    h.run_steps(2);
    h.get_by_label("Launch fleet").click();
    step_until(&mut h, "the fleet producing into the lake", |app| {
        app.model
            .status
            .as_ref()
            .and_then(|s| s.production.as_ref())
            .is_some_and(|p| p.sink == "the lake" && p.records > 0)
    });
    h.get_by_label_contains("Fleet: 8 devices every 250 ms");
    h.get_by_label_contains("records/s into the lake");
    h.get_by_label("Stop running fleet").click();
    step_until(&mut h, "the lake fleet to stop", |app| {
        app.model
            .status
            .as_ref()
            .is_some_and(|s| s.running.is_none())
    });
    // Stopping flushes the open extract: the readings are in the lake.
    let extracts: Vec<_> = walk(&dir.path().join("lake/readings/json"));
    assert_eq!(extracts.len(), 1, "{extracts:?}");
    let text = std::fs::read_to_string(&extracts[0]).unwrap();
    assert!(text.lines().count() >= 8, "{text}");
    assert!(text.contains("transformer"), "{text}");
    rt.block_on(engine.shutdown()).unwrap();
}

#[test]
fn the_strategic_view_fills_an_empty_lake_with_progress_and_cancel_then_shows_figures() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, session) = engine(dir.path());
    let mut h = harness(&rt, &session);
    step_until(&mut h, "the first status", |app| app.model.status.is_some());
    h.get_by_label("Strategic").click();
    h.run_steps(2);
    h.get_by_label("Run").click();
    step_until(&mut h, "the empty-lake offer", |app| {
        app.strategic.lake_empty
    });
    h.get_by_label("Write 30 days of simulated history").click();
    step_until(&mut h, "the job to show progress", |app| {
        app.strategic.job.as_ref().is_some_and(|j| j.running)
    });
    h.get_by_label("Cancel").click();
    step_until(&mut h, "the job to stop", |app| {
        app.strategic.job.as_ref().is_some_and(|j| !j.running)
    });
    let error = h
        .state()
        .strategic
        .job
        .as_ref()
        .unwrap()
        .error
        .clone()
        .unwrap();
    assert!(error.starts_with("cancelled"), "{error}");
    assert!(
        !dir.path().join("lake/readings/json").exists()
            || count_files(&dir.path().join("lake/readings/json")) == 0,
        "a cancelled fill leaves no files"
    );
    h.step();

    // Again, to the end: the figures appear by themselves when it is done.
    h.get_by_label("Write 30 days of simulated history").click();
    let start = std::time::Instant::now();
    while h.state().strategic.table.is_none() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(240),
            "no figures"
        );
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let table = h.state().strategic.table.clone().unwrap();
    // Each device type is its own group (issue 15).
    assert_eq!(
        table.columns[..3],
        [
            "Region".to_string(),
            "DeviceType".to_string(),
            "day".to_string()
        ]
    );
    // A row per day at least (regions follow the network's substations).
    assert!(table.rows.len() >= 30, "{} rows", table.rows.len());
    h.run_steps(2);
    h.get_by_label("energy_kwh");
    h.get_by_label("peak_demand_w");
    rt.block_on(session.shutdown()).unwrap();
}

fn count_files(root: &std::path::Path) -> usize {
    let mut n = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn strategic_tables_export_to_csv_and_parquet_and_reports_save() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, session) = engine(dir.path());
    // History in the lake to report on: the last three days, quickly.
    rt.block_on(async {
        let mut sink = gridwatch_simulator::lake::LakeSink::new(
            gridwatch_simulator::lake::LakeOptions::new(dir.path().join("lake")),
        );
        let now = gridwatch_core::time::now_us();
        let mut fleet = gridwatch_simulator::Fleet::new(
            &FleetSpec {
                smart_meters: 30,
                interval_ms: 15 * 60 * 1000,
                ..FleetSpec::default()
            },
            now - 3 * 86_400_000_000,
        );
        let (_tx, stop) = tokio::sync::watch::channel(false);
        gridwatch_simulator::run_fleet(
            &mut fleet,
            &mut sink,
            RunOptions {
                pacing: Pacing::AsFastAsPossible,
                end_us: Some(now),
            },
            stop,
            |_| {},
        )
        .await
        .unwrap();
    });
    let mut h = harness(&rt, &session);
    step_until(&mut h, "the first status", |app| app.model.status.is_some());
    h.get_by_label("Strategic").click();
    h.run_steps(2);
    h.get_by_label("Run").click();
    step_until(&mut h, "the figures", |app| app.strategic.table.is_some());
    let rows = h.state().strategic.table.as_ref().unwrap().rows.len();
    for (button, file) in [
        ("Export CSV…", "gridwatch-region---day.csv"),
        ("Export Parquet…", "gridwatch-region---day.parquet"),
        ("Save report (HTML)…", "gridwatch-report.html"),
    ] {
        h.state_mut().strategic.saved = None;
        h.get_by_label(button).click();
        step_until(&mut h, button, |app| app.strategic.saved.is_some());
        let path = std::path::PathBuf::from(h.state().strategic.saved.clone().unwrap());
        assert!(path.ends_with(file), "{}", path.display());
        assert!(std::fs::metadata(&path).unwrap().len() > 0);
    }
    let csv =
        std::fs::read_to_string(common::export_dir().join("gridwatch-region---day.csv")).unwrap();
    assert_eq!(csv.lines().count(), rows + 1, "a header and every row");
    // For people, as the CLI's CSV: energy in one unit, named in the header.
    let header = csv.lines().next().unwrap();
    assert!(
        header.starts_with("Region,DeviceType,day,records,energy (") && header.contains("Wh),"),
        "{header}"
    );
    let html = std::fs::read_to_string(common::export_dir().join("gridwatch-report.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), 3);
    rt.block_on(session.shutdown()).unwrap();
}

#[test]
fn alarms_are_raised_listed_and_acknowledged_and_the_theme_switches() {
    let dir = tempfile::tempdir().unwrap();
    let rt = common::runtime();
    let session = rt.block_on(async {
        let engine = Embedded::open(&dir.path().join("a.sqlite"), 2).unwrap();
        // A fleet whose readings are anomalous half the time.
        let spec = FleetSpec {
            smart_meters: 10,
            interval_ms: 100,
            anomaly_rate: 0.5,
            ..FleetSpec::default()
        };
        let live = RunOptions {
            pacing: Pacing::RealTime,
            end_us: None,
        };
        engine
            .start_fleet(spec, gridwatch_core::time::now_us(), live, |_| {})
            .await
            .unwrap();
        common::session(engine, dir.path())
    });
    let mut h = harness(&rt, &session);
    step_until(&mut h, "alarms", |app| {
        app.model.alarms.unacknowledged() >= 3
    });
    h.get_by_label_contains("unacknowledged)");
    h.get_by_label_contains("Alarms: ");
    let messages: Vec<String> = h
        .state()
        .model
        .alarms
        .list
        .iter()
        .map(|a| a.message.clone())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("outside 230 V ±10%") || m.contains("power went from")),
        "{messages:?}"
    );
    h.get_by_label("Acknowledge all").click();
    h.run_steps(2);
    assert!(
        h.state()
            .model
            .alarms
            .list
            .iter()
            .take(3)
            .all(|a| a.acknowledged)
    );

    assert!(h.state().dark);
    h.get_by_label("Light").click();
    h.run_steps(2);
    assert!(!h.state().dark);
    h.get_by_label("Dark");
    rt.block_on(session.shutdown()).unwrap();
}

/// Every file under `dir`, at any depth.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn the_layout_comes_back_after_a_restart_and_alarms_reach_the_desktop_grouped() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, session) = engine(dir.path());
    let settings = dir.path().join("config/settings.json");
    let (mut h, controls) = common::harness_with_controls(&rt, &session);
    let notifications = &controls.desktop.notifications;
    step_until(&mut h, "the device list", |app| {
        app.model.devices.len() == DEVICES as usize && app.saved_settings.is_some()
    });
    // The operator arranges the screen: another device, a second chart, the
    // light theme.
    let other = h.state().model.devices.keys().nth(3).unwrap().clone();
    h.get_by_label_contains(&format!("{}  ", short_id(&other)))
        .click();
    step_until(&mut h, "the other device", |app| {
        app.model.selected.as_ref() == Some(&other)
    });
    h.get_by_label("voltage").click();
    h.run_steps(2);
    h.get_by_label("Light").click();
    step_until(&mut h, "the layout saved", |_| {
        std::fs::read_to_string(&settings).is_ok_and(|t| t.contains("\"voltage\""))
            && std::fs::read_to_string(&settings).is_ok_and(|t| t.contains(&other))
    });
    let text = std::fs::read_to_string(&settings).unwrap();
    for secret in ["secret", "access_key", "session_token", "password"] {
        assert!(!text.to_lowercase().contains(secret), "{secret} in {text}");
    }

    // The fleet's anomalies raise alarms; the desktop hears of them once,
    // summed up, not once per alarm.
    step_until(&mut h, "a desktop notification", |app| {
        app.model.alarms.list.len() >= 2 && !notifications.lock().unwrap().is_empty()
    });
    let first = notifications.lock().unwrap()[0].clone();
    assert!(first.title.starts_with("Gridwatch: "), "{first:?}");
    assert!(
        ["voltage out of range", "rapid power change", "stale device"]
            .iter()
            .any(|k| first.body.contains(k)),
        "{first:?}"
    );
    let raised = h.state().model.alarms.list.len();
    for _ in 0..30 {
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(h.state().model.alarms.list.len() >= raised);
    assert_eq!(
        notifications.lock().unwrap().len(),
        1,
        "one notification per 30 s, however many alarms"
    );
    drop(h);

    // A restart: the same settings file, a new UI.
    let mut h = harness(&rt, &session);
    step_until(&mut h, "the restored layout", |app| {
        app.saved_settings.is_some() && app.model.selected.as_ref() == Some(&other)
    });
    assert_eq!(h.state().operations.charted, ["watt", "voltage"]);
    assert!(!h.state().dark, "the light theme came back");
    step_until(&mut h, "both charts of the restored device", |app| {
        ["watt", "voltage"]
            .iter()
            .all(|m| app.model.series.get(*m).is_some_and(|s| s.len() > 10))
    });
    h.get_by_label_contains(&format!("Chart: voltage of {}", short_id(&other)));
    h.get_by_label("Dark");
    rt.block_on(session.shutdown()).unwrap();
}

#[test]
fn history_from_the_local_cache_over_a_preset_and_a_custom_range() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, session) = engine(dir.path());
    let mut h = harness(&rt, &session);
    step_until(&mut h, "a chosen device", |app| {
        app.model.selected.is_some()
    });
    h.get_by_label("History").click();
    // A newcomer sees the chosen device's last hour at once, from the cache.
    step_until(&mut h, "the chosen device's history, by itself", |app| {
        app.history.result.is_some() || app.history.error.is_some()
    });
    assert!(
        h.state().history.from_cache,
        "{:?}",
        h.state().history.error
    );
    h.get_by_label_contains("columns from the local cache");
    h.state_mut().history.result = None;
    // The cache is the default source: it works offline and in embedded mode.
    h.get_by_label("Local cache");
    h.get_by_label("5 min").click();
    h.run_steps(2);
    h.get_by_label("Chart").click();
    step_until(&mut h, "the cached history", |app| {
        app.history.result.is_some() || app.history.error.is_some()
    });
    assert!(
        h.state().history.from_cache,
        "{:?}",
        h.state().history.error
    );
    let rows = h.state().history.result.as_ref().unwrap().table.rows.len();
    assert!(rows > 50, "five minutes of 200 ms readings: {rows} columns");
    h.get_by_label_contains("columns from the local cache");

    // A custom range starts from the preset; a bad time is named.
    h.get_by_label("Custom").click();
    h.run_steps(2);
    assert!(!h.state().history.custom_from.is_empty());
    h.state_mut().history.custom_from = "yesterday-ish".into();
    h.run_steps(2);
    h.get_by_label_contains("From \"yesterday-ish\" is not a UTC time");
    assert!(
        h.get_by_label("Chart").accesskit_node().is_disabled(),
        "no chart of a bad range"
    );
    // Two minutes in the middle of the history.
    let now = gridwatch_core::time::now_us();
    let (from, to) = (now - 240_000_000, now - 120_000_000);
    h.state_mut().history.custom_from = gridwatch_ui::clock::format_utc(from);
    h.state_mut().history.custom_to = gridwatch_ui::clock::format_utc(to);
    h.run_steps(2);
    h.get_by_label("Chart").click();
    // The view also asks by itself when the range changes: wait for the
    // answer to this range, not an earlier one.
    let inside = move |r: &gridwatch_types::HistoryResult| {
        !r.table.rows.is_empty()
            && r.table.rows.iter().all(|row| match &row[0] {
                gridwatch_types::Cell::Text(t) => gridwatch_ui::clock::parse_utc(t)
                    .is_some_and(|t| (from as f64 / 1e6 - 1.0..=to as f64 / 1e6).contains(&t)),
                _ => false,
            })
    };
    step_until(&mut h, "the custom range", |app| {
        !app.history.waiting && app.history.result.as_ref().is_some_and(&inside)
    });
    let result = h.state().history.result.clone().unwrap();
    let times: Vec<f64> = result
        .table
        .rows
        .iter()
        .map(|r| match &r[0] {
            gridwatch_types::Cell::Text(t) => gridwatch_ui::clock::parse_utc(t).unwrap(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(!times.is_empty());
    assert!(
        times
            .iter()
            .all(|t| (from as f64 / 1e6 - 1.0..=to as f64 / 1e6).contains(t)),
        "every column inside the range"
    );
    rt.block_on(session.shutdown()).unwrap();
}

#[test]
fn the_operator_sets_alarm_limits_and_the_alarms_follow() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, session) = engine(dir.path());
    let mut h = harness(&rt, &session);
    step_until(&mut h, "the fleet panel", |app| {
        app.model.fleet_summary.iter().any(|m| m.measure == "watt")
    });
    h.get_by_label("Rules…").click();
    h.run_steps(2);
    // Every meter draws more than 1 W: each raises a limit alarm.
    common::type_into(&mut h, "watt max", "1");
    step_until(&mut h, "limit alarms", |app| {
        app.model
            .alarms
            .list
            .iter()
            .filter(|a| a.kind == gridwatch_ui::alarms::AlarmKind::Limit)
            .count()
            == DEVICES as usize
    });
    assert!(
        h.get_all_by_label_contains("is above its maximum 1")
            .count()
            >= 2
    );
    assert_eq!(
        h.state().settings().alarms.limits["watt"].max,
        Some(1.0),
        "the rule is saved with the settings"
    );
    // Not a number: named, and the rule stays as it was.
    common::type_into(&mut h, "watt min", "lots");
    h.get_by_label("\"lots\" is not a number");
    assert_eq!(h.state().model.alarms.rules.limits["watt"].min, None);
    rt.block_on(session.shutdown()).unwrap();
}
