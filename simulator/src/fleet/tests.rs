use std::collections::HashMap;

use super::*;
use crate::utility::{FEEDER_LOSS, TRANSFORMER_LOSS};

fn spec(n: u32) -> FleetSpec {
    FleetSpec {
        smart_meters: n,
        feeders: 2,
        transformers: 1,
        ..FleetSpec::default()
    }
}

fn get(r: &Record, measure: &str) -> f64 {
    r.measures.iter().find(|(n, _)| n == measure).unwrap().1
}

fn dim<'a>(r: &'a Record, key: &str) -> Option<&'a str> {
    r.dimensions
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[test]
fn same_seed_same_fleet_same_readings() {
    let mut a = Fleet::new(&spec(20), 0);
    let mut b = Fleet::new(&spec(20), 0);
    for _ in 0..500 {
        assert_eq!(a.next_record(), b.next_record());
    }
    let c = Fleet::new(
        &FleetSpec {
            seed: 43,
            ..spec(20)
        },
        0,
    );
    assert_ne!(a.device_id(0), c.device_id(0));
}

#[test]
fn every_device_reports_once_per_interval_in_order() {
    let mut fleet = Fleet::new(&spec(50), 1_000_000_000);
    let n = fleet.device_count() as usize;
    let mut last: HashMap<String, i64> = Default::default();
    let mut count: HashMap<String, u32> = Default::default();
    let mut prev_t = i64::MIN;
    // Ten intervals' worth.
    while fleet.next_due_us().unwrap() < 1_000_000_000 + 10 * fleet.interval_us() {
        let r = fleet.next_record().unwrap();
        assert!(r.time_us >= prev_t, "readings come out in time order");
        prev_t = r.time_us;
        if let Some(t) = last.insert(r.device_id.clone(), r.time_us) {
            let gap = r.time_us - t;
            assert!((900_000..=1_100_000).contains(&gap), "gap {gap}");
        }
        *count.entry(r.device_id).or_default() += 1;
    }
    assert_eq!(count.len(), n);
    assert!(count.values().all(|c| (9..=11).contains(c)), "{count:?}");
}

#[test]
fn kinds_carry_their_measures_and_dimensions() {
    let mut fleet = Fleet::new(&spec(1), 0);
    let mut seen = HashMap::new();
    for _ in 0..4 {
        let r = fleet.next_record().unwrap();
        let kind = r.dimensions[0].1.clone();
        for key in ["Region", "Substation", "Feeder"] {
            assert!(dim(&r, key).is_some(), "{r:?} lacks {key}");
        }
        assert_eq!(dim(&r, "Transformer").is_some(), kind != "feeder");
        seen.insert(
            kind,
            r.measures.iter().map(|m| m.0.clone()).collect::<Vec<_>>(),
        );
        assert!(crate::network::REGIONS.contains(&dim(&r, "Region").unwrap()));
    }
    assert_eq!(
        seen["smart_meter"],
        vec!["voltage", "current", "watt", "energy", "temperature"]
    );
    assert!(seen["transformer"].contains(&"oil_temperature".to_string()));
    assert!(seen["feeder"].contains(&"power_factor".to_string()));
}

#[test]
fn meters_stay_plausible_and_registers_only_rise() {
    let spec = FleetSpec {
        smart_meters: 5,
        anomaly_rate: 0.0,
        interval_ms: 60_000,
        ..FleetSpec::default()
    };
    let mut fleet = Fleet::new(&spec, 1_700_000_000_000_000);
    let mut energy: HashMap<String, f64> = HashMap::new();
    for _ in 0..5_000 {
        let r = fleet.next_record().unwrap();
        let e = get(&r, "energy");
        assert!(e >= *energy.get(&r.device_id).unwrap_or(&0.0));
        energy.insert(r.device_id.clone(), e);
        assert!(get(&r, "watt") > 0.0);
        let v = get(&r, "voltage");
        assert!((207.0..=253.0).contains(&v), "no anomalies asked for: {v}");
    }
}

