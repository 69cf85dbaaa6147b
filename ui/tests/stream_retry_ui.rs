//! The operator's way back after following stopped: another process holds
//! the cache locked, the status bar says so with Retry, and once the lock
//! is gone Retry follows the stream again. Against kinesalite on 127.0.0.1.
//! One test in this binary: it sets the process's environment.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::time::{Duration, Instant};

use egui_kittest::kittest::Queryable;
use gridwatch_simulator::Embedded;
use gridwatch_tests::{Kinesalite, create_stream, put_records};
use gridwatch_types::Mode;

mod common;
use common::{harness, step_until};

/// Eight records, one per meter named `prefix-N`, at `time_ms`.
fn records(prefix: &str, time_ms: u64) -> Vec<(String, Vec<u8>)> {
    (0..8)
        .map(|d| {
            let device = format!("{prefix}-{d}");
            let data =
                format!(r#"{{"Time": {time_ms}, "DeviceID": "{device}", "watt_measure": 5}}"#);
            (device, data.into_bytes())
        })
        .collect()
}

#[test]
fn retry_follows_the_stream_again_once_the_cache_is_free() {
    common::use_emulator_credentials();
    let kinesalite = Kinesalite::start(None);
    let client = kinesalite.client();
    let rt = common::runtime();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("ui.sqlite");
    let session = rt.block_on(async {
        create_stream(&client, "ui-retry", 2).await;
        common::session(Embedded::open(&cache, 2).unwrap(), dir.path())
    });
    let mut h = harness(&rt, &session);
    step_until(&mut h, "the first status", |app| app.model.status.is_some());
    h.get_by_label("Connections…").click();
    h.run_steps(2);
    common::type_into(&mut h, "Stream", "ui-retry");
    common::type_into(&mut h, "Endpoint URL", &kinesalite.endpoint());
    h.get_by_label("Connect").click();
    step_until(&mut h, "Kinesis mode", |app| {
        app.model.mode() == Mode::Kinesis
    });
    assert!(h.query_by_label("Retry").is_none(), "nothing failed yet");

    // Another process takes the cache; the follower reads from LATEST, so
    // keep putting until what it read has met the lock (a hang guard, not
    // a timing claim).
    let holder = rusqlite::Connection::open(&cache).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let start = Instant::now();
    let mut time_ms = 1_700_000_000_000u64;
    while h.query_by_label("Retry").is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the status bar never offered Retry"
        );
        rt.block_on(put_records(
            &client,
            "ui-retry",
            &records("before", time_ms),
        ));
        time_ms += 1000;
        for _ in 0..10 {
            h.step();
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    h.get_by_label_contains("Stream: ingest stopped: the cache is locked by another process");

    // The lock goes; Retry connects again and following resumes.
    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);
    h.get_by_label("Retry").click();
    let start = Instant::now();
    loop {
        // Meters first heard after Retry: only a follower reading again
        // brings them to the device list.
        rt.block_on(put_records(&client, "ui-retry", &records("after", time_ms)));
        time_ms += 1000;
        for _ in 0..10 {
            h.step();
            std::thread::sleep(Duration::from_millis(50));
        }
        let app = h.state();
        let clear =
            app.model.shards.len() == 2 && app.model.shards.iter().all(|s| s.last_error.is_none());
        if clear && app.model.devices.contains_key("after-0") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "following never resumed after Retry: {:?}",
            app.model.shards
        );
    }
    assert!(h.query_by_label("Retry").is_none(), "the failure is gone");
    assert!(
        h.query_by_label_contains("Stream: ingest stopped")
            .is_none(),
        "the status bar no longer shows the old cause"
    );
    rt.block_on(session.shutdown()).unwrap();
}
