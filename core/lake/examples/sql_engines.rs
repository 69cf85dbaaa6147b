//! The energy-and-peak SQL over a compacted lake's Parquet through polars,
//! in-memory engine beside streaming engine, with and without row-group
//! statistics: what makes Rust polars slow or fast on Parquet (FACTS.md
//! found it 2.3x behind Python polars). Run after the lake bench made its
//! extract:
//! `cargo run --release -p gridwatch-lake --example sql_engines -- DIR`
#![allow(clippy::unwrap_used)] // a measurement that cannot run should stop loudly
#![allow(clippy::print_stdout)]

use std::time::Instant;

use polars::prelude::*;
use polars::sql::SQLContext;

const SQL: &str = r#"
WITH dev AS (
    SELECT Region, "Time" - "Time" % 86400000 AS day, DeviceID, "Time" - "Time" % 900000 AS iv,
           avg(watt_measure) AS w, max(energy_measure) - min(energy_measure) AS e
    FROM readings GROUP BY Region, day, DeviceID, iv),
grp AS (SELECT Region, day, iv, sum(w) AS demand, sum(e) AS energy FROM dev GROUP BY Region, day, iv)
SELECT Region, day, sum(energy) AS energy_kwh, max(demand) AS peak_w FROM grp
GROUP BY Region, day ORDER BY Region, day
"#;

fn frame(dir: &str, statistics: bool) -> LazyFrame {
    let mut paths = Vec::new();
    for day in std::fs::read_dir(format!("{dir}/readings/parquet/year=2023/month=11")).unwrap() {
        for f in std::fs::read_dir(day.unwrap().path()).unwrap() {
            let p = f.unwrap().path();
            if p.extension().is_some_and(|e| e == "parquet") {
                paths.push(PlRefPath::new(p.to_string_lossy().into_owned()));
            }
        }
    }
    let args = ScanArgsParquet {
        use_statistics: statistics,
        hive_options: polars::io::HiveOptions {
            enabled: Some(false),
            ..Default::default()
        },
        ..ScanArgsParquet::default()
    };
    LazyFrame::scan_parquet_files(paths.into_iter().collect(), args)
        .unwrap()
        .select([
            col("time_us").floor_div(lit(1000i64)).alias("Time"),
            col("device_id").alias("DeviceID"),
            col("Region"),
            col("watt").alias("watt_measure"),
            col("energy").alias("energy_measure"),
        ])
}

fn main() {
    let dir = std::env::args().nth(1).unwrap();
    for round in 0..3 {
        for (name, streaming, statistics) in [
            ("in-memory", false, true),
            ("streaming", true, true),
            ("streaming, no statistics", true, false),
        ] {
            let mut ctx = SQLContext::new();
            ctx.register("readings", frame(&dir, statistics));
            let start = Instant::now();
            let out = ctx
                .execute(SQL)
                .unwrap()
                .with_streaming(streaming)
                .collect()
                .unwrap();
            println!(
                "round {round} {name}: {:.3} s, {} rows",
                start.elapsed().as_secs_f64(),
                out.height()
            );
        }
    }
}
