//! A simulated fleet: its devices, their identities and dimensions, the
//! schedule on which each reports, and how its readings are delivered.
//!
//! The schedule is one list of the readings due in the current slot, in
//! time order, rather than a task per device, so a fleet of 10,000 costs
//! one task. Readings sit on an epoch-aligned grid of slots, one an
//! interval: a device's reading of slot `k` is taken at its own phase
//! within the slot (10% to 90% of the way in) give or take 5% of the
//! interval, so it never leaves its slot, and everything random about it
//! is keyed by the seed, the device and the slot. Real-time and
//! as-fast-as-possible runs of the same spec produce the same records in
//! the same order.
//!
//! A device costs the fleet its due time in the slot (16 bytes), its
//! energy register (16) and its power in the slot for the network's sums
//! (16); identities, dimensions and signal parameters are derived from the
//! seed when a reading needs them, so a fleet of a million meters holds
//! tens of megabytes, not the readings. A reading is written into the
//! sink's bytes with the network's names borrowed ([`Fleet::encode`]): no
//! record of owned strings is built on the way.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use gridwatch_core::Record;
use gridwatch_core::codec::RecordWriter;
use gridwatch_types::{Delivery, DeviceKind, FleetShape, FleetSpec};

use crate::network::Network;
use crate::outage::{Outage, Schedule, Scope};
use crate::reading::Reading;
use crate::signal::{Rng, UuidText};
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

/// A reading and when it reaches the sink (epoch microseconds): its own
/// time, later for a late reading or a second copy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Delivered {
    pub reading: Reading,
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
    reading: Reading,
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
    /// The readings due in `slot`, (time, device) in time order; the
    /// first `next` are taken.
    due: Vec<(i64, u32)>,
    /// The other half of `fill_slot`'s sort, kept for its allocation.
    spare: Vec<(i64, u32)>,
    next: usize,
    slot: i64,
    registers: Vec<Register>,
    /// Each device's place in the interval ([`draw_phase`]): drawn once,
    /// not every slot. (An ID is drawn for every reading instead: that is
    /// cheaper than a miss in a table of them, as devices come in the
    /// order of their times.)
    phases: Vec<f64>,
    in_flight: BinaryHeap<Reverse<Pending>>,
    order: u64,
    stats: FleetStats,
}

/// Device `d`'s ID: a version-4 UUID drawn from the seed.
fn draw_id(seed: u64, d: u32) -> UuidText {
    Rng::keyed(seed ^ ID_SALT, u64::from(d), 0).uuid_text()
}

/// Where in each slot device `d` reports, as a share of the interval.
fn draw_phase(seed: u64, d: u32) -> f64 {
    Rng::keyed(seed ^ PHASE_SALT, u64::from(d), 0).range(0.1, 0.9)
}

/// Sorts a slot's `due` list by time, then by device: a radix sort by the
/// time within the slot (which starts at `slot_us` and lasts `interval_us`),
/// 11 bits a pass. It is stable and the list is made in device order, so
/// ties stay in device order. A slot's list is as long as the fleet; a
/// comparison sort of it was a twentieth of the simulator's time.
fn sort_by_time(
    due: &mut Vec<(i64, u32)>,
    spare: &mut Vec<(i64, u32)>,
    slot_us: i64,
    interval_us: i64,
) {
    const BITS: u32 = 11;
    const MASK: u64 = (1 << BITS) - 1;
    if due
        .iter()
        .any(|&(t, _)| t < slot_us || t - slot_us >= interval_us)
    {
        // Never made so (a reading never leaves its slot), but sorted all the same.
        due.sort_unstable();
        return;
    }
    let span = interval_us.max(1) as u64;
    for pass in 0..(u64::BITS - span.leading_zeros()).div_ceil(BITS) {
        let digit = |t: i64| (((t - slot_us) as u64 >> (pass * BITS)) & MASK) as usize;
        // Where each digit's entries start, then the next free place.
        let mut place = [0usize; 1 << BITS];
        for &(t, _) in due.iter() {
            place[digit(t)] += 1;
        }
        let mut start = 0;
        for p in place.iter_mut() {
            (*p, start) = (start, start + *p);
        }
        spare.clear();
        spare.resize(due.len(), (0, 0));
        for &entry in due.iter() {
            let p = &mut place[digit(entry.0)];
            spare[*p] = entry;
            *p += 1;
        }
        std::mem::swap(due, spare);
    }
}