#[test]
fn transformers_and_feeders_carry_what_hangs_below_plus_losses() {
    let spec = FleetSpec {
        smart_meters: 24,
        feeders: 2,
        transformers: 4,
        interval_ms: 60_000,
        ..FleetSpec::default()
    };
    // On a minute, so the first slot is whole.
    let start = 1_699_999_980_000_000;
    let mut fleet = Fleet::new(&spec, start);
    // Watt by slot and by device's place.
    let mut by: HashMap<(i64, String, String), f64> = HashMap::new();
    let mut rows = Vec::new();
    while fleet.next_due_us().unwrap() < start + 30 * fleet.interval_us() {
        let r = fleet.next_record().unwrap();
        let slot = r.time_us.div_euclid(fleet.interval_us());
        let kind = dim(&r, "DeviceType").unwrap().to_owned();
        let (key, below) = match kind.as_str() {
            "smart_meter" => (dim(&r, "Transformer").unwrap(), "meters"),
            "transformer" => (dim(&r, "Feeder").unwrap(), "transformers"),
            _ => (dim(&r, "Feeder").unwrap(), "feeder"),
        };
        *by.entry((slot, below.into(), key.into())).or_default() += get(&r, "watt");
        rows.push((slot, kind, r));
    }
    let mut checked = 0;
    for (slot, kind, r) in &rows {
        let (below, key, loss) = match kind.as_str() {
            "transformer" => ("meters", dim(r, "Transformer").unwrap(), TRANSFORMER_LOSS),
            "feeder" => ("transformers", dim(r, "Feeder").unwrap(), FEEDER_LOSS),
            _ => continue,
        };
        let sum = by[&(*slot, below.to_string(), key.to_string())];
        let watt = get(r, "watt");
        assert!(
            (watt - sum * (1.0 + loss)).abs() <= 0.051,
            "{watt} vs {sum}"
        );
        checked += 1;
    }
    assert_eq!(checked, 30 * 6);
}

#[test]
fn late_and_twice_as_asked_and_each_reading_once_otherwise() {
    let mut spec = spec(100);
    spec.delivery.late_share = 0.05;
    spec.delivery.duplicate_share = 0.02;
    let mut fleet = Fleet::new(&spec, 0);
    let mut seen: HashMap<(u32, i64), u32> = HashMap::new();
    let mut late = 0;
    let mut newest = 0;
    while fleet.next_due_us().unwrap() < 300 * fleet.interval_us() {
        let d = fleet.next_delivery().unwrap();
        if d.reading.time_us < newest - 59_000_000 {
            late += 1;
        }
        newest = newest.max(d.reading.time_us);
        *seen
            .entry((d.reading.device, d.reading.time_us))
            .or_default() += 1;
    }
    let stats = fleet.stats();
    let in_flight = fleet.drain_in_flight();
    let twice = seen.values().filter(|&&n| n == 2).count() as u64;
    assert!(seen.values().all(|&n| n <= 2));
    // Late readings and second copies still on their way at the end are
    // counted but not yet delivered.
    assert!(late as u64 + in_flight.len() as u64 >= stats.late);
    assert!(twice <= stats.duplicates);
    let share = stats.late as f64 / stats.readings as f64;
    assert!((0.045..0.055).contains(&share), "late {share}");
    let share = stats.duplicates as f64 / stats.readings as f64;
    assert!((0.016..0.024).contains(&share), "twice {share}");
}

#[test]
fn skewed_clocks_are_off_by_seconds() {
    let mut spec = spec(200);
    spec.delivery.skewed_share = 0.1;
    let fleet = Fleet::new(&spec, 0);
    let skews: Vec<i64> = (0..fleet.device_count())
        .map(|d| fleet.clock_skew_us(d))
        .filter(|&s| s != 0)
        .collect();
    assert!((10..35).contains(&skews.len()), "{}", skews.len());
    assert!(
        skews
            .iter()
            .all(|s| (1_000_000..=30_000_000).contains(&s.abs()))
    );
}

#[test]
fn the_seed_shape_is_the_seed_producers_record() {
    let spec = FleetSpec {
        shape: FleetShape::Seed,
        smart_meters: 50,
        feeders: 3,
        ..FleetSpec::default()
    };
    let mut fleet = Fleet::new(&spec, 1_700_000_000_000_000);
    assert_eq!(fleet.device_count(), 50);
    let r = fleet.next_record().unwrap();
    assert!(r.dimensions.is_empty());
    assert_eq!(r.time_us % 1000, 0);
    let mut out = Vec::new();
    gridwatch_core::codec::encode(&r, &mut out);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    let mut expected = vec![
        "Time",
        "DeviceID",
        "temperature_measure",
        "humidity_measure",
        "voltage_measure",
        "watt_measure",
    ];
    let mut keys = keys;
    keys.sort_unstable();
    expected.sort_unstable();
    assert_eq!(keys, expected);
}

