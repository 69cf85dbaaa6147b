//! The simulator as a utility's fleet behaves, checked from the records it
//! wrote (never from its internals): the network's power balances, outages
//! against their printed ground truth, late and duplicate readings, clocks
//! that are off, and the seed producer's own record.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use gridwatch_tests::{cached_readings, files_under, gridwatch_ok};
use serde_json::Value;

/// 2023-11-14T22:13:00Z, on a minute: every slot of the run is whole.
const START_MS: i64 = 1_699_999_980_000;
/// The losses the README states: 2% in a transformer, 3% on a feeder.
const TRANSFORMER_LOSS: f64 = 0.02;
const FEEDER_LOSS: f64 = 0.03;
/// Each figure is rounded to 0.1 W on the wire; a sum computed from
/// rounded figures closes to within the rounding of the one at the top.
const WATT_TOLERANCE: f64 = 0.051;

fn simulate_to_lake(lake: &Path, args: &[&str]) -> String {
    let start = START_MS.to_string();
    let mut all = vec![
        "simulate",
        "--to",
        "lake",
        "--lake",
        lake.to_str().unwrap(),
        "--start",
        &start,
    ];
    all.extend_from_slice(args);
    gridwatch_ok(&lake.join("unused.sqlite"), &all)
}

/// Every record in the lake, in the order the sink took them (files by
/// their sequence number, lines in order).
fn lake_records(lake: &Path) -> Vec<Value> {
    let root = lake.join("readings/json");
    let mut files: Vec<(u64, std::path::PathBuf)> = files_under(&root)
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_str().unwrap().to_owned();
            let seq = name
                .strip_prefix("gridwatch-readings-")
                .unwrap()
                .split('-')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            (seq, root.join(p))
        })
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|(_, p)| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<Value>>()
        })
        .collect()
}

fn text<'a>(r: &'a Value, key: &str) -> &'a str {
    r[key].as_str().unwrap_or_else(|| panic!("{r} lacks {key}"))
}

fn time_ms(r: &Value) -> f64 {
    r["Time"].as_f64().unwrap()
}

/// The count a summary line gives before `what`.
fn count_before(out: &str, what: &str) -> u64 {
    let at = out
        .find(what)
        .unwrap_or_else(|| panic!("{what:?} in {out}"));
    out[..at]
        .split_whitespace()
        .last()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn transformers_and_feeders_carry_their_meters_plus_the_stated_losses() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    simulate_to_lake(
        &lake,
        &[
            "--devices",
            "48",
            "--feeders",
            "2",
            "--transformers",
            "6",
            "--substations",
            "2",
            "--interval",
            "1m",
            "--duration",
            "2h",
        ],
    );
    let records = lake_records(&lake);
    assert_eq!(records.len(), 56 * 120);
    // Each meter on one transformer, each transformer on one feeder, the
    // same on every record.
    let mut above: HashMap<String, (String, String, String)> = HashMap::new();
    // Watt in a minute: by transformer of the meters, by feeder of the
    // transformers.
    let mut meters: HashMap<(i64, String), f64> = HashMap::new();
    let mut transformers: HashMap<(i64, String), f64> = HashMap::new();
    for r in &records {
        let kind = text(r, "DeviceType");
        let place = (
            text(r, "Substation").to_owned(),
            text(r, "Feeder").to_owned(),
            r["Transformer"].as_str().unwrap_or("").to_owned(),
        );
        assert!(r["Region"].is_string());
        assert_eq!(kind == "feeder", place.2.is_empty(), "{r}");
        let was = above.insert(text(r, "DeviceID").to_owned(), place.clone());
        assert!(was.is_none_or(|w| w == place), "{r} moved");
        let minute = (time_ms(r) / 60_000.0).floor() as i64;
        let watt = r["watt_measure"].as_f64().unwrap();
        match kind {
            "smart_meter" => *meters.entry((minute, place.2)).or_default() += watt,
            "transformer" => *transformers.entry((minute, place.1)).or_default() += watt,
            _ => {}
        }
    }
    let transformer_names: HashSet<_> = above.values().map(|p| p.2.clone()).collect();
    assert_eq!(transformer_names.len(), 6 + 1, "six and the feeders' none");
    let substations: HashSet<_> = above.values().map(|p| p.0.clone()).collect();
    assert_eq!(substations.len(), 2);
    let (mut t_checked, mut f_checked) = (0, 0);
    for r in &records {
        let minute = (time_ms(r) / 60_000.0).floor() as i64;
        let watt = r["watt_measure"].as_f64().unwrap();
        let (below, loss) = match text(r, "DeviceType") {
            "transformer" => {
                t_checked += 1;
                (
                    meters[&(minute, text(r, "Transformer").to_owned())],
                    TRANSFORMER_LOSS,
                )
            }
            "feeder" => {
                f_checked += 1;
                (
                    transformers[&(minute, text(r, "Feeder").to_owned())],
                    FEEDER_LOSS,
                )
            }
            _ => continue,
        };
        assert!(below > 0.0);
        assert!(
            (watt - below * (1.0 + loss)).abs() <= WATT_TOLERANCE,
            "{r}: {watt} W against {below} W below"
        );
    }
    assert_eq!((t_checked, f_checked), (6 * 120, 2 * 120));
}

