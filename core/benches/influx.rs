//! InfluxDB's answer read into typed rows: a 10,000-row chunked answer to a
//! GROUP BY time query, as InfluxDB 1.x writes it (`chunked=true`, 1,000
//! rows a chunk), against `serde_json::from_slice::<Value>` of the same
//! body (the baseline, in the same process). No server: the body is made
//! here, so only the parse is timed.
//!
//! Run: `cargo bench -p gridwatch-core --bench influx`.

#![allow(clippy::unwrap_used)] // a benchmark that cannot set up should stop loudly

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gridwatch_core::influx::parse_answer;

const ROWS: usize = 10_000;
const CHUNK: usize = 1_000;

fn body() -> Vec<u8> {
    let mut out = String::new();
    for c in 0..ROWS / CHUNK {
        let rows: Vec<String> = (c * CHUNK..(c + 1) * CHUNK)
            .map(|i| {
                let t = 1_700_000_000_000u64 + i as u64 * 60_000;
                let avg = 230.0 + (i % 17) as f64 * 0.13;
                format!(
                    "[{t},{avg},{},{},{},{}]",
                    avg - 1.5,
                    avg + 2.25,
                    avg * 12.0,
                    12
                )
            })
            .collect();
        let last = c + 1 == ROWS / CHUNK;
        let partial = if last { "" } else { r#","partial":true"# };
        out.push_str(&format!(
            r#"{{"results":[{{"statement_id":0,"series":[{{"name":"readings","columns":["time","avg","min","max","sum","count"],"values":[{}]{partial}}}]{partial}}}]}}"#,
            rows.join(",")
        ));
        out.push('\n');
    }
    out.into_bytes()
}

fn parse(c: &mut Criterion) {
    let body = body();
    assert_eq!(parse_answer(&body).unwrap().series[0].row_count(), ROWS);
    let mut g = c.benchmark_group("influx_answer_10k_rows");
    g.throughput(Throughput::Elements(ROWS as u64));
    g.bench_function("typed_rows", |b| {
        b.iter(|| black_box(parse_answer(black_box(&body)).map(|a| a.series.len())))
    });
    g.bench_function("baseline_serde_json_value", |b| {
        b.iter(|| {
            let chunks = serde_json::Deserializer::from_slice(black_box(&body))
                .into_iter::<serde_json::Value>()
                .filter_map(Result::ok)
                .count();
            black_box(chunks)
        })
    });
    g.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
