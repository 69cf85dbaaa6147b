//! A simulated fleet: its devices, their identities and dimensions, the
//! schedule on which each reports, and how its readings are delivered.
//!
//! The schedule is one priority queue of "next reading due" times rather
//! than a task per device, so a fleet of 10,000 costs one task. Readings
//! sit on an epoch-aligned grid of slots, one a interval: a device's
//! reading of slot `k` is taken at its own phase within the slot (10% to
//! 90% of the way in) give or take 5% of the interval, so it never leaves
//! its slot, and everything random about it is keyed by the seed, the
//! device and the slot. Real-time and as-fast-as-possible runs of the same
//! spec produce the same records in the same order.
//!
//! A device costs the fleet its next due time and its energy register (24
//! bytes); identities, dimensions and signal parameters are derived from
//! the seed when a reading needs them, so a fleet of a million meters holds
//! tens of megabytes, not the readings.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use gridwatch_core::Record;
use gridwatch_types::{Delivery, DeviceKind, FleetShape, FleetSpec};

use crate::network::Network;
use crate::outage::{Outage, Schedule, Scope};
use crate::signal::Rng;
use crate::utility::{Part, Register, Silence, Utility};

/// Share of the interval a reading may come early or late.
const JITTER: f64 = 0.05;
const ID_SALT: u64 = 0x1d00_0000_0000_0001;
const PHASE_SALT: u64 = 0x1d00_0000_0000_0002;
const JITTER_SALT: u64 = 0x1d00_0000_0000_0003;
const DELIVERY_SALT: u64 = 0x1d00_0000_0000_0004;
const SKEW_SALT: u64 = 0x1d00_0000_0000_0005;
/// A duplicate comes this long after its first copy: a gateway's retry
/// after a lost acknowledgement.
const DUPLICATE_DELAY_US: (f64, f64) = (1e6, 10e6);

/// A record and when it reaches the sink (epoch microseconds): its own
/// time, later for a late reading or a second copy.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivered {
    pub record: Record,
    pub at_us: i64,
}

/// What the fleet did so far, for summaries and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FleetStats {
    /// Readings taken (each once, however it was delivered).
    pub readings: u64,
    /// Readings not taken because the device was in an outage.
    pub silenced: u64,
    /// Readings held back and delivered late.
    pub late: u64,
    /// Second copies delivered.
    pub duplicates: u64,
}

struct Pending {
    at_us: i64,
    order: u64,
    record: Record,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.at_us, self.order) == (other.at_us, other.order)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at_us, self.order).cmp(&(other.at_us, other.order))
    }
}

pub struct Fleet {
    spec: FleetSpec,
    utility: Utility,
    interval_us: i64,
    due: BinaryHeap<Reverse<(i64, u32)>>,
    registers: Vec<Register>,
    in_flight: BinaryHeap<Reverse<Pending>>,
    order: u64,
    stats: FleetStats,
}

impl Fleet {
    /// Builds the fleet described by `spec`, whose first readings fall
    /// within one interval after `start_us`.
    pub fn new(spec: &FleetSpec, start_us: i64) -> Fleet {
        let interval_us =
            (spec.interval_ms.max(1).saturating_mul(1000)).min(i64::MAX as u64) as i64;
        let utility = Utility {
            seed: spec.seed,
            net: Network::new(spec),
            anomaly_rate: spec.anomaly_rate,
            interval_us,
            outages: Schedule::new(spec.seed, spec.outages),
        };
        let n = spec.device_count();
        let mut fleet = Fleet {
            spec: spec.clone(),
            utility,
            interval_us,
            due: BinaryHeap::with_capacity(n as usize),
            registers: Vec::new(),
            in_flight: BinaryHeap::new(),
            order: 0,
            stats: FleetStats::default(),
        };
        if spec.shape == FleetShape::Utility {
            fleet.registers = (0..n)
                .map(|d| fleet.utility.first_register(fleet.part(d)))
                .collect();
        }
        let first_slot = start_us.div_euclid(interval_us);
        for d in 0..n {
            let mut slot = first_slot;
            if fleet.due_at(d, slot) < start_us {
                slot += 1;
            }
            fleet.due.push(Reverse((fleet.due_at(d, slot), d)));
        }
        fleet
    }

    pub fn spec(&self) -> &FleetSpec {
        &self.spec
    }

    pub fn interval_us(&self) -> i64 {
        self.interval_us
    }

    pub fn network(&self) -> &Network {
        &self.utility.net
    }

    pub fn stats(&self) -> FleetStats {
        self.stats
    }

    pub fn device_count(&self) -> u32 {
        self.spec.device_count()
    }

    /// Device `d`'s part of the network: meters first, then the fleet's
    /// feeders, then its transformers.
    fn part(&self, d: u32) -> Part {
        let meters = self.spec.smart_meters;
        let feeders = self.spec.feeders;
        if d < meters {
            Part::Meter(d)
        } else if d - meters < feeders {
            Part::Feeder(d - meters)
        } else {
            Part::Transformer(d - meters - feeders)
        }
    }