#[test]
fn devices_are_silent_exactly_during_the_printed_outages() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let truth = dir.path().join("outages.jsonl");
    let out = simulate_to_lake(
        &lake,
        &[
            "--devices",
            "60",
            "--transformers",
            "6",
            "--feeders",
            "2",
            "--interval",
            "1m",
            "--days",
            "2",
            "--outages",
            "0.3",
            "--outage-duration",
            "10m..3h",
            "--outages-out",
            truth.to_str().unwrap(),
        ],
    );
    let outages: Vec<Value> = std::fs::read_to_string(&truth)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let scopes: HashSet<&str> = outages.iter().map(|o| text(o, "scope")).collect();
    assert_eq!(scopes, HashSet::from(["feeder", "transformer", "meter"]));
    // Each device's reading times, ms.
    let mut heard: HashMap<String, Vec<f64>> = HashMap::new();
    for r in lake_records(&lake) {
        heard
            .entry(text(&r, "DeviceID").to_owned())
            .or_default()
            .push(time_ms(&r));
    }
    assert_eq!(heard.len(), 68);
    let first = START_MS / 60_000;
    let last = first + 2 * 24 * 60 - 1;
    // Each device's spans of silence, in milliseconds.
    let mut silent: HashMap<&str, Vec<(i64, i64)>> = HashMap::new();
    let mut inside = 0;
    for o in &outages {
        let (start, end) = (
            o["start_ms"].as_i64().unwrap(),
            o["end_ms"].as_i64().unwrap(),
        );
        assert!(end > start);
        let (s, e) = (start as f64, end as f64);
        for d in o["devices"].as_array().unwrap() {
            let d = d.as_str().unwrap();
            silent.entry(d).or_default().push((start, end));
            let times = &heard[d];
            assert!(
                !times.iter().any(|t| (s..e).contains(t)),
                "{d} reported during {o}"
            );
            // Heard before and after, when the outage lies inside the run.
            if start > (first + 1) * 60_000 && end < last * 60_000 {
                inside += 1;
                assert!(times.iter().any(|t| *t < s), "{d} before {o}");
                assert!(times.iter().any(|t| *t >= e), "{d} after {o}");
            }
        }
    }
    assert!(inside > 20, "{inside} device-outages inside the run");
    // And silent only then: every minute a device missed overlaps one of
    // its outages.
    let mut missed_total = 0u64;
    for (d, times) in &heard {
        let heard: HashSet<i64> = times
            .iter()
            .map(|t| (t / 60_000.0).floor() as i64)
            .collect();
        for m in first..=last {
            if heard.contains(&m) {
                continue;
            }
            missed_total += 1;
            let spans = silent
                .get(d.as_str())
                .map(Vec::as_slice)
                .unwrap_or_default();
            assert!(
                spans
                    .iter()
                    .any(|&(s, e)| s < (m + 1) * 60_000 && e > m * 60_000),
                "{d} missed minute {m} with no outage"
            );
        }
    }
    assert_eq!(missed_total, count_before(&out, "silenced by outages"));
}

#[test]
fn late_and_duplicate_readings_arrive_as_configured() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let out = simulate_to_lake(
        &lake,
        &[
            "--devices",
            "50",
            "--interval",
            "1s",
            "--duration",
            "10m",
            "--late",
            "0.05",
            "--late-max",
            "3m",
            "--duplicates",
            "0.03",
        ],
    );
    let taken = count_before(&out, "readings taken");
    let late = count_before(&out, "delivered late");
    let twice = count_before(&out, "delivered twice");
    assert_eq!(taken, 50 * 600);
    let records = lake_records(&lake);
    assert_eq!(records.len() as u64, taken + twice);
    let mut copies: HashMap<(String, String), u32> = HashMap::new();
    let mut late_seen = HashSet::new();
    let mut newest = 0.0f64;
    // What still was on its way when the run ended arrives after the
    // newest reading of the run: a first copy there is late too.
    let last_on_time = (0..records.len())
        .max_by(|&a, &b| time_ms(&records[a]).total_cmp(&time_ms(&records[b])))
        .unwrap();
    for (i, r) in records.iter().enumerate() {
        let key = (text(r, "DeviceID").to_owned(), r["Time"].to_string());
        // Late: at least a minute behind what had already arrived.
        if time_ms(r) < newest - 59_000.0 || (i > last_on_time && !copies.contains_key(&key)) {
            late_seen.insert(key.clone());
        }
        newest = newest.max(time_ms(r));
        *copies.entry(key).or_default() += 1;
    }
    assert_eq!(copies.len() as u64, taken, "each reading is there");
    assert_eq!(
        copies.values().filter(|&&n| n == 2).count() as u64,
        twice,
        "and the duplicates twice"
    );
    assert!(copies.values().all(|&n| n <= 2));
    assert_eq!(late_seen.len() as u64, late);
    // The shares asked for, within 0.5 percentage points for this seed.
    let share = |n: u64| n as f64 / taken as f64;
    assert!((share(late) - 0.05).abs() < 0.005, "late {}", share(late));
    assert!(
        (share(twice) - 0.03).abs() < 0.005,
        "twice {}",
        share(twice)
    );
}

