//! The UI in Kinesis mode, by widget label: the operator connects to a
//! stream served by kinesalite on 127.0.0.1 and sees its devices, charts and
//! shard panel fed from the shards.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use egui_kittest::kittest::{NodeT, Queryable};
use gridwatch_simulator::Embedded;
use gridwatch_tests::{Kinesalite, create_stream};
use gridwatch_types::{Mode, ShardState};

mod common;
use common::{harness, step_until};

#[test]
fn connecting_to_a_stream_shows_its_shards_and_devices() {
    common::use_emulator_credentials();
    let kinesalite = Kinesalite::start(None);
    let rt = common::runtime();
    let dir = tempfile::tempdir().unwrap();
    let session = rt.block_on(async {
        create_stream(&kinesalite.client(), "ui-stream", 2).await;
        common::session(
            Embedded::open(&dir.path().join("ui.sqlite"), 2).unwrap(),
            dir.path(),
        )
    });
    let mut h = harness(&rt, &session);
    step_until(&mut h, "the first status", |app| app.model.status.is_some());

    h.get_by_label("Connections…").click();
    h.run_steps(2);
    common::type_into(&mut h, "Stream", "ui-stream");
    common::type_into(&mut h, "Endpoint URL", &kinesalite.endpoint());
    // The Test button says what it found before the operator connects.
    h.get_by_label("Test Kinesis").click();
    step_until(&mut h, "the test's answer", |app| {
        app.connections.results.contains_key("Kinesis")
    });
    h.get_by_label("OK: stream ui-stream: ACTIVE, 2 open shards");
    h.get_by_label("Connect").click();
    step_until(&mut h, "Kinesis mode", |app| {
        app.model.mode() == Mode::Kinesis
    });
    h.get_by_label_contains("KINESIS ui-stream");

    // A fleet launched from the app onto the stream: the app sees it come
    // back through the shards (it reads from LATEST, so only new records).
    h.get_by_label("Fleet…").click();
    h.run_steps(2);
    h.state_mut().launcher.spec.smart_meters = 4;
    h.state_mut().launcher.spec.interval_ms = 250;
    h.get_by_label("Kinesis stream").click();
    h.run_steps(2);
    assert!(
        h.get_by_label("Launch fleet")
            .accesskit_node()
            .is_disabled(),
        "no stream named yet"
    );
    // Why, beside the greyed button.
    h.get_by_label("name the Kinesis stream");
    common::type_into(&mut h, "Fleet stream", "ui-stream");
    common::type_into(&mut h, "Fleet endpoint URL", &kinesalite.endpoint());
    h.get_by_label("Launch fleet").click();
    step_until(&mut h, "the fleet producing into the stream", |app| {
        app.model
            .status
            .as_ref()
            .and_then(|s| s.production.as_ref())
            .is_some_and(|p| p.sink == "Kinesis stream ui-stream" && p.records >= 40)
    });
    step_until(&mut h, "the stream's devices and shards", |app| {
        app.model.devices.len() == 4
            && app.model.shards.len() == 2
            && app.model.shards.iter().map(|s| s.records).sum::<u64>() >= 40
    });
    h.get_by_label("Shards (2)");
    h.get_by_label("shard 0");
    h.get_by_label("shard 1");
    assert!(
        h.state()
            .model
            .shards
            .iter()
            .all(|s| s.state == ShardState::Reading && s.open)
    );
    step_until(&mut h, "a chart of a stream device", |app| {
        app.model.series.get("watt").is_some_and(|s| s.len() >= 10)
    });
    h.get_by_label_contains("Chart: watt of ");
    h.get_by_label("Stop fleet").click();

    // Back to the embedded pipeline.
    h.get_by_label("Connections…").click();
    h.run_steps(2);
    h.get_by_label("Back to embedded").click();
    step_until(&mut h, "embedded mode", |app| {
        app.model.mode() == Mode::Embedded
    });
    h.get_by_label_contains("EMBEDDED");
    rt.block_on(session.shutdown()).unwrap();
}