    /// The device ID of device `d`: a version-4 UUID drawn from the seed.
    pub fn device_id(&self, d: u32) -> String {
        Rng::keyed(self.spec.seed ^ ID_SALT, u64::from(d), 0).uuid()
    }

    pub fn device_kind(&self, d: u32) -> DeviceKind {
        self.part(d).kind()
    }

    /// The dimensions on device `d`'s records: where it hangs in the
    /// network. The seed's producer sends none.
    pub fn dimensions(&self, d: u32) -> Vec<(String, String)> {
        if self.spec.shape == FleetShape::Seed {
            return Vec::new();
        }
        let net = &self.utility.net;
        let part = self.part(d);
        let (transformer, feeder) = match part {
            Part::Meter(i) => {
                let t = net.transformer_of(i);
                (Some(t), net.feeder_of(t))
            }
            Part::Transformer(j) => (Some(j), net.feeder_of(j)),
            Part::Feeder(f) => (None, f),
        };
        let mut dims = vec![
            ("DeviceType".into(), part.kind().as_str().into()),
            ("Region".into(), net.region_of_feeder(feeder).into()),
            (
                "Substation".into(),
                net.substation_name(net.substation_of(feeder)).into(),
            ),
            ("Feeder".into(), net.feeder_name(feeder).into()),
        ];
        // A feeder has no transformer above it.
        if let Some(t) = transformer {
            dims.push(("Transformer".into(), net.transformer_name(t).into()));
        }
        dims
    }

    /// How far device `d`'s clock is off, microseconds (0 for most).
    pub fn clock_skew_us(&self, d: u32) -> i64 {
        let Delivery {
            skewed_share,
            skew_max_ms,
            ..
        } = self.spec.delivery;
        let mut r = Rng::keyed(self.spec.seed ^ SKEW_SALT, u64::from(d), 0);
        if !r.chance(skewed_share) {
            return 0;
        }
        // Off by seconds: at least one, at most the configured bound.
        let max = skew_max_ms as f64 * 1000.0;
        let magnitude = r.range(max.min(1e6), max);
        let sign = if r.chance(0.5) { -1.0 } else { 1.0 };
        (sign * magnitude) as i64
    }

    /// When device `d` takes its reading of `slot`.
    fn due_at(&self, d: u32, slot: i64) -> i64 {
        let i = self.interval_us as f64;
        let phase = Rng::keyed(self.spec.seed ^ PHASE_SALT, u64::from(d), 0).range(0.1, 0.9);
        let jitter =
            Rng::keyed(self.spec.seed ^ JITTER_SALT, u64::from(d), slot).range(-JITTER, JITTER);
        slot * self.interval_us + ((phase + jitter) * i) as i64
    }

