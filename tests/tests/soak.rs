//! Soak: a 1,000-device fleet for 60 s in the running app. Resident memory
//! (the app and its webview processes) may grow less than 10% after the
//! first 10 s, and the UI must keep drawing and logging its frame times.
//! The frame-time p99 is printed, not asserted (no timing assertions in
//! tests): it is a figure in BENCHMARKS.md.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::time::{Duration, Instant};

use gridwatch_tests::{RunningApp, Xvfb, wait_for};

#[test]
fn a_thousand_devices_for_a_minute_keep_memory_flat_and_frames_fast() {
    let x = Xvfb::start();
    let dir = tempfile::tempdir().unwrap();
    let mut app = RunningApp::start(&x, dir.path(), &["--devices", "1000"], &[]);
    wait_for(
        Duration::from_secs(120),
        "live data from 1,000 devices",
        || {
            app.health()
                .filter(|h| h.points_on_chart > 0 && h.devices_listed >= 1000)
        },
    );
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(10));
    let baseline = app.rss_kib();
    let mut peak = baseline;
    while start.elapsed() < Duration::from_secs(70) {
        std::thread::sleep(Duration::from_secs(5));
        peak = peak.max(app.rss_kib());
        app.health(); // fails at once if the app died
    }
    let end = app.rss_kib();
    let health = app.health().unwrap();
    let growth = end as f64 / baseline as f64 - 1.0;
    eprintln!(
        "soak: RSS {baseline} KiB at 10 s, {end} KiB at 70 s ({:+.1}%), peak {peak} KiB; \
         frame p50 {:.2} ms, p99 {:.2} ms (the UI's logic alone: p99 {:.2} ms) over {} frames; \
         {} batches",
        growth * 100.0,
        health.frame_ms_p50,
        health.frame_ms_p99,
        health.logic_ms_p99,
        health.frames,
        health.batches_received
    );
    assert!(
        growth < 0.10,
        "memory grew {:.1}% (from {baseline} to {end} KiB)",
        growth * 100.0
    );
    assert!(
        health.frame_ms_p99 > 0.0,
        "the UI logs its frame times: {health:?}"
    );
    assert!(health.frames > 100, "the UI kept drawing: {health:?}");
}
