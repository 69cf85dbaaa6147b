//! The app under Xvfb: a real window with the real webview, the embedded
//! pipeline behind it. The UI reports its health (frames, live batches,
//! points on the chart) to the shell, which writes it to a file for us.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::process::{Command, Stdio};
use std::time::Duration;

use gridwatch_tests::{KillOnDrop, Xvfb, gridwatch_bin, wait_for};
use gridwatch_types::UiHealth;

#[test]
fn the_window_shows_the_ui_with_live_data() {
    let x = Xvfb::start();
    let dir = tempfile::tempdir().unwrap();
    let health_file = dir.path().join("health.json");
    let log_path = dir.path().join("app.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let app = Command::new(gridwatch_bin())
        .arg("--cache")
        .arg(dir.path().join("app.sqlite"))
        .env("DISPLAY", &x.display)
        .env("GRIDWATCH_UI_HEALTH_FILE", &health_file)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("the app starts");
    let mut app = KillOnDrop(app);

    let app_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let health = wait_for(
        Duration::from_secs(120),
        "live data on the UI's chart",
        || {
            if let Ok(Some(status)) = app.0.try_wait() {
                panic!("the app exited ({status}):\n{}", app_log());
            }
            let h: UiHealth = serde_json::from_slice(&std::fs::read(&health_file).ok()?).ok()?;
            (h.batches_received > 0 && h.points_on_chart > 0 && h.devices_listed > 0).then_some(h)
        },
    );
    assert!(health.frames > 0, "{health:?}");
    assert!(
        health.devices_listed >= 100,
        "the default fleet lists its devices: {health:?}"
    );

    // A screenshot of the whole screen: the window must show the UI, not a
    // blank or single-colour surface.
    let shot = dir.path().join("app.png");
    let status = Command::new("import")
        .args(["-display", &x.display, "-window", "root"])
        .arg(&shot)
        .status()
        .expect("ImageMagick's import runs (package imagemagick)");
    assert!(status.success(), "screenshot failed");
    let colours = Command::new("convert")
        .arg(&shot)
        .args(["-format", "%k", "info:"])
        .output()
        .expect("ImageMagick's convert runs");
    let colours: u64 = String::from_utf8_lossy(&colours.stdout)
        .trim()
        .parse()
        .unwrap();
    assert!(
        colours > 50,
        "the screenshot has only {colours} colours:\n{}",
        app_log()
    );
    // Kept for people (and the README): target/<profile>/gridwatch-app.png.
    if let Some(keep) = gridwatch_bin().parent() {
        let _ = std::fs::copy(&shot, keep.join("gridwatch-app.png"));
    }
}
