//! The app under Xvfb: a real window with the real webview, the embedded
//! pipeline behind it, a D-Bus session for desktop notifications. The UI
//! reports its health (frames, live batches, points on the chart) to the
//! shell, which writes it to a file for us.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::process::Command;
use std::time::Duration;

use gridwatch_tests::{RunningApp, Xvfb, wait_for};
use gridwatch_types::View;

/// The app inside its own D-Bus session, with `dbus-monitor` writing every
/// call to the desktop's notification service to `log`.
fn with_dbus(log: &std::path::Path) -> [String; 5] {
    let script = format!(
        "dbus-monitor --session \"interface='org.freedesktop.Notifications'\" > '{}' 2>&1 & \
         sleep 0.5; exec \"$0\" \"$@\"",
        log.display()
    );
    ["dbus-run-session", "--", "sh", "-c", &script].map(String::from)
}

/// A screenshot of the whole screen, which must show more than a blank or
/// single-colour surface within 10 s (the webview presents its first
/// frames to X a little after drawing them).
fn screenshot(x: &Xvfb, dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let shot = dir.join(format!("{name}.png"));
    let colours = || -> u64 {
        let status = Command::new("import")
            .args(["-display", &x.display, "-window", "root"])
            .arg(&shot)
            .status()
            .expect("ImageMagick's import runs (package imagemagick)");
        assert!(status.success(), "screenshot failed");
        let out = Command::new("convert")
            .arg(&shot)
            .args(["-format", "%k", "info:"])
            .output()
            .expect("ImageMagick's convert runs");
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    wait_for(
        Duration::from_secs(10),
        &format!("a {name} screenshot that shows the UI"),
        || (colours() > 50).then_some(()),
    );
    shot
}

/// The window's X id, focused and clicked into so keys reach the webview.
fn focus(x: &Xvfb) -> String {
    let id = xdotool(x, &["search", "--name", "^Gridwatch$"]);
    let id = id.lines().last().unwrap().to_string();
    xdotool(x, &["windowfocus", "--sync", &id]);
    xdotool(
        x,
        &["mousemove", "--window", &id, "600", "400", "click", "1"],
    );
    id
}

fn xdotool(x: &Xvfb, args: &[&str]) -> String {
    let out = Command::new("xdotool")
        .args(args)
        .env("DISPLAY", &x.display)
        .output()
        .expect("xdotool runs (package xdotool)");
    assert!(out.status.success(), "xdotool {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn window_size(x: &Xvfb) -> (u32, u32) {
    let id = xdotool(x, &["search", "--name", "^Gridwatch$"]);
    let id = id.lines().last().unwrap().to_string();
    let geometry = xdotool(x, &["getwindowgeometry", &id]);
    // "  Geometry: 1000x650"
    let dims = geometry
        .lines()
        .find_map(|l| l.trim().strip_prefix("Geometry: "))
        .unwrap_or_else(|| panic!("{geometry}"));
    let (w, h) = dims.split_once('x').unwrap();
    (w.parse().unwrap(), h.parse().unwrap())
}

#[test]
fn the_window_shows_live_data_notifies_the_desktop_and_comes_back_as_left() {
    let x = Xvfb::start();
    let dir = tempfile::tempdir().unwrap();
    let dbus_log = dir.path().join("dbus.log");
    let wrapper = with_dbus(&dbus_log);
    let wrapper: Vec<&str> = wrapper.iter().map(String::as_str).collect();
    let mut app = RunningApp::start(&x, dir.path(), &[], &wrapper);

    let health = wait_for(
        Duration::from_secs(120),
        "live data on the UI's chart",
        || {
            app.health()
                .filter(|h| h.batches_received > 0 && h.points_on_chart > 0 && h.devices_listed > 0)
        },
    );
    assert!(health.frames > 0, "{health:?}");
    assert!(
        health.devices_listed >= 100,
        "the default fleet lists its devices: {health:?}"
    );

    // The window must show the UI, not a blank or single-colour surface.
    let shot = screenshot(&x, dir.path(), "app");
    // Kept for people (and the README): target/<profile>/gridwatch-app.png.
    if let Some(keep) = gridwatch_tests::gridwatch_bin().parent() {
        let _ = std::fs::copy(&shot, keep.join("gridwatch-app.png"));
    }

    // The default fleet's anomalies raise alarms: the desktop's notification
    // service is called, with Gridwatch's summary.
    wait_for(
        Duration::from_secs(60),
        "a desktop notification on D-Bus",
        || {
            let log = std::fs::read_to_string(&dbus_log).unwrap_or_default();
            (log.contains("member=Notify") && log.contains("new alarm")).then_some(())
        },
    );

    // The operator resizes the window and quits with Ctrl+Q ...
    let id = focus(&x);
    xdotool(&x, &["windowsize", "--sync", &id, "1000", "650"]);
    assert_eq!(window_size(&x), (1000, 650));
    focus(&x);
    xdotool(&x, &["key", "--clearmodifiers", "ctrl+q"]);
    let status = wait_for(Duration::from_secs(20), "the app to quit on Ctrl+Q", || {
        app.process.0.try_wait().unwrap()
    });
    assert!(status.success(), "quit with {status}:\n{}", app.log());
    assert!(
        dir.path().join("settings.json").exists(),
        "the layout was saved:\n{}",
        app.log()
    );

    // ... and the next start opens it as it was left.
    let mut app = RunningApp::start(&x, dir.path(), &[], &[]);
    wait_for(Duration::from_secs(120), "the app again", || {
        app.health().filter(|h| h.frames > 0)
    });
    assert_eq!(window_size(&x), (1000, 650), "{}", app.log());
}

#[test]
fn the_operator_launches_a_fleet_and_switches_views_from_the_keyboard() {
    let x = Xvfb::start();
    let dir = tempfile::tempdir().unwrap();
    // No fleet at start: the operator launches one.
    let mut app = RunningApp::start(&x, dir.path(), &["--devices", "0"], &[]);
    // The UI's first health report with a few frames drawn: the page and
    // its wasm are loaded and take keys.
    let h = wait_for(Duration::from_secs(120), "the first frames", || {
        app.health().filter(|h| h.frames > 10)
    });
    assert!(!h.fleet_running && h.devices_listed == 0, "{h:?}");

    // Ctrl+F opens the launcher, Ctrl+Enter launches its fleet.
    focus(&x);
    xdotool(&x, &["key", "--clearmodifiers", "ctrl+f"]);
    std::thread::sleep(Duration::from_secs(1));
    xdotool(&x, &["key", "--clearmodifiers", "ctrl+Return"]);
    wait_for(
        Duration::from_secs(60),
        "the launched fleet's live data",
        || {
            app.health()
                .filter(|h| h.fleet_running && h.points_on_chart > 0 && h.devices_listed >= 100)
        },
    );
    let operations = screenshot(&x, dir.path(), "operations");

    xdotool(&x, &["key", "--clearmodifiers", "ctrl+2"]);
    wait_for(Duration::from_secs(20), "the History view", || {
        app.health().filter(|h| h.view == View::History)
    });
    let history = screenshot(&x, dir.path(), "history");
    xdotool(&x, &["key", "--clearmodifiers", "ctrl+3"]);
    wait_for(Duration::from_secs(20), "the Strategic view", || {
        app.health().filter(|h| h.view == View::Strategic)
    });
    let strategic = screenshot(&x, dir.path(), "strategic");

    let bytes = |p: &std::path::Path| std::fs::read(p).unwrap();
    assert_ne!(
        bytes(&operations),
        bytes(&history),
        "the view changed on screen"
    );
    assert_ne!(
        bytes(&history),
        bytes(&strategic),
        "the view changed on screen"
    );
    if let Some(keep) = gridwatch_tests::gridwatch_bin().parent() {
        for (shot, name) in [
            (&operations, "operations"),
            (&history, "history"),
            (&strategic, "strategic"),
        ] {
            let _ = std::fs::copy(shot, keep.join(format!("gridwatch-{name}.png")));
        }
    }
}
