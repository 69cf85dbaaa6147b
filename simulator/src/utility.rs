//! What the utility fleet's smart meters, transformers and feeders report.
//!
//! A meter's power in a slot (one interval of the epoch-aligned grid) is a
//! pure function of the seed, the meter and the slot. A transformer reports
//! the sum of its meters' power in the same slot plus [`TRANSFORMER_LOSS`],
//! a feeder the sum of its transformers' plus [`FEEDER_LOSS`], each summed
//! from the values the meters and transformers themselves report (rounded
//! as on the wire), so an energy balance computed from the records closes
//! to within the rounding of the figure at the top: 0.05 W.

use gridwatch_types::DeviceKind;

use crate::network::Network;
use crate::outage::{Schedule, Scope};
use crate::reading::{Measures, keys, round};
use crate::signal::{Rng, ambient_temperature, daily_load};

/// A transformer's losses (core and copper) as a share of what it
/// delivers: about 2% for a distribution transformer near its rating.
pub const TRANSFORMER_LOSS: f64 = 0.02;
/// A feeder's line losses as a share of what its transformers draw: about
/// 3% on an 11 kV feeder.
pub const FEEDER_LOSS: f64 = 0.03;
/// A meter's mean power at the daily peak, W, for transformer and feeder
/// ratings.
const MEAN_PEAK_WATT: f64 = 1_000.0;

const PARAMS_SALT: u64 = 0x5a1f_0000_0000_0001;
const READING_SALT: u64 = 0x5a1f_0000_0000_0002;

/// An anomaly a reading may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anomaly {
    VoltageSag,
    VoltageSwell,
    PowerSpike,
    Overheat,
}

/// One reporting device of the utility fleet, by its index in the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Meter(u32),
    Feeder(u32),
    Transformer(u32),
}

impl Part {
    pub fn kind(self) -> DeviceKind {
        match self {
            Part::Meter(_) => DeviceKind::SmartMeter,
            Part::Feeder(_) => DeviceKind::Feeder,
            Part::Transformer(_) => DeviceKind::Transformer,
        }
    }

    fn key(self) -> u64 {
        match self {
            Part::Meter(i) => u64::from(i),
            Part::Feeder(i) => 1 << 40 | u64::from(i),
            Part::Transformer(i) => 2 << 40 | u64::from(i),
        }
    }
}

/// A device's energy register and when it last counted.
#[derive(Debug, Clone, Copy)]
pub struct Register {
    pub kwh: f64,
    /// When it last counted; [`Register::NEVER`] before its first
    /// reading. (A plain number: a million registers stay 16 bytes each.)
    pub last_us: i64,
}

impl Register {
    pub const NEVER: i64 = i64::MIN;
}

/// The utility fleet's readings.
#[derive(Debug, Clone)]
pub struct Utility {
    pub seed: u64,
    pub net: Network,
    pub anomaly_rate: f64,
    pub interval_us: i64,
    pub outages: Schedule,
    sums: Sums,
    /// The last slot's [`SlotDay`], kept by [`Utility::sample`].
    day: SlotDay,
}

/// What the time of day makes of one slot.
#[derive(Debug, Clone, Copy)]
struct SlotDay {
    slot: i64,
    load: f64,
    ambient: f64,
}

/// Each meter's and transformer's power in the last slot it was asked
/// for. A transformer adds up its meters' power in a slot and a feeder its
/// transformers', in the same slot their own readings fall in: with these,
/// each power is drawn once a slot instead of once for every sum it is in.
/// Empty when no transformer or feeder reports (nothing sums).
#[derive(Debug, Clone, Default)]
struct Sums {
    meters: Vec<(i64, f64)>,
    transformers: Vec<(i64, f64)>,
}

impl Sums {
    fn of(cache: &[(i64, f64)], i: u32, slot: i64) -> Option<f64> {
        cache
            .get(i as usize)
            .and_then(|&(s, w)| (s == slot).then_some(w))
    }

    fn keep(cache: &mut [(i64, f64)], i: u32, slot: i64, watt: f64) {
        if let Some(entry) = cache.get_mut(i as usize) {
            *entry = (slot, watt);
        }
    }
}

/// What does not change about a device: drawn from its own key, never
/// stored.
struct Params {
    base_watt: f64,
    power_factor: f64,
}

impl Utility {
    pub fn new(
        seed: u64,
        net: Network,
        anomaly_rate: f64,
        interval_us: i64,
        outages: Schedule,
    ) -> Utility {
        let sums = if net.transformers_report || net.feeders_report {
            Sums {
                meters: vec![(i64::MIN, 0.0); net.meters as usize],
                transformers: vec![(i64::MIN, 0.0); net.transformers as usize],
            }
        } else {
            Sums::default()
        };
        Utility {
            seed,
            net,
            anomaly_rate,
            interval_us,
            outages,
            sums,
            day: SlotDay {
                slot: i64::MIN,
                load: 0.0,
                ambient: 0.0,
            },
        }
    }

