//! InfluxDB's answer read into typed rows: a 10,000-row chunked answer to a
//! GROUP BY time query, as InfluxDB 1.x writes it (`chunked=true`, 1,000
//! rows a chunk), against the same chunks read by a typed serde struct a
//! developer would derive for them (a vector a row, numbers as `f64`, the
//! baseline, in the same process). Both answers are compared, value for
//! value, before timing. No server: the body is made here, so only the
//! parse is timed.
//!
//! Run: `cargo bench -p gridwatch-core --bench influx`.

#![allow(clippy::unwrap_used)] // a benchmark that cannot set up should stop loudly

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gridwatch_core::influx::{Datum, parse_answer};
use serde::Deserialize;

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

#[derive(Deserialize)]
struct TypedChunk {
    results: Vec<TypedStatement>,
}

#[derive(Deserialize)]
struct TypedStatement {
    #[serde(default)]
    series: Vec<TypedSeries>,
}

#[derive(Deserialize)]
struct TypedSeries {
    columns: Vec<String>,
    values: Vec<Vec<Option<f64>>>,
}

/// The baseline: every chunk through the typed struct, the rows joined.
fn typed_rows(body: &[u8]) -> Vec<Vec<Option<f64>>> {
    let mut rows = Vec::new();
    for chunk in serde_json::Deserializer::from_slice(body).into_iter::<TypedChunk>() {
        for statement in chunk.expect("a chunk").results {
            for series in statement.series {
                assert_eq!(series.columns.len(), 6);
                rows.extend(series.values);
            }
        }
    }
    rows
}

fn parse(c: &mut Criterion) {
    let body = body();
    let ours: Vec<Vec<Option<f64>>> = parse_answer(&body).unwrap().series[0]
        .rows()
        .map(|r| {
            r.iter()
                .map(|d| match d {
                    Datum::Number(x) => Some(*x),
                    Datum::Null => None,
                    other => panic!("not a number: {other:?}"),
                })
                .collect()
        })
        .collect();
    assert_eq!(ours.len(), ROWS);
    assert_eq!(typed_rows(&body), ours, "the two sides' rows");
    let mut g = c.benchmark_group("influx_answer_10k_rows");
    g.throughput(Throughput::Elements(ROWS as u64));
    g.bench_function("typed_rows", |b| {
        b.iter(|| black_box(parse_answer(black_box(&body)).expect("parses").series.len()))
    });
    g.bench_function("baseline_serde_typed_struct", |b| {
        b.iter(|| black_box(typed_rows(black_box(&body)).len()))
    });
    g.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