impl Fleet {
    /// Builds the fleet described by `spec`, whose first readings fall
    /// within one interval after `start_us`.
    pub fn new(spec: &FleetSpec, start_us: i64) -> Fleet {
        let interval_us =
            (spec.interval_ms.max(1).saturating_mul(1000)).min(i64::MAX as u64) as i64;
        let utility = Utility::new(
            spec.seed,
            Network::new(spec),
            spec.anomaly_rate,
            interval_us,
            Schedule::new(spec.seed, spec.outages),
        );
        let n = spec.device_count();
        let mut fleet = Fleet {
            spec: spec.clone(),
            utility,
            interval_us,
            due: Vec::with_capacity(n as usize),
            spare: Vec::new(),
            next: 0,
            slot: start_us.div_euclid(interval_us),
            registers: Vec::new(),
            phases: (0..n).map(|d| draw_phase(spec.seed, d)).collect(),
            in_flight: BinaryHeap::new(),
            order: 0,
            stats: FleetStats::default(),
        };
        if spec.shape == FleetShape::Utility {
            fleet.registers = (0..n)
                .map(|d| fleet.utility.first_register(fleet.part(d)))
                .collect();
        }
        // The first slot holds the readings still to come after the start.
        fleet.fill_slot(fleet.slot, start_us);
        if fleet.due.is_empty() {
            fleet.fill_slot(fleet.slot + 1, i64::MIN);
        }
        fleet
    }

    /// Lists the readings of `slot` due at or after `from_us`, in time
    /// order (then by device, so ties come out the same on every run). A
    /// reading never leaves its slot, so this slot's all come before the
    /// next one's: one sort a slot instead of a heap the size of the fleet.
    fn fill_slot(&mut self, slot: i64, from_us: i64) {
        let mut due = std::mem::take(&mut self.due);
        due.clear();
        due.extend(
            (0..self.spec.device_count())
                .map(|d| (self.due_at(d, slot), d))
                .filter(|&(t, _)| t >= from_us),
        );
        sort_by_time(
            &mut due,
            &mut self.spare,
            slot * self.interval_us,
            self.interval_us,
        );
        self.due = due;
        self.next = 0;
        self.slot = slot;
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
        self.device_id_text(d).as_str().to_owned()
    }

    /// The same ID on the stack: one is written per reading.
    pub fn device_id_text(&self, d: u32) -> UuidText {
        draw_id(self.spec.seed, d)
    }

    pub fn device_kind(&self, d: u32) -> DeviceKind {
        self.part(d).kind()
    }

    /// The dimensions on device `d`'s records: where it hangs in the
    /// network. The seed's producer sends none.
    pub fn dimensions(&self, d: u32) -> Vec<(String, String)> {
        let mut dims = Vec::new();
        self.for_each_dimension(d, |k, v| dims.push((k.to_owned(), v.to_owned())));
        dims
    }

    /// What device `d` is and where it hangs: its feeder and, below a
    /// feeder, its transformer. None in the seed's shape (no network).
    fn hangs_off(&self, d: u32) -> Option<(DeviceKind, u32, Option<u32>)> {
        if self.spec.shape == FleetShape::Seed {
            return None;
        }
        let net = &self.utility.net;
        let part = self.part(d);
        let (transformer, feeder) = match part {
            Part::Meter(i) => {
                let t = net.transformer_of(i);
                (Some(t), net.feeder_of(t))
            }
            Part::Transformer(j) => (Some(j), net.feeder_of(j)),
            // A feeder has no transformer above it.
            Part::Feeder(f) => (None, f),
        };
        Some((part.kind(), feeder, transformer))
    }