    fn params(&self, part: Part) -> Params {
        let mut r = Rng::keyed(self.seed ^ PARAMS_SALT, part.key(), 0);
        Params {
            base_watt: r.range(400.0, 1_600.0),
            power_factor: r.range(0.9, 0.98),
        }
    }

    /// The register a device starts with.
    pub fn first_register(&self, part: Part) -> Register {
        let mut r = Rng::keyed(self.seed ^ PARAMS_SALT, part.key(), 1);
        let kwh = match part {
            Part::Meter(_) => r.range(1e3, 2e4),
            Part::Transformer(_) => r.range(1e6, 5e6),
            Part::Feeder(_) => r.range(1e7, 5e7),
        };
        Register {
            kwh,
            last_us: Register::NEVER,
        }
    }

    /// The household load shape and the outdoor temperature of `slot`
    /// (at its middle): the same for every device, so worked out once a
    /// slot.
    fn day_of_slot(&self, slot: i64) -> SlotDay {
        if self.day.slot == slot {
            return self.day;
        }
        let mid = slot * self.interval_us + self.interval_us / 2;
        // The day's remainder in whole microseconds: exact, and no fmod.
        let hour = mid.rem_euclid(24 * 3_600_000_000) as f64 / 3.6e9;
        SlotDay {
            slot,
            load: daily_load(hour),
            ambient: ambient_temperature(hour),
        }
    }

    /// A meter's power in `slot`, as it reports it, and the stream its
    /// other measures draw from. `known` is that power when the meter's
    /// transformer already summed it this slot: the stream then steps over
    /// the draws that made it rather than making it again.
    fn meter_load(
        &self,
        meter: u32,
        slot: i64,
        known: Option<f64>,
    ) -> (f64, Option<Anomaly>, Rng, Params) {
        let p = self.params(Part::Meter(meter));
        let mut r = Rng::keyed(self.seed ^ READING_SALT, Part::Meter(meter).key(), slot);
        let mut watt = match known {
            Some(_) => {
                r.skip_normal();
                0.0
            }
            None => {
                let load = self.day_of_slot(slot).load;
                (p.base_watt * load * (1.0 + 0.10 * r.normal())).max(p.base_watt * 0.05)
            }
        };
        let anomaly = r.chance(self.anomaly_rate).then(|| match r.next_u64() % 4 {
            0 => Anomaly::VoltageSag,
            1 => Anomaly::VoltageSwell,
            2 => Anomaly::PowerSpike,
            _ => Anomaly::Overheat,
        });
        // A spike is load that really flowed: the transformer carries it.
        if anomaly == Some(Anomaly::PowerSpike) {
            watt *= r.range(2.5, 4.0);
        }
        (known.unwrap_or_else(|| round(watt, 1)), anomaly, r, p)
    }

    /// A meter's power in `slot`, drawn once a slot.
    fn meter_watt(&mut self, meter: u32, slot: i64) -> f64 {
        if let Some(watt) = Sums::of(&self.sums.meters, meter, slot) {
            return watt;
        }
        let watt = self.meter_load(meter, slot, None).0;
        Sums::keep(&mut self.sums.meters, meter, slot, watt);
        watt
    }

    /// A transformer's power in `slot`: its meters' plus its losses. A
    /// meter whose own communications are out still draws.
    pub fn transformer_watt(&mut self, transformer: u32, slot: i64) -> f64 {
        if let Some(watt) = Sums::of(&self.sums.transformers, transformer, slot) {
            return watt;
        }
        let meters: f64 = self
            .net
            .meters_on(transformer)
            .map(|m| self.meter_watt(m, slot))
            .sum();
        let watt = round(meters * (1.0 + TRANSFORMER_LOSS), 1);
        Sums::keep(&mut self.sums.transformers, transformer, slot, watt);
        watt
    }

    /// A feeder's power at `time_us` in `slot`: its transformers' plus its
    /// losses; a transformer that is out draws nothing.
    pub fn feeder_watt(&mut self, feeder: u32, slot: i64, time_us: i64) -> f64 {
        let mut transformers = 0.0;
        for j in self.net.transformers_on(feeder) {
            if !self.outages.is_out(Scope::Transformer, j, time_us) {
                transformers += self.transformer_watt(j, slot);
            }
        }
        round(transformers * (1.0 + FEEDER_LOSS), 1)
    }

