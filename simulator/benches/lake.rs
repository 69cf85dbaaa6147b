//! The simulator into the lake against a bare loop that writes the same
//! records with serde_json into the same partition files: what generating
//! a realistic fleet (network sums, outages off, delivery on time) and
//! Firehose-style files cost beyond serialising the records at all.
#![allow(clippy::unwrap_used)] // a bench that unwraps fails loudly

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gridwatch_core::Record;
use gridwatch_simulator::lake::{LakeOptions, LakeSink, json_root, partition};
use gridwatch_simulator::{Fleet, Pacing, RunOptions, run_fleet};
use gridwatch_types::FleetSpec;
use serde::ser::{Serialize, SerializeMap, Serializer};

/// 2023-11-14T00:00:00Z.
const START_US: i64 = 1_699_920_000_000_000;
/// 20,000 meters and their network (2,500 transformers, 209 feeders,
/// reporting) at 15 minutes, for 2 hours: 8 slots of 22,709 devices.
fn spec() -> FleetSpec {
    FleetSpec {
        smart_meters: 20_000,
        feeders: 209,
        transformers: 2_500,
        interval_ms: 15 * 60 * 1000,
        ..FleetSpec::default()
    }
}
const SPAN_US: i64 = 2 * 3_600_000_000;

/// A record as the wire has it, through serde.
struct Wire<'a>(&'a Record);

impl Serialize for Wire<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut map = s.serialize_map(Some(2 + r.measures.len() + r.dimensions.len()))?;
        if r.time_us % 1000 == 0 {
            map.serialize_entry("Time", &(r.time_us / 1000))?;
        } else {
            map.serialize_entry("Time", &(r.time_us as f64 / 1000.0))?;
        }
        map.serialize_entry("DeviceID", &r.device_id)?;
        for (name, value) in &r.measures {
            map.serialize_entry(&measure_key(name), value)?;
        }
        for (key, value) in &r.dimensions {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

fn measure_key(name: &str) -> std::borrow::Cow<'static, str> {
    match name {
        "voltage" => "voltage_measure".into(),
        "current" => "current_measure".into(),
        "watt" => "watt_measure".into(),
        "energy" => "energy_measure".into(),
        "temperature" => "temperature_measure".into(),
        "power_factor" => "power_factor_measure".into(),
        "oil_temperature" => "oil_temperature_measure".into(),
        "load_pct" => "load_pct_measure".into(),
        other => format!("{other}_measure").into(),
    }
}

/// The bare loop: the same records, serialised with serde_json, a file
/// per hour partition or per 5 MiB, as the sink cuts them, each written
/// whole (temporary name, fsync, rename) as the sink writes its files.
fn bare_loop<R: std::borrow::Borrow<Record>>(
    records: impl IntoIterator<Item = R>,
    dir: &Path,
) -> u64 {
    let root = json_root(dir);
    let mut buffer = Vec::with_capacity(5 << 20);
    let mut hour = None;
    let mut files = 0u64;
    let mut flush = |hour: i64, buffer: &mut Vec<u8>| {
        if buffer.is_empty() {
            return;
        }
        files += 1;
        let folder = partition(&root, hour);
        gridwatch_core::files::write_whole(&folder.join(format!("bare-{files}")), buffer).unwrap();
        buffer.clear();
    };
    let mut n = 0;
    for r in records {
        let r = r.borrow();
        n += 1;
        let h = r.time_us.div_euclid(3_600_000_000) * 3_600_000_000;
        if hour != Some(h) || buffer.len() > (5 << 20) - 1024 {
            if let Some(old) = hour {
                flush(old, &mut buffer);
            }
            hour = Some(h);
        }
        serde_json::to_writer(&mut buffer, &Wire(r)).unwrap();
        buffer.write_all(b"\n").unwrap();
    }
    if let Some(old) = hour {
        flush(old, &mut buffer);
    }
    n
}

/// The same work the plain way, a baseline that does neither more nor
/// less than the simulator: the same fleet's readings made as `Record`s
/// (owned strings) inside the timer and written by the bare loop.
fn serde_simulator(dir: &Path) -> u64 {
    let mut fleet = Fleet::new(&spec(), START_US);
    let records = std::iter::from_fn(|| {
        (fleet.next_due_us()? < START_US + SPAN_US).then(|| fleet.next_record())?
    });
    bare_loop(records, dir)
}

async fn simulate(dir: &Path) -> u64 {
    let mut fleet = Fleet::new(&spec(), START_US);
    let mut sink = LakeSink::new(LakeOptions::new(dir));
    let (_tx, stop) = tokio::sync::watch::channel(false);
    let options = RunOptions {
        pacing: Pacing::AsFastAsPossible,
        end_us: Some(START_US + SPAN_US),
    };
    run_fleet(&mut fleet, &mut sink, options, stop, |_| {})
        .await
        .unwrap()
        .records
}