#[test]
fn outages_silence_exactly_their_devices_for_exactly_their_span() {
    let mut spec = spec(40);
    spec.feeders = 0;
    spec.transformers = 0;
    spec.interval_ms = 60_000;
    spec.outages.per_day = 0.3;
    let start = 1_700_000_000_000_000;
    let end = start + 2 * 86_400_000_000;
    let mut fleet = Fleet::new(&spec, start);
    let mut times: HashMap<String, Vec<i64>> = HashMap::new();
    while fleet.next_due_us().unwrap() < end {
        let r = fleet.next_record().unwrap();
        times.entry(r.device_id).or_default().push(r.time_us);
    }
    let outages = fleet.outages(start, end);
    assert!(outages.len() > 5, "{}", outages.len());
    for o in &outages {
        for d in &o.devices {
            let t = &times[d];
            assert!(
                !t.iter()
                    .any(|&t| (o.start_ms * 1000..o.end_ms * 1000).contains(&t)),
                "{d} reported during {o:?}"
            );
        }
    }
    assert!(fleet.stats().silenced > 0);
}

#[test]
fn the_wire_bytes_are_the_codecs_encoding_of_the_reading() {
    // What the run loop writes (names borrowed from the network) must be
    // byte for byte what the codec writes for the same reading as a
    // record, and decode back to it, for every kind of device and shape.
    let utility = FleetSpec {
        smart_meters: 40,
        feeders: 2,
        transformers: 5,
        ..FleetSpec::default()
    };
    let seed = FleetSpec {
        shape: FleetShape::Seed,
        ..FleetSpec::default()
    };
    for spec in [utility, seed] {
        let mut fleet = Fleet::new(&spec, 1_700_000_000_000_000);
        let mut kinds = std::collections::HashSet::new();
        for _ in 0..400 {
            let delivered = fleet.next_delivery().unwrap();
            let record = fleet.record(&delivered.reading);
            let mut ours = Vec::new();
            let id = fleet.device_id_text(delivered.reading.device);
            fleet.encode(&delivered.reading, id.as_str(), &mut ours);
            let mut codec = Vec::new();
            gridwatch_core::codec::encode(&record, &mut codec);
            assert_eq!(
                String::from_utf8(ours.clone()).unwrap(),
                String::from_utf8(codec).unwrap()
            );
            let back = gridwatch_core::codec::decode(&ours, record.time_us).unwrap();
            assert_eq!(back, record);
            kinds.insert(fleet.device_kind(delivered.reading.device));
        }
        let expected = if spec.shape == FleetShape::Seed { 1 } else { 3 };
        assert_eq!(kinds.len(), expected, "{kinds:?}");
    }
}

/// A meter whose transformer summed it earlier in the slot steps over the
/// draws of its power rather than making them again: its readings must be
/// those of the same meter in a fleet where no transformer reports.
#[test]
fn a_meters_readings_do_not_depend_on_its_transformer_reporting_first() {
    let meters = |transformers, feeders| {
        let spec = FleetSpec {
            smart_meters: 48,
            feeders,
            transformers,
            interval_ms: 60_000,
            anomaly_rate: 0.3,
            ..FleetSpec::default()
        };
        let start = 1_699_999_980_000_000;
        let mut fleet = Fleet::new(&spec, start);
        let mut out = Vec::new();
        while fleet.next_due_us().unwrap() < start + 40 * fleet.interval_us() {
            let r = fleet.next_record().unwrap();
            if dim(&r, "DeviceType") == Some("smart_meter") {
                out.push((r.device_id, r.time_us, r.measures));
            }
        }
        out.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        out
    };
    let alone = meters(0, 0);
    let summed = meters(6, 2);
    assert_eq!(alone.len(), 48 * 40);
    assert_eq!(alone, summed);
}

/// The slot's radix sort against the comparison sort it replaced, on
/// lists made as `fill_slot` makes them (in device order, ties included)
/// and for intervals from a millisecond to a day.
#[test]
fn the_slots_sort_is_the_comparison_sort() {
    let mut r = crate::signal::Rng::new(5);
    for interval_us in [
        1_000,
        1_000_000,
        900_000_000,
        86_400_000_000,
        7 * 86_400_000_000,
    ] {
        let slot_us = 1_700_000_000_000_000 / interval_us * interval_us;
        let mut due: Vec<(i64, u32)> = (0..5_000)
            .map(|d| {
                // Some ties: a few distinct times only at the shortest interval.
                let offset = (r.uniform() * interval_us as f64) as i64;
                (slot_us + offset, d)
            })
            .collect();
        let mut expected = due.clone();
        expected.sort_unstable();
        super::sort_by_time(&mut due, &mut Vec::new(), slot_us, interval_us);
        assert_eq!(due, expected, "{interval_us}");
    }
}
