//! A simulated fleet: its devices, their identities and dimensions, and the
//! schedule on which each reports.
//!
//! The schedule is one priority queue of "next reading due" times rather than
//! a task per device, so a fleet of 10,000 costs one task, and the order of
//! readings is fixed by the seed alone: real-time and as-fast-as-possible runs
//! of the same spec produce the same records in the same order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use gridwatch_core::Record;
use gridwatch_types::{DeviceKind, FleetSpec};

use crate::signal::{DeviceSignal, Rng};

pub const REGIONS: [&str; 5] = ["north", "south", "east", "west", "central"];
const FEEDERS_PER_REGION: u64 = 12;

/// Share of the interval a reading may come early or late.
const JITTER: f64 = 0.05;

/// One simulated device.
#[derive(Debug, Clone)]
pub struct SimDevice {
    pub device_id: String,
    pub kind: DeviceKind,
    pub dimensions: Vec<(String, String)>,
    signal: DeviceSignal,
    /// Offset of this device's reading grid within the interval.
    phase_us: i64,
    /// Readings taken so far.
    taken: i64,
}

pub struct Fleet {
    spec: FleetSpec,
    devices: Vec<SimDevice>,
    due: BinaryHeap<Reverse<(i64, u32)>>,
    jitter_rng: Rng,
    interval_us: i64,
    start_us: i64,
}

impl Fleet {
    /// Builds the fleet described by `spec`, whose first readings fall
    /// within one interval after `start_us`.
    pub fn new(spec: &FleetSpec, start_us: i64) -> Fleet {
        let interval_us = (spec.interval_ms.max(1) * 1000) as i64;
        let mut rng = Rng::new(spec.seed);
        let kinds = std::iter::repeat_n(DeviceKind::SmartMeter, spec.smart_meters as usize)
            .chain(std::iter::repeat_n(
                DeviceKind::Feeder,
                spec.feeders as usize,
            ))
            .chain(std::iter::repeat_n(
                DeviceKind::Transformer,
                spec.transformers as usize,
            ));
        let mut devices = Vec::with_capacity(spec.device_count() as usize);
        let mut due = BinaryHeap::with_capacity(spec.device_count() as usize);
        for (idx, kind) in kinds.enumerate() {
            let device_id = rng.uuid();
            let region = REGIONS[(rng.next_u64() % REGIONS.len() as u64) as usize];
            let feeder = format!(
                "{}-F{:02}",
                &region[..1].to_uppercase(),
                rng.next_u64() % FEEDERS_PER_REGION + 1
            );
            let signal = DeviceSignal::new(kind, &mut rng);
            let phase_us = (rng.uniform() * interval_us as f64) as i64;
            devices.push(SimDevice {
                device_id,
                kind,
                dimensions: vec![
                    ("DeviceType".into(), kind.as_str().into()),
                    ("Region".into(), region.into()),
                    ("Feeder".into(), feeder),
                ],
                signal,
                phase_us,
                taken: 0,
            });
            due.push(Reverse((start_us + phase_us, idx as u32)));
        }
        Fleet {
            spec: spec.clone(),
            devices,
            due,
            jitter_rng: Rng::new(spec.seed ^ 0x6a09_e667_f3bc_c908),
            interval_us,
            start_us,
        }
    }

    pub fn spec(&self) -> &FleetSpec {
        &self.spec
    }

    pub fn devices(&self) -> &[SimDevice] {
        &self.devices
    }

    pub fn interval_us(&self) -> i64 {
        self.interval_us
    }

    /// When the next reading is due, epoch microseconds.
    pub fn next_due_us(&self) -> Option<i64> {
        self.due.peek().map(|Reverse((t, _))| *t)
    }

    /// Takes the next due reading.
    pub fn next_record(&mut self) -> Option<Record> {
        let Reverse((time_us, idx)) = self.due.pop()?;
        let device = &mut self.devices[idx as usize];
        let measures = device.signal.sample(time_us, self.spec.anomaly_rate);
        device.taken += 1;
        // Readings sit on a per-device grid, each jittered by up to 5% of the
        // interval: irregular like real meters, never drifting, never out of
        // order for one device.
        let jitter = (self.jitter_rng.range(-JITTER, JITTER) * self.interval_us as f64) as i64;
        let next = self.start_us + device.phase_us + device.taken * self.interval_us + jitter;
        self.due.push(Reverse((next.max(time_us + 1), idx)));
        Some(Record {
            device_id: device.device_id.clone(),
            time_us,
            time_adjusted: false,
            measures,
            dimensions: device.dimensions.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(n: u32) -> FleetSpec {
        FleetSpec {
            smart_meters: n,
            feeders: 2,
            transformers: 1,
            ..FleetSpec::default()
        }
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
        assert_ne!(a.devices()[0].device_id, c.devices()[0].device_id);
    }

    #[test]
    fn every_device_reports_once_per_interval_in_order() {
        let mut fleet = Fleet::new(&spec(50), 1_000_000_000);
        let n = fleet.devices().len();
        let mut last: std::collections::HashMap<String, i64> = Default::default();
        let mut count: std::collections::HashMap<String, u32> = Default::default();
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
        let mut seen = std::collections::HashMap::new();
        for _ in 0..4 {
            let r = fleet.next_record().unwrap();
            let kind = r.dimensions[0].1.clone();
            seen.insert(
                kind,
                r.measures.iter().map(|m| m.0.clone()).collect::<Vec<_>>(),
            );
            assert!(REGIONS.contains(&r.dimensions[1].1.as_str()));
        }
        assert_eq!(
            seen["smart_meter"],
            vec!["voltage", "current", "watt", "energy", "temperature"]
        );
        assert!(seen["transformer"].contains(&"oil_temperature".to_string()));
        assert!(seen["feeder"].contains(&"power_factor".to_string()));
    }
}
