//! KPL de-aggregation beside the decoding of the same user records sent
//! one per Kinesis record, in one run (these machines are noisy: the ratio
//! is the figure). 1,000 meter records (the shape of `core/benches/
//! hot_paths.rs`), in aggregates of 100 with their device IDs as partition
//! keys, as a KPL producer writes them: the aggregate's MD5 checked, its
//! protobuf walked, each user record decoded.
//!
//! Run: `cargo bench -p gridwatch-codec --bench kpl`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gridwatch_codec::kpl::{Aggregate, Aggregator};
use gridwatch_codec::{Record, decode, encode};

const T0: i64 = 1_700_000_000_000_000;
const PER_AGGREGATE: usize = 100;

fn meter_record(i: u64) -> Record {
    Record {
        device_id: format!("c0ffee00-8b1e-4a7c-9d2f-{:012x}", i % 1000),
        time_us: T0 + i as i64 * 1_000,
        time_adjusted: false,
        measure_keys: Vec::new(),
        measures: vec![
            ("voltage".into(), 229.0 + (i % 17) as f64 * 0.13),
            ("current".into(), 3.0 + (i % 7) as f64 * 0.21),
            ("watt".into(), 700.0 + (i % 101) as f64),
            ("energy".into(), 12_345.678 + i as f64 * 0.001),
            ("temperature".into(), 18.5 + (i % 9) as f64 * 0.1),
        ],
        dimensions: vec![
            ("DeviceType".into(), "smart_meter".into()),
            ("Region".into(), "north".into()),
            ("Feeder".into(), "N-F07".into()),
        ],
    }
}

fn deaggregate(c: &mut Criterion) {
    let records: Vec<Record> = (0..1_000).map(meter_record).collect();
    let wire: Vec<Vec<u8>> = records
        .iter()
        .map(|r| {
            let mut buf = Vec::new();
            encode(r, &mut buf);
            buf
        })
        .collect();
    let aggregates: Vec<Vec<u8>> = records
        .chunks(PER_AGGREGATE)
        .zip(wire.chunks(PER_AGGREGATE))
        .map(|(rs, ws)| {
            let mut a = Aggregator::new();
            for (r, w) in rs.iter().zip(ws) {
                a.add(&r.device_id, None, w);
            }
            a.finish()
        })
        .collect();
    let mut g = c.benchmark_group("kpl");
    g.throughput(Throughput::Elements(wire.len() as u64));
    g.bench_function("deaggregate_and_decode", |b| {
        b.iter(|| {
            for data in &aggregates {
                let Ok(aggregate) = Aggregate::parse(black_box(data)) else {
                    panic!("a good aggregate");
                };
                for user in &aggregate.records {
                    black_box(decode(user.data, T0).ok());
                }
            }
        })
    });
    g.bench_function("baseline_decode_unaggregated", |b| {
        b.iter(|| {
            for w in &wire {
                black_box(decode(black_box(w), T0).ok());
            }
        })
    });
    g.finish();
}

criterion_group!(benches, deaggregate);
criterion_main!(benches);
