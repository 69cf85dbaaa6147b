//! Helpers for Gridwatch's end-to-end tests: the app binary, scratch caches,
//! and an X server for the window.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `gridwatch` binary built beside this test (`cargo build -p gridwatch`,
/// which `./dev.sh test` runs first), or `GRIDWATCH_BIN`.
pub fn gridwatch_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("GRIDWATCH_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("the test binary knows its path");
    // target/<profile>/deps/<test> -> target/<profile>/gridwatch
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binaries live in target/<profile>/deps")
        .join("gridwatch");
    assert!(
        bin.exists(),
        "{} is missing: build it first with `cargo build -p gridwatch` (./dev.sh test does)",
        bin.display()
    );
    bin
}

/// `gridwatch --cache <cache> <args…>`, run to completion.
pub fn gridwatch(cache: &Path, args: &[&str]) -> Output {
    Command::new(gridwatch_bin())
        .arg("--cache")
        .arg(cache)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("gridwatch runs")
}

/// Like [`gridwatch`], but the run must succeed; returns stdout.
pub fn gridwatch_ok(cache: &Path, args: &[&str]) -> String {
    let out = gridwatch(cache, args);
    assert!(
        out.status.success(),
        "gridwatch {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("output is UTF-8")
}

/// Polls `check` every 100 ms until it returns Some, or panics after
/// `limit` with `what`.
pub fn wait_for<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            start.elapsed() < limit,
            "gave up after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A process that is killed when dropped, so a failing test leaves nothing
/// running.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An Xvfb server on a free display, for the app's window.
pub struct Xvfb {
    pub display: String,
    _process: KillOnDrop,
}

impl Xvfb {
    /// Starts Xvfb; fails the test (never skips it) when Xvfb is missing.
    pub fn start() -> Xvfb {
        let which = Command::new("sh").args(["-c", "command -v Xvfb"]).output();
        assert!(
            which.is_ok_and(|o| o.status.success()),
            "Xvfb is not installed: `./dev.sh setup` installs it (package xvfb)"
        );
        for n in 90..130 {
            let lock = PathBuf::from(format!("/tmp/.X{n}-lock"));
            if lock.exists() {
                continue;
            }
            let display = format!(":{n}");
            let child = Command::new("Xvfb")
                .args([&display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("Xvfb starts");
            let mut process = KillOnDrop(child);
            let ready = (0..50).any(|_| {
                std::thread::sleep(Duration::from_millis(100));
                Command::new("xdpyinfo")
                    .args(["-display", &display])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            });
            if ready {
                return Xvfb {
                    display,
                    _process: process,
                };
            }
            let _ = process.0.kill();
        }
        panic!("no free X display between :90 and :129");
    }
}