    /// Each of device `d`'s dimensions, borrowed from the network.
    fn for_each_dimension(&self, d: u32, mut f: impl FnMut(&'static str, &str)) {
        let Some((kind, feeder, transformer)) = self.hangs_off(d) else {
            return;
        };
        let net = &self.utility.net;
        f("DeviceType", kind.as_str());
        for (key, value) in net.place_of_feeder(feeder) {
            f(key, value);
        }
        if let Some(t) = transformer {
            f("Transformer", net.transformer_name(t));
        }
    }

    /// A reading as a record of its own, with its identity and dimensions.
    pub fn record(&self, reading: &Reading) -> Record {
        Record {
            device_id: self.device_id(reading.device),
            time_us: reading.time_us,
            time_adjusted: false,
            measure_keys: Vec::new(),
            measures: (reading.measures.as_slice().iter())
                .map(|m| (m.name().to_owned(), m.value))
                .collect(),
            dimensions: self.dimensions(reading.device),
        }
    }

    /// Writes a reading in the wire format, as [`codec::encode`] writes its
    /// [`Record`], with names borrowed from the network: `device_id` is
    /// [`Fleet::device_id_text`] of its device, which the caller also keys
    /// the record by.
    ///
    /// [`codec::encode`]: gridwatch_core::codec::encode
    pub fn encode(&self, reading: &Reading, device_id: &str, out: &mut Vec<u8>) {
        let mut w = RecordWriter::start(out, reading.time_us, device_id);
        for m in reading.measures.as_slice() {
            w.measure_at(m.key, m.value, m.decimals);
        }
        // As `for_each_dimension` gives them, copied as the network wrote
        // them once.
        if let Some((kind, feeder, transformer)) = self.hangs_off(reading.device) {
            let net = &self.utility.net;
            w.dimensions(net.encoded_place(kind, feeder));
            if let Some(t) = transformer {
                w.dimensions(net.encoded_transformer(t));
            }
        }
        w.finish();
    }

    /// How far device `d`'s clock is off, microseconds (0 for most).
    pub fn clock_skew_us(&self, d: u32) -> i64 {
        let Delivery {
            skewed_share,
            skew_max_ms,
            ..
        } = self.spec.delivery;
        if skewed_share <= 0.0 {
            return 0;
        }
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

    /// Device `d`'s phase ([`draw_phase`]).
    fn phase(&self, d: u32) -> f64 {
        match self.phases.get(d as usize) {
            Some(phase) => *phase,
            None => draw_phase(self.spec.seed, d),
        }
    }

    /// When device `d` takes its reading of `slot`.
    fn due_at(&self, d: u32, slot: i64) -> i64 {
        let i = self.interval_us as f64;
        let phase = self.phase(d);
        let jitter =
            Rng::keyed(self.spec.seed ^ JITTER_SALT, u64::from(d), slot).range(-JITTER, JITTER);
        slot * self.interval_us + ((phase + jitter) * i) as i64
    }

    /// When the next record reaches the sink, epoch microseconds.
    pub fn next_due_us(&self) -> Option<i64> {
        let due = self.due.get(self.next).map(|&(t, _)| t);
        let held = self.in_flight.peek().map(|Reverse(p)| p.at_us);
        match (due, held) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next record to reach the sink.
    pub fn next_record(&mut self) -> Option<Record> {
        let delivered = self.next_delivery()?;
        Some(self.record(&delivered.reading))
    }

    /// The next record to reach the sink, and when it does.
    pub fn next_delivery(&mut self) -> Option<Delivered> {
        loop {
            let due = self.due.get(self.next).map(|&(t, _)| t);
            if let Some(Reverse(p)) = self.in_flight.peek()
                && due.is_none_or(|t| p.at_us <= t)
            {
                let Reverse(p) = self.in_flight.pop()?;
                return Some(Delivered {
                    reading: p.reading,
                    at_us: p.at_us,
                });
            }
            let &(time_us, d) = self.due.get(self.next)?;
            let slot = self.slot;
            self.next += 1;
            if self.next == self.due.len() {
                self.fill_slot(slot + 1, i64::MIN);
            }
            let Some(reading) = self.reading(d, slot, time_us) else {
                self.stats.silenced += 1;
                continue;
            };
            self.stats.readings += 1;
            let delivery = self.spec.delivery;
            let (mut late, mut at_us) = (false, time_us);
            // A tidy fleet draws nothing here (a chance of 0 is never taken).
            if delivery.late_share > 0.0 || delivery.duplicate_share > 0.0 {
                let mut r = Rng::keyed(self.spec.seed ^ DELIVERY_SALT, u64::from(d), slot);
                late = r.chance(delivery.late_share);
                let twice = r.chance(delivery.duplicate_share);
                if late {
                    let min = Delivery::LATE_MIN_MS as f64 * 1000.0;
                    at_us += r.range(min, delivery.late_max_ms as f64 * 1000.0) as i64;
                }
                if twice {
                    self.stats.duplicates += 1;
                    let again = at_us + r.range(DUPLICATE_DELAY_US.0, DUPLICATE_DELAY_US.1) as i64;
                    self.hold(again, reading);
                }
            }
            if late {
                self.stats.late += 1;
                self.hold(at_us, reading);
                continue;
            }
            return Some(Delivered { reading, at_us });
        }
    }

    fn hold(&mut self, at_us: i64, reading: Reading) {
        self.order += 1;
        self.in_flight.push(Reverse(Pending {
            at_us,
            order: self.order,
            reading,
        }));
    }

    /// The records still on their way (late readings, second copies), in
    /// the order they would arrive: what a run hands its sink at its end.
    pub fn drain_in_flight(&mut self) -> Vec<Delivered> {
        let mut out = Vec::with_capacity(self.in_flight.len());
        while let Some(Reverse(p)) = self.in_flight.pop() {
            out.push(Delivered {
                reading: p.reading,
                at_us: p.at_us,
            });
        }
        out
    }

    /// Device `d`'s reading of `slot`, taken at `time_us`; None while it
    /// is in an outage.
    fn reading(&mut self, d: u32, slot: i64, time_us: i64) -> Option<Reading> {
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
                        self.registers[d as usize].last_us = time_us;
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
        Some(Reading {
            device: d,
            time_us: reported,
            measures,
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
