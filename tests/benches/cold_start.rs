//! Cold start: from launching the app (a new cache, a new settings file) to
//! its first frame and to the first live point on its chart, under Xvfb.
//! The first frame is the baseline in the same run: the ratio says how much
//! of the wait is the pipeline's (fleet, bus, ingest, first live batch)
//! rather than the window's and the webview's. Goal: first point under 2 s.
//!
//! `cargo bench -p gridwatch-tests --bench cold_start` (after
//! `cargo build -p gridwatch`; the app binary is the debug one unless
//! GRIDWATCH_BIN names another).
#![allow(clippy::unwrap_used)] // a bench that unwraps fails loudly

use std::time::{Duration, Instant};

use gridwatch_tests::{RunningApp, Xvfb};

const RUNS: usize = 5;

fn main() {
    let x = Xvfb::start();
    let mut firsts = Vec::new();
    for run in 0..RUNS {
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let mut app = RunningApp::start(&x, dir.path(), &[], &[]);
        let mut frame = None;
        let point = loop {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "no live point after 60 s:\n{}",
                app.log()
            );
            if let Some(h) = app.health() {
                if frame.is_none() && h.frames > 0 {
                    frame = Some(started.elapsed());
                }
                if h.points_on_chart > 0 {
                    break started.elapsed();
                }
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let frame = frame.unwrap_or(point);
        eprintln!(
            "run {run}: first frame {:.0} ms, first live point {:.0} ms",
            frame.as_secs_f64() * 1e3,
            point.as_secs_f64() * 1e3
        );
        firsts.push((frame, point));
    }
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let frame = median(firsts.iter().map(|f| f.0).collect());
    let point = median(firsts.iter().map(|f| f.1).collect());
    println!(
        "cold start (median of {RUNS}): first frame {:.0} ms, first live point {:.0} ms, \
         ratio {:.2}x the first frame; goal: first point under 2000 ms",
        frame.as_secs_f64() * 1e3,
        point.as_secs_f64() * 1e3,
        point.as_secs_f64() / frame.as_secs_f64()
    );
}
