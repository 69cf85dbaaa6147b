//! Bucketed and chart queries equal a brute-force computation over the same
//! readings.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::collections::BTreeMap;

use gridwatch_core::cache::{BucketQuery, IngestBatch};
use gridwatch_core::{Cache, CacheReader, Record};

/// A small deterministic generator so the data set is the same every run.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 11
    }
    fn unit(&mut self) -> f64 {
        self.next() as f64 / (1u64 << 53) as f64
    }
}

const DEVICES: [&str; 3] = ["dev-a", "dev-b", "dev-c"];
const T0: i64 = 1_700_000_000_000_000;

struct Data {
    /// (device, measure) -> [(ts, value)]
    readings: BTreeMap<(String, String), Vec<(i64, f64)>>,
}

fn build() -> (tempfile::TempDir, std::path::PathBuf, Data) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.sqlite");
    let mut cache = Cache::open(&path).unwrap();
    let mut rng = Lcg(7);
    let mut data = Data {
        readings: BTreeMap::new(),
    };
    let mut records = Vec::new();
    for (i, d) in DEVICES.iter().enumerate() {
        // Irregular times over two hours, a different density per device.
        let mut t = T0 + rng.next() as i64 % 1_000_000;
        while t < T0 + 7_200_000_000 {
            let watt = 100.0 + 900.0 * rng.unit();
            let volt = 220.0 + 20.0 * rng.unit();
            records.push(Record {
                device_id: d.to_string(),
                time_us: t,
                time_adjusted: false,
                measure_keys: Vec::new(),
                measures: vec![("watt".into(), watt), ("voltage".into(), volt)],
                dimensions: vec![],
            });
            data.readings
                .entry((d.to_string(), "watt".into()))
                .or_default()
                .push((t, watt));
            data.readings
                .entry((d.to_string(), "voltage".into()))
                .or_default()
                .push((t, volt));
            t += 1_000_000 * (i as i64 + 1) + (rng.next() % 700_000) as i64;
        }
    }
    for chunk in records.chunks(997) {
        cache
            .ingest(&IngestBatch {
                source: "test",
                records: chunk,
                quarantined: &[],
                checkpoints: &[],
            })
            .unwrap();
    }
    (dir, path, data)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn buckets_equal_brute_force_for_one_device_and_the_fleet() {
    let (_dir, path, data) = build();
    let reader = CacheReader::open(&path).unwrap();
    let ranges = [
        (T0, T0 + 7_200_000_000, 60_000_000),
        (T0 + 123_456_789, T0 + 3_000_000_000, 15_000_000),
        (T0 - 10_000_000_000, T0 + 9_000_000_000, 3_600_000_000),
        (T0 + 1_000, T0 + 2_000, 7),
    ];
    for device in [Some("dev-b"), None] {
        for measure in ["watt", "voltage"] {
            for &(from_us, to_us, bucket_us) in &ranges {
                let got = reader
                    .buckets(&BucketQuery {
                        device_id: device,
                        measure,
                        from_us,
                        to_us,
                        bucket_us,
                    })
                    .unwrap();
                // Brute force: every reading in range, grouped by bucket.
                let mut want: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
                for ((d, m), points) in &data.readings {
                    if m != measure || device.is_some_and(|dd| dd != d) {
                        continue;
                    }
                    for &(t, v) in points {
                        if t >= from_us && t < to_us {
                            want.entry((t - from_us) / bucket_us).or_default().push(v);
                        }
                    }
                }
                assert_eq!(got.len(), want.len(), "{device:?} {measure} {from_us}");
                for (b, (idx, values)) in got.iter().zip(&want) {
                    assert_eq!(b.start_us, from_us + idx * bucket_us);
                    let sum: f64 = values.iter().sum();
                    assert_eq!(b.count, values.len() as u64);
                    assert!(close(b.sum, sum), "sum {} vs {sum}", b.sum);
                    assert!(close(b.avg, sum / values.len() as f64));
                    assert_eq!(b.min, values.iter().cloned().fold(f64::INFINITY, f64::min));
                    assert_eq!(
                        b.max,
                        values.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
                    );
                }
            }
        }
    }
}

#[test]
fn chart_columns_hold_the_extremes_of_each_pixel() {
    let (_dir, path, data) = build();
    let reader = CacheReader::open(&path).unwrap();
    let (from_us, to_us, pixels) = (T0 + 500_000_000, T0 + 6_000_000_000, 333u32);
    let got = reader
        .chart(Some("dev-a"), "watt", from_us, to_us, pixels)
        .unwrap();
    let mut want: BTreeMap<i64, Vec<(i64, f64)>> = BTreeMap::new();
    for &(t, v) in &data.readings[&("dev-a".to_string(), "watt".to_string())] {
        if t >= from_us && t < to_us {
            let px = (t - from_us) * i64::from(pixels) / (to_us - from_us);
            want.entry(px).or_default().push((t, v));
        }
    }
    assert!(got.len() <= pixels as usize);
    assert_eq!(got.len(), want.len());
    for (c, (_, pts)) in got.iter().zip(&want) {
        assert_eq!(c.count, pts.len() as u64);
        let sum: f64 = pts.iter().map(|p| p.1).sum();
        assert!(close(c.sum, sum), "sum {} vs {sum}", c.sum);
        assert_eq!(c.first_us, pts.iter().map(|p| p.0).min().unwrap());
        assert_eq!(c.last_us, pts.iter().map(|p| p.0).max().unwrap());
        assert_eq!(c.min, pts.iter().map(|p| p.1).fold(f64::INFINITY, f64::min));
        assert_eq!(
            c.max,
            pts.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max)
        );
    }
    // The whole fleet in one chart counts every device's readings.
    let fleet = reader.chart(None, "watt", from_us, to_us, pixels).unwrap();
    let total: u64 = fleet.iter().map(|c| c.count).sum();
    let want_total = data
        .readings
        .iter()
        .filter(|((_, m), _)| m == "watt")
        .flat_map(|(_, p)| p)
        .filter(|(t, _)| *t >= from_us && *t < to_us)
        .count();
    assert_eq!(total, want_total as u64);
}
