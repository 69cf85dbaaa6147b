//! The fleet launcher, by widget label: the operator picks the seed
//! producer's records, then a utility network with outages and imperfect
//! delivery, and the fleet that runs is the one chosen.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use gridwatch_simulator::Embedded;
use gridwatch_types::{FleetShape, Outages};

mod common;
use common::{harness, step_until};

#[test]
fn the_launcher_runs_the_seed_shape_and_a_network_with_outages() {
    let rt = common::runtime();
    let dir = tempfile::tempdir().unwrap();
    let session = rt.block_on(async {
        common::session(
            Embedded::open(&dir.path().join("ui.sqlite"), 2).unwrap(),
            dir.path(),
        )
    });
    let mut h = harness(&rt, &session);
    step_until(&mut h, "the first status", |app| app.model.status.is_some());

    h.get_by_label("Fleet…").click();
    h.run_steps(2);
    // The seed's producer: 50 devices, no network to set.
    h.get_by_label("Seed producer").click();
    h.run_steps(2);
    assert_eq!(h.state().launcher.spec.shape, FleetShape::Seed);
    h.get_by_role_and_label(Role::SpinButton, "Devices");
    assert!(h.query_by_label("Smart meters").is_none());
    assert!(h.query_by_label("Feeders").is_none());
    assert!(h.query_by_label("Network").is_none());
    h.get_by_label("50 devices: 50 readings/s");
    h.get_by_label("Launch fleet").click();
    step_until(&mut h, "the seed fleet running", |app| {
        app.model
            .status
            .as_ref()
            .and_then(|s| s.running.as_ref())
            .is_some_and(|spec| spec.shape == FleetShape::Seed && spec.device_count() == 50)
    });
    let running = rt.block_on(session.fleet_status()).running.unwrap();
    assert_eq!(running.shape, FleetShape::Seed);
    h.get_by_label("Stop running fleet").click();
    step_until(&mut h, "the seed fleet to stop", |app| {
        app.model
            .status
            .as_ref()
            .is_some_and(|s| s.running.is_none())
    });

    // Back to the utility fleet: its 200 meters, and a network to lay out.
    h.get_by_label("Utility fleet").click();
    h.run_steps(2);
    assert_eq!(h.state().launcher.spec.smart_meters, 200);
    h.get_by_label("Network").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::SpinButton, "Substations")
        .set_value_accesskit(3.0);
    h.get_by_role_and_label(Role::SpinButton, "Meters per transformer")
        .set_value_accesskit(5.0);
    h.run_steps(2);
    h.get_by_label("Outages and delivery").click();
    h.run_steps(2);
    assert!(h.query_by_label("Outage chance a day").is_none());
    h.get_by_role_and_label(Role::CheckBox, "Outages").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::Slider, "Outage chance a day");
    for (name, share) in [
        ("Late readings", 0.02),
        ("Duplicate readings", 0.01),
        ("Skewed clocks", 0.05),
    ] {
        h.get_by_role_and_label(Role::Slider, name)
            .set_value_accesskit(share);
    }
    h.run_steps(2);
    let spec = h.state().launcher.spec.clone();
    assert_eq!(spec.shape, FleetShape::Utility);
    assert_eq!(spec.topology.substations, 3);
    assert_eq!(spec.topology.meters_per_transformer, 5);
    assert_eq!(spec.outages.per_day, Outages::REALISTIC_PER_DAY);
    assert_eq!(spec.delivery.late_share, 0.02);
    assert_eq!(spec.delivery.duplicate_share, 0.01);
    assert_eq!(spec.delivery.skewed_share, 0.05);

    h.get_by_label("Launch fleet").click();
    step_until(&mut h, "the utility fleet running", |app| {
        app.model
            .status
            .as_ref()
            .and_then(|s| s.running.as_ref())
            .is_some_and(|running| running == &spec)
    });
    // Its meters carry where they hang in the network.
    step_until(&mut h, "the fleet's devices", |app| {
        app.model
            .devices
            .values()
            .any(|d| d.dimension("Substation").is_some() && d.dimension("Transformer").is_some())
    });
    h.get_by_label("Stop running fleet").click();
    step_until(&mut h, "the utility fleet to stop", |app| {
        app.model
            .status
            .as_ref()
            .is_some_and(|s| s.running.is_none())
    });
}