/// The sides taken in turns (simulator, bare loop, plain simulator; then
/// bare loop, plain simulator, simulator; …), so that what else the
/// machine does over the run falls on all alike; criterion measures one after the other, and on a shared
/// machine their ratio moves by a tenth between runs. The ratios of the
/// medians printed here are the figures BENCHMARKS.md gives.
fn in_turns(records: &[Record], rt: &tokio::runtime::Runtime) {
    const TURNS: usize = 21; // a multiple of the three sides
    let mut ours = Vec::with_capacity(TURNS);
    let mut bare = Vec::with_capacity(TURNS);
    let mut plain = Vec::with_capacity(TURNS);
    for turn in 0..TURNS {
        // Each side goes first, second and third as often: what one side
        // leaves behind (a heap grown by the plain simulator's strings)
        // falls on each of the others alike.
        for side in (0..3).map(|k| (k + turn) % 3) {
            let dir = settled_dir();
            let started = Instant::now();
            let n = match side {
                0 => rt.block_on(simulate(dir.path())),
                1 => bare_loop(records, dir.path()),
                _ => serde_simulator(dir.path()),
            };
            let took = started.elapsed();
            assert_eq!(n, records.len() as u64);
            [&mut ours, &mut bare, &mut plain][side].push(took);
        }
    }
    let median = |mut times: Vec<std::time::Duration>| {
        times.sort();
        times[TURNS / 2]
    };
    let (ours, bare, plain) = (median(ours), median(bare), median(plain));
    println!(
        "simulate_to_lake in turns ({TURNS} each, medians): simulator {ours:?}, bare loop {bare:?}: \
         the simulator runs at {:.2} of the bare loop's speed",
        bare.as_secs_f64() / ours.as_secs_f64()
    );
    println!(
        "simulate_to_lake in turns: the plain simulator (Records, serde_json) {plain:?}: \
         the simulator runs at {:.2}x its speed",
        plain.as_secs_f64() / ours.as_secs_f64()
    );
}

/// Both sides must write the same lake: the same lines in the same hour
/// partitions, byte for byte (the file names and cuts aside). A race
/// against a loop that writes something else would measure nothing.
fn same_lake(records: &[Record], rt: &tokio::runtime::Runtime) {
    let ours = tempfile::tempdir().unwrap();
    rt.block_on(simulate(ours.path()));
    let bare = tempfile::tempdir().unwrap();
    bare_loop(records, bare.path());
    let (ours, bare) = (
        lines(&json_root(ours.path())),
        lines(&json_root(bare.path())),
    );
    assert_eq!(ours.len(), records.len());
    assert!(
        ours == bare,
        "the simulator and the bare loop wrote different lakes"
    );
    let plain = tempfile::tempdir().unwrap();
    serde_simulator(plain.path());
    let plain = lines(&json_root(plain.path()));
    assert!(
        ours == plain,
        "the simulator and its plain twin wrote different lakes"
    );
}

/// Every line under `root`, with the partition folder it is in, sorted.
fn lines(root: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            let partition = folder.strip_prefix(root).unwrap().to_path_buf();
            let bytes = std::fs::read(&path).unwrap();
            out.extend(
                (bytes.split(|&b| b == b'\n'))
                    .filter(|line| !line.is_empty())
                    .map(|line| (partition.clone(), line.to_vec())),
            );
        }
    }
    out.sort();
    out
}

/// A fresh folder, with the removal of the last turn's files flushed
/// first: otherwise the next turn's first fsync commits the file system's
/// journal of those removals, and the turn after a removal pays for it.
fn settled_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let parent = dir.path().parent().unwrap();
    std::fs::File::open(parent).unwrap().sync_all().unwrap();
    dir
}

fn lake(c: &mut Criterion) {
    let mut fleet = Fleet::new(&spec(), START_US);
    let mut records = Vec::new();
    while fleet.next_due_us().unwrap() < START_US + SPAN_US {
        records.push(fleet.next_record().unwrap());
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    same_lake(&records, &rt);
    in_turns(&records, &rt);
    let mut group = c.benchmark_group("simulate_to_lake");
    group.sample_size(10);
    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function("gridwatch simulator into the lake sink", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |dir| assert_eq!(rt.block_on(simulate(dir.path())), records.len() as u64),
            criterion::BatchSize::PerIteration,
        );
    });
    group.bench_function("bare loop: serde_json of the same records", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |dir| bare_loop(&records, dir.path()),
            criterion::BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, lake);
criterion_main!(benches);