    /// Whether `part` is silent at `time_us`, and whether because its power
    /// is off (then its register stops too).
    pub fn silence(&self, part: Part, time_us: i64) -> Option<Silence> {
        let out = |scope, i| self.outages.is_out(scope, i, time_us);
        if !self.outages.is_on() {
            return None;
        }
        let (transformer, feeder) = match part {
            Part::Meter(i) => {
                let t = self.net.transformer_of(i);
                if out(Scope::Transformer, t) || out(Scope::Feeder, self.net.feeder_of(t)) {
                    return Some(Silence::PowerOff);
                }
                return out(Scope::Meter, i).then_some(Silence::Communications);
            }
            Part::Transformer(j) => (Some(j), self.net.feeder_of(j)),
            Part::Feeder(f) => (None, f),
        };
        (transformer.is_some_and(|j| out(Scope::Transformer, j)) || out(Scope::Feeder, feeder))
            .then_some(Silence::PowerOff)
    }

    /// The measures `part` reports at `time_us`, in `slot`.
    pub fn sample(
        &mut self,
        part: Part,
        slot: i64,
        time_us: i64,
        register: &mut Register,
    ) -> Measures {
        self.day = self.day_of_slot(slot);
        let ambient = self.day_of_slot(slot).ambient;
        let (watt, anomaly, mut r, p, nominal, rating) = match part {
            Part::Meter(i) => {
                let known = Sums::of(&self.sums.meters, i, slot);
                let (watt, anomaly, r, p) = self.meter_load(i, slot, known);
                Sums::keep(&mut self.sums.meters, i, slot, watt);
                (watt, anomaly, r, p, 230.0, p_rating(1))
            }
            Part::Transformer(j) => {
                let mut r = Rng::keyed(self.seed ^ READING_SALT, part.key(), slot);
                let anomaly = network_anomaly(&mut r, self.anomaly_rate);
                let meters = self.net.meters_on(j).len() as u32;
                let watt = self.transformer_watt(j, slot);
                (watt, anomaly, r, self.params(part), 400.0, p_rating(meters))
            }
            Part::Feeder(f) => {
                let mut r = Rng::keyed(self.seed ^ READING_SALT, part.key(), slot);
                let anomaly = network_anomaly(&mut r, self.anomaly_rate);
                let meters = self.net.meters_below_feeder(f);
                let watt = self.feeder_watt(f, slot, time_us);
                (
                    watt,
                    anomaly,
                    r,
                    self.params(part),
                    11_000.0,
                    p_rating(meters),
                )
            }
        };
        let load = match part {
            Part::Meter(_) => watt / p.base_watt,
            _ => watt / rating,
        };
        let mut voltage = nominal * (1.0 + 0.006 * r.normal()) - nominal * 0.02 * load;
        let mut temperature = match part {
            Part::Transformer(_) => 35.0 + 30.0 * load + 0.5 * r.normal(),
            _ => ambient + 0.4 * r.normal() + 2.0 * load,
        };
        match anomaly {
            Some(Anomaly::VoltageSag) => voltage *= r.range(0.75, 0.88),
            Some(Anomaly::VoltageSwell) => voltage *= r.range(1.11, 1.2),
            Some(Anomaly::Overheat) => temperature += r.range(20.0, 35.0),
            Some(Anomaly::PowerSpike) | None => {}
        }
        if register.last_us != Register::NEVER {
            let last = register.last_us;
            let hours = (time_us - last).max(0) as f64 / 3.6e9;
            register.kwh += watt * hours / 1_000.0;
        }
        register.last_us = time_us;
        let current = watt / (voltage * p.power_factor);
        let mut out = Measures::new();
        out.push_rounded(&keys::VOLTAGE, voltage, 2);
        out.push_rounded(&keys::CURRENT, current, 3);
        // Rounded to 0.1 W already, where the sums are made.
        out.push_rounded(&keys::WATT, watt, 1);
        out.push_rounded(&keys::ENERGY, register.kwh, 4);
        match part {
            Part::Meter(_) => out.push_rounded(&keys::TEMPERATURE, temperature, 2),
            Part::Feeder(_) => out.push_rounded(&keys::POWER_FACTOR, p.power_factor, 3),
            Part::Transformer(_) => {
                out.push_rounded(&keys::OIL_TEMPERATURE, temperature, 2);
                out.push_rounded(&keys::LOAD_PCT, 100.0 * load, 2);
            }
        }
        out
    }
}

/// Why a device is silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Silence {
    /// Its feeder or transformer (or itself) lost power: it draws nothing.
    PowerOff,
    /// A meter's own link is down: it still draws and counts.
    Communications,
}

/// The rating of a transformer or feeder with `meters` below it, W.
fn p_rating(meters: u32) -> f64 {
    (f64::from(meters) * MEAN_PEAK_WATT * 1.3).max(1.0)
}

/// A transformer's or feeder's own anomaly: its power is its meters', so
/// only its voltage or temperature can misbehave.
fn network_anomaly(r: &mut Rng, rate: f64) -> Option<Anomaly> {
    r.chance(rate).then(|| match r.next_u64() % 3 {
        0 => Anomaly::VoltageSag,
        1 => Anomaly::VoltageSwell,
        _ => Anomaly::Overheat,
    })
}