    /// When the next record reaches the sink, epoch microseconds.
    pub fn next_due_us(&self) -> Option<i64> {
        let due = self.due.peek().map(|Reverse((t, _))| *t);
        let held = self.in_flight.peek().map(|Reverse(p)| p.at_us);
        match (due, held) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next record to reach the sink.
    pub fn next_record(&mut self) -> Option<Record> {
        self.next_delivery().map(|d| d.record)
    }

    /// The next record to reach the sink, and when it does.
    pub fn next_delivery(&mut self) -> Option<Delivered> {
        loop {
            let due = self.due.peek().map(|Reverse((t, _))| *t);
            if let Some(Reverse(p)) = self.in_flight.peek()
                && due.is_none_or(|t| p.at_us <= t)
            {
                let Reverse(p) = self.in_flight.pop()?;
                return Some(Delivered {
                    record: p.record,
                    at_us: p.at_us,
                });
            }
            let Reverse((time_us, d)) = self.due.pop()?;
            let slot = time_us.div_euclid(self.interval_us);
            self.due.push(Reverse((self.due_at(d, slot + 1), d)));
            let Some(record) = self.reading(d, slot, time_us) else {
                self.stats.silenced += 1;
                continue;
            };
            self.stats.readings += 1;
            let delivery = self.spec.delivery;
            let mut r = Rng::keyed(self.spec.seed ^ DELIVERY_SALT, u64::from(d), slot);
            let late = r.chance(delivery.late_share);
            let twice = r.chance(delivery.duplicate_share);
            let at_us = if late {
                let min = Delivery::LATE_MIN_MS as f64 * 1000.0;
                time_us + r.range(min, delivery.late_max_ms as f64 * 1000.0) as i64
            } else {
                time_us
            };
            if twice {
                self.stats.duplicates += 1;
                let again = at_us + r.range(DUPLICATE_DELAY_US.0, DUPLICATE_DELAY_US.1) as i64;
                self.hold(again, record.clone());
            }
            if late {
                self.stats.late += 1;
                self.hold(at_us, record);
                continue;
            }
            return Some(Delivered { record, at_us });
        }
    }

    fn hold(&mut self, at_us: i64, record: Record) {
        self.order += 1;
        self.in_flight.push(Reverse(Pending {
            at_us,
            order: self.order,
            record,
        }));
    }

    /// The records still on their way (late readings, second copies), in
    /// the order they would arrive: what a run hands its sink at its end.
    pub fn drain_in_flight(&mut self) -> Vec<Delivered> {
        let mut out = Vec::with_capacity(self.in_flight.len());
        while let Some(Reverse(p)) = self.in_flight.pop() {
            out.push(Delivered {
                record: p.record,
                at_us: p.at_us,
            });
        }
        out
    }

    /// Device `d`'s reading of `slot`, taken at `time_us`; None while it
    /// is in an outage.
    fn reading(&mut self, d: u32, slot: i64, time_us: i64) -> Option<Record> {
        let measures = match self.spec.shape {
            FleetShape::Seed => {
                if self.utility.outages.is_out(Scope::Meter, d, time_us) {
                    return None;
                }
                crate::seed::sample(self.spec.seed, d, slot, self.spec.anomaly_rate)
            }
            FleetShape::Utility => {
                let part = self.part(d);
                match self.utility.silence(part, time_us) {
                    Some(Silence::PowerOff) => {
                        // No power, no consumption: the register stands still.
                        self.registers[d as usize].last_us = Some(time_us);
                        return None;
                    }
                    Some(Silence::Communications) => return None,
                    None => {}
                }
                let mut register = self.registers[d as usize];
                let m = self.utility.sample(part, slot, time_us, &mut register);
                self.registers[d as usize] = register;
                m
            }
        };
        let mut reported = time_us + self.clock_skew_us(d);
        if self.spec.shape == FleetShape::Seed {
            // The seed's producer sends whole milliseconds.
            reported -= reported.rem_euclid(1000);
        }
        Some(Record {
            device_id: self.device_id(d),
            time_us: reported,
            time_adjusted: false,
            measures,
            dimensions: self.dimensions(d),
        })
    }

    /// The outages that overlap `[from_us, to_us)`, in time order: the
    /// ground truth of what went silent, with the devices of this fleet
    /// each one silenced.
    pub fn outages(&self, from_us: i64, to_us: i64) -> Vec<Outage> {
        let schedule = &self.utility.outages;
        let mut out = Vec::new();
        if !schedule.is_on() {
            return out;
        }
        let net = &self.utility.net;
        let utility = self.spec.shape == FleetShape::Utility;
        let meters = self.spec.smart_meters;
        let feeder_device = |f: u32| meters + f;
        let transformer_device = |j: u32| meters + self.spec.feeders + j;
        let mut push =
            |scope, name: String, place: [Option<String>; 3], span: (i64, i64), devices| {
                let [substation, feeder, transformer] = place;
                out.push(Outage {
                    scope,
                    name,
                    substation,
                    feeder,
                    transformer,
                    start_ms: span.0.div_euclid(1000),
                    end_ms: span.1.div_euclid(1000),
                    start: gridwatch_types::time::format_time(span.0),
                    end: gridwatch_types::time::format_time(span.1),
                    devices,
                });
            };
        if utility {
            for f in 0..net.feeders {
                for span in schedule.between(Scope::Feeder, f, from_us, to_us) {
                    let mut devices = Vec::new();
                    if net.feeders_report {
                        devices.push(self.device_id(feeder_device(f)));
                    }
                    for j in net.transformers_on(f) {
                        if net.transformers_report {
                            devices.push(self.device_id(transformer_device(j)));
                        }
                        devices.extend(net.meters_on(j).map(|m| self.device_id(m)));
                    }
                    let place = self.place(f, None);
                    push(
                        Scope::Feeder,
                        net.feeder_name(f).into(),
                        place,
                        span,
                        devices,
                    );
                }
            }
            for j in 0..net.transformers {
                for span in schedule.between(Scope::Transformer, j, from_us, to_us) {
                    let mut devices = Vec::new();
                    if net.transformers_report {
                        devices.push(self.device_id(transformer_device(j)));
                    }
                    devices.extend(net.meters_on(j).map(|m| self.device_id(m)));
                    let place = self.place(net.feeder_of(j), Some(j));
                    let name = net.transformer_name(j).into();
                    push(Scope::Transformer, name, place, span, devices);
                }
            }
        }
        for m in 0..meters {
            for span in schedule.between(Scope::Meter, m, from_us, to_us) {
                let place = if utility {
                    let j = net.transformer_of(m);
                    self.place(net.feeder_of(j), Some(j))
                } else {
                    [None, None, None]
                };
                let id = self.device_id(m);
                push(Scope::Meter, id.clone(), place, span, vec![id]);
            }
        }
        out.sort_by(|a, b| (a.start_ms, &a.name).cmp(&(b.start_ms, &b.name)));
        out
    }

    /// Substation, feeder and transformer names, for the ground truth.
    fn place(&self, feeder: u32, transformer: Option<u32>) -> [Option<String>; 3] {
        let net = &self.utility.net;
        [
            Some(net.substation_name(net.substation_of(feeder)).into()),
            Some(net.feeder_name(feeder).into()),
            transformer.map(|j| net.transformer_name(j).into()),
        ]
    }
}

#[cfg(test)]
mod tests;
