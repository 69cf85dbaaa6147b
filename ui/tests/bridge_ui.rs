//! The stream job from the app: Connections names a Kinesis stream
//! (kinesalite) and an InfluxDB (Debian's influxd), Start runs the seed's
//! Flink job in the background with its figures on screen, Stop ends it
//! with every record in InfluxDB once. All on 127.0.0.1.
//! One test in this binary: it sets the process's environment.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use egui_kittest::kittest::Queryable;
use gridwatch_simulator::Embedded;
use gridwatch_tests::{Influx, Kinesalite, create_stream, put_records};

mod common;
use common::{harness, step_until};

const RECORDS: u64 = 300;

#[test]
fn the_stream_job_runs_into_influxdb_with_its_figures_and_stops() {
    common::use_emulator_credentials();
    let influx = Influx::start(false);
    let kinesalite = Kinesalite::start(None);
    let client = kinesalite.client();
    let items: Vec<(String, Vec<u8>)> = (0..RECORDS)
        .map(|n| {
            let device = format!("meter-{}", n % 10);
            let data = format!(
                r#"{{"Time": {}, "DeviceID": "{device}", "watt_measure": {n}}}"#,
                1_700_000_000_000 + n * 1000
            );
            (device, data.into_bytes())
        })
        .collect();
    let rt = common::runtime();
    let dir = tempfile::tempdir().unwrap();
    let session = rt.block_on(async {
        create_stream(&client, "ui-bridge", 2).await;
        put_records(&client, "ui-bridge", &items).await;
        common::session(
            Embedded::open(&dir.path().join("b.sqlite"), 1).unwrap(),
            dir.path(),
        )
    });
    let mut h = harness(&rt, &session);
    step_until(&mut h, "the first status", |app| app.model.status.is_some());
    h.get_by_label("Connections…").click();
    h.run_steps(2);
    common::type_into(&mut h, "Stream", "ui-bridge");
    common::type_into(&mut h, "Endpoint URL", &kinesalite.endpoint());
    common::type_into(&mut h, "InfluxDB URL", &influx.url());
    common::type_into(&mut h, "InfluxDB database", "grid");
    // The stream job sits low in the window: scrolled to, as a person would.
    h.get_by_label("Start stream job").scroll_to_me();
    // The scroll is animated: let it settle before clicking.
    for _ in 0..30 {
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    h.get_by_label("InfluxDB").click();
    h.run_steps(2);
    assert!(h.state().connections.bridge_to_influx, "InfluxDB picked");
    h.get_by_label("Start stream job").click();
    let done = |app: &gridwatch_ui::GridwatchUi| {
        app.connections.bridge_error.is_some()
            || app
                .connections
                .bridge
                .as_ref()
                .is_some_and(|b| b.written == RECORDS || b.error.is_some())
    };
    // A hang guard, not a timing claim.
    for _ in 0..1000 {
        if done(h.state()) {
            break;
        }
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    assert!(
        done(h.state()),
        "{:?} {:?} to influx: {}",
        h.state().connections.bridge,
        h.state().connections.bridge_error,
        h.state().connections.bridge_to_influx
    );
    let b = h.state().connections.bridge.clone().unwrap();
    assert_eq!(h.state().connections.bridge_error, None);
    assert!(b.running && b.error.is_none(), "{b:?}");
    assert_eq!((b.readings, b.rejected, b.quarantined), (RECORDS, 0, 0));
    h.get_by_label_contains(&format!(
        "Stream job running: {RECORDS} readings from ui-bridge to InfluxDB {} database grid; {RECORDS} InfluxDB points written",
        influx.url()
    ));
    let counted = influx.run("SELECT count(\"watt_measure\") FROM readings");
    assert_eq!(counted["results"][0]["series"][0]["values"][0][1], RECORDS);

    h.get_by_label("Stop stream job").click();
    step_until(&mut h, "the job stopped", |app| {
        app.connections.bridge.as_ref().is_some_and(|b| !b.running)
    });
    let b = h.state().connections.bridge.clone().unwrap();
    assert_eq!(b.error, None);
    assert_eq!(b.written, RECORDS);
    h.get_by_label_contains("Stream job stopped:");
    rt.block_on(session.shutdown()).unwrap();
}