#[test]
fn the_cache_holds_each_reading_once_despite_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("dup.sqlite");
    let start = START_MS.to_string();
    let out = gridwatch_ok(
        &cache,
        &[
            "simulate",
            "--devices",
            "40",
            "--interval",
            "1s",
            "--duration",
            "5m",
            "--fast",
            "--start",
            &start,
            "--duplicates",
            "0.1",
            "--late",
            "0.05",
        ],
    );
    let taken = count_before(&out, "readings taken");
    let twice = count_before(&out, "delivered twice");
    assert_eq!(taken, 40 * 300);
    assert!(twice > 1_000, "{out}");
    // Five measures a meter reading; each second copy changes nothing.
    assert_eq!(cached_readings(&cache), Some(taken as i64 * 5));
    assert_eq!(count_before(&out, "new readings"), taken * 5, "{out}");
    assert!(
        out.contains(&format!("({} already cached, 0 conflicts)", twice * 5)),
        "{out}"
    );
}

#[test]
fn skewed_clocks_are_off_by_seconds_for_the_asked_share() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, extra: &[&str]| {
        let lake = dir.path().join(name);
        let mut args = vec!["--devices", "200", "--interval", "1m", "--duration", "10m"];
        args.extend_from_slice(extra);
        simulate_to_lake(&lake, &args);
        let mut times: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for r in lake_records(&lake) {
            times
                .entry(text(&r, "DeviceID").to_owned())
                .or_default()
                .push(time_ms(&r));
        }
        times
    };
    let true_time = run("true", &[]);
    let skewed = run("skewed", &["--skewed", "0.2", "--skew-max", "20s"]);
    let mut off = 0;
    for (device, times) in &skewed {
        let offsets: Vec<f64> = times
            .iter()
            .zip(&true_time[device])
            .map(|(s, t)| s - t)
            .collect();
        // A clock that is off is off by the same amount all along.
        assert!(
            offsets.iter().all(|o| (o - offsets[0]).abs() < 0.001),
            "{offsets:?}"
        );
        if offsets[0] != 0.0 {
            off += 1;
            assert!(
                (1_000.0..=20_000.0).contains(&offsets[0].abs()),
                "{offsets:?}"
            );
        }
    }
    assert!((30..=50).contains(&off), "{off} of 200 clocks off");
}

#[test]
fn the_seed_shape_is_the_seed_producers_record() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let out = simulate_to_lake(
        &lake,
        &["--shape", "seed", "--interval", "1s", "--duration", "10m"],
    );
    assert!(out.contains("simulated 50 devices"), "{out}");
    let records = lake_records(&lake);
    assert_eq!(records.len(), 50 * 600);
    let ranges = [
        ("temperature_measure", 10.0, 15.0),
        ("humidity_measure", 50.0, 100.0),
        ("voltage_measure", 30.0, 70.0),
        ("watt_measure", 200.0, 400.0),
    ];
    let expected: HashSet<&str> = ["Time", "DeviceID"]
        .into_iter()
        .chain(ranges.iter().map(|r| r.0))
        .collect();
    let mut devices = HashSet::new();
    let mut anomalies = 0;
    for r in &records {
        let keys: HashSet<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, expected, "{r}");
        // Whole milliseconds, as the producer's int(time.time() * 1000).
        assert!(r["Time"].is_u64(), "{r}");
        devices.insert(text(r, "DeviceID").to_owned());
        let outside = ranges
            .iter()
            .filter(|(k, lo, hi)| !(*lo..*hi).contains(&r[*k].as_f64().unwrap()))
            .count();
        assert!(outside <= 1, "{r}");
        anomalies += outside;
    }
    assert_eq!(devices.len(), 50);
    let share = anomalies as f64 / records.len() as f64;
    assert!((share - 0.051).abs() < 0.005, "anomaly share {share}");
}
