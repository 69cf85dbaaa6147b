//! Peak memory of a view over one or two days of the lake bench's extract
//! (10,000 meters: 0.96 M records, 241 MB of JSON a day), with a memory
//! budget or without one. Run `cargo bench -p gridwatch-lake --bench
//! aggregate` once first to write the extract, then, one process each:
//!
//! ```sh
//! for mib in 0 32; do for days in 1 2; do
//!   cargo run --release -q -p gridwatch-lake --example peak_memory -- $mib $days
//! done; done
//! ```
//!
//! A budget of `0` is the default (a quarter of the memory available).
//! Bounded means the peak stays put when the range doubles.
#![allow(clippy::unwrap_used)] // a measurement that cannot run should stop loudly

use std::path::{Path, PathBuf};
use std::time::Instant;

use gridwatch_lake::{GroupKey, Readings, ReadingsQuery};

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .unwrap()
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kib / 1024.0
}

fn main() {
    let arg = |i: usize| -> usize {
        std::env::args().nth(i).map_or(0, |a| {
            a.parse().expect("a budget in MiB, then days (1 or 2)")
        })
    };
    let (mib, days) = (arg(1), arg(2).clamp(1, 2) as i64);
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let lake = target.join("bench-lake-10m/json-lake");
    assert!(
        lake.join("readings").exists(),
        "no extract at {}: run the aggregate bench first",
        lake.display()
    );
    let start_us = 1_700_006_400_000_000;
    let mut query = ReadingsQuery::new(start_us, start_us + days * 86_400_000_000);
    if mib > 0 {
        query.memory_budget = mib << 20;
    }
    let started = Instant::now();
    let readings = Readings::scan(&lake, &query).unwrap();
    let out = readings
        .aggregate(&[GroupKey::Dimension("Region".into()), GroupKey::Day], None)
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(out.height(), 5 * days as usize);
    println!(
        "budget {:>5} MiB, {days} day(s): {} records, {} buckets on disk, {:.2} s, peak RSS {:.0} MiB",
        query.memory_budget >> 20,
        readings.report.records,
        readings.buckets_on_disk(),
        elapsed.as_secs_f64(),
        peak_rss_mib()
    );
}
