//! The fold every view runs: the readings device by device in time order,
//! per-group state only (sums, demand per interval, a count per distinct
//! voltage), exact whether a batch came from memory or from a bucket on
//! disk, since a batch always holds whole devices.

use std::cmp::Ordering;

use gridwatch_types::nominal_voltage;
use polars::prelude::*;

use super::GroupKey;
use super::keys::{MonthOf, Part};
use crate::LakeError;
use crate::readings::{Batch, Readings};
use crate::table::DEMAND_INTERVAL_US;

/// What a view keeps per group.
#[derive(Debug, Default)]
pub(super) struct Group {
    pub(super) records: u64,
    pub(super) energy_kwh: f64,
    /// Readings per distinct voltage (its bits): exact quantiles in memory
    /// that grows with the distinct values, not with the readings.
    pub(super) volts: foldhash::HashMap<u64, u64>,
    pub(super) vcount: u64,
    pub(super) vwithin: u64,
    pub(super) quantiles: Option<[f64; 3]>,
    /// The largest demand and the start of its interval.
    pub(super) peak: Option<(f64, i64)>,
    pub(super) demand_sum: f64,
    pub(super) demand_intervals: u64,
    /// Whether devices with an energy counter, and devices whose energy
    /// was integrated from power, made this group's energy.
    pub(super) from_counter: bool,
    pub(super) from_power: bool,
    /// The nominal voltage of the group's first voltage reading, and
    /// whether another nominal came too (then no percentile is given:
    /// 230 V and 11 kV readings have no meaningful one together).
    pub(super) nominal: f64,
    pub(super) mixed_nominal: bool,
}

/// Linear-interpolated quantiles (as polars' and DuckDB's `quantile_cont`)
/// of `n` readings given as counts per distinct value.
pub(super) fn quantiles<const N: usize>(
    volts: &foldhash::HashMap<u64, u64>,
    n: u64,
    qs: [f64; N],
) -> [f64; N] {
    let mut values: Vec<(f64, u64)> = volts
        .iter()
        .map(|(b, c)| (f64::from_bits(*b), *c))
        .collect();
    values.sort_by(|a, b| a.0.total_cmp(&b.0));
    let nth = |k: u64| {
        let mut seen = 0;
        for (v, c) in &values {
            seen += c;
            if k < seen {
                return *v;
            }
        }
        values.last().map_or(f64::NAN, |(v, _)| *v)
    };
    qs.map(|q| {
        let pos = (n - 1) as f64 * q;
        let lo = pos.floor();
        let v_lo = nth(lo as u64);
        if pos == lo {
            v_lo
        } else {
            v_lo + (pos - lo) * (nth(lo as u64 + 1) - v_lo)
        }
    })
}

/// The readings' order for a fold: by device, each device's readings in
/// time order, ties in the order they were read. Returns the order and
/// where each device's run starts; devices are `code / stride` (a bucket
/// holds the codes congruent modulo its stride).
pub(super) fn device_time_order(b: &Batch, devices: usize, stride: usize) -> (Vec<u32>, Vec<u32>) {
    let slots = devices.div_ceil(stride.max(1));
    let mut start = vec![0u32; slots + 1];
    for &d in &b.device {
        start[d as usize / stride + 1] += 1;
    }
    for i in 0..slots {
        start[i + 1] += start[i];
    }
    let mut next = start.clone();
    let mut order = vec![0u32; b.len()];
    for (i, &d) in b.device.iter().enumerate() {
        let slot = &mut next[d as usize / stride];
        order[*slot as usize] = i as u32;
        *slot += 1;
    }
    for w in start.windows(2) {
        let run = &mut order[w[0] as usize..w[1] as usize];
        if !run.is_sorted_by_key(|&i| b.time_us[i as usize]) {
            run.sort_by_key(|&i| b.time_us[i as usize]);
        }
    }
    (order, start)
}

/// One view's state over the readings.
pub(super) struct Fold<'r> {
    pub(super) readings: &'r Readings,
    pub(super) parts: Vec<Part>,
    pub(super) index: foldhash::HashMap<Box<[i64]>, u32>,
    pub(super) keys: Vec<Box<[i64]>>,
    pub(super) groups: Vec<Group>,
    /// Demand per (group, interval start): the sum of its devices' mean
    /// power in that interval.
    pub(super) demand: foldhash::HashMap<(u32, i64), f64>,
    /// Nominal voltage per DeviceType code.
    pub(super) nominal: Vec<f64>,
    pub(super) device_type: Option<usize>,
    /// Groups before this one have their quantiles.
    pub(super) settled: usize,
    /// The longest gap between two power readings that energy is
    /// integrated over.
    pub(super) max_gap_us: i64,
}

impl<'r> Fold<'r> {
    pub(super) fn new(readings: &'r Readings, parts: Vec<Part>) -> Self {
        let device_type = readings.dimension("DeviceType");
        let nominal = device_type.map_or_else(Vec::new, |d| {
            let dict = &readings.dimensions[d].1;
            (0..dict.len() as u32)
                .map(|c| nominal_voltage(dict.value(c)))
                .collect()
        });
        Fold {
            readings,
            parts,
            index: Default::default(),
            keys: Vec::new(),
            groups: Vec::new(),
            demand: Default::default(),
            nominal,
            device_type,
            settled: 0,
            max_gap_us: super::DEFAULT_MAX_GAP_US,
        }
    }

    fn keyed_by_device(&self) -> bool {
        self.parts.contains(&Part::Device)
    }

    pub(super) fn group(&mut self, key: &[i64]) -> u32 {
        if let Some(&g) = self.index.get(key) {
            return g;
        }
        let g = self.groups.len() as u32;
        self.index.insert(key.into(), g);
        self.keys.push(key.into());
        self.groups.push(Group::default());
        g
    }

    /// Folds one batch of whole devices in.
    fn add(&mut self, b: &Batch, stride: usize) {
        let (order, starts) = device_time_order(b, self.readings.devices.len(), stride);
        let mut month = MonthOf::default();
        let mut key: Vec<i64> = Vec::with_capacity(self.parts.len());
        let mut last_key: Vec<i64> = Vec::new();
        let mut last_group = u32::MAX;
        // (group, watt sum, readings) of the device's current interval.
        let mut interval: Vec<(u32, f64, u32)> = Vec::new();
        for run in starts.windows(2) {
            let run = &order[run[0] as usize..run[1] as usize];
            let mut previous_energy: Option<f64> = None;
            // A device with a counter takes its energy from it; one
            // without, from its power readings (see the module's rule).
            let counter = run.iter().any(|&i| !b.energy[i as usize].is_nan());
            let mut previous_power: Option<(i64, f64)> = None;
            let mut current = i64::MIN;
            for &i in run {
                let i = i as usize;
                key.clear();
                for p in &self.parts {
                    key.push(p.value(b, i, &mut month));
                }
                // Element by element: a slice compare of i64s calls
                // memcmp, too heavy for a short key checked every reading.
                let same =
                    key.len() == last_key.len() && key.iter().zip(&last_key).all(|(a, b)| a == b);
                if last_group == u32::MAX || !same {
                    last_group = self.group(&key);
                    last_key.clone_from(&key);
                }
                let g = last_group;
                let st = &mut self.groups[g as usize];
                st.records += 1;
                let e = b.energy[i];
                if let Some(p) = previous_energy {
                    let inc = e - p;
                    // A counter that goes down was reset: its new value is
                    // the increment. NaN (no counter on either side) adds
                    // nothing.
                    if inc < 0.0 {
                        st.energy_kwh += e;
                    } else if inc >= 0.0 {
                        st.energy_kwh += inc;
                    }
                }
                previous_energy = Some(e);
                let w = b.watt[i];
                if counter {
                    st.from_counter = true;
                } else if !w.is_nan() {
                    st.from_power = true;
                    let t = b.time_us[i];
                    if let Some((pt, pw)) = previous_power {
                        let dt = t - pt;
                        if dt <= self.max_gap_us {
                            // Trapezoids: W x us into kWh.
                            st.energy_kwh += (w + pw) * 0.5 * dt as f64 / 3.6e12;
                        }
                    }
                    previous_power = Some((t, w));
                }
                let v = b.voltage[i];
                if !v.is_nan() {
                    // ABSENT is past the end of `nominal`: no type, the default.
                    let nominal = self
                        .device_type
                        .and_then(|d| self.nominal.get(b.dim(d, i) as usize).copied())
                        .unwrap_or_else(|| nominal_voltage(None));
                    if st.vcount == 0 {
                        st.nominal = nominal;
                    } else if st.nominal != nominal {
                        st.mixed_nominal = true;
                    }
                    st.vcount += 1;
                    if v >= nominal * 0.9 && v <= nominal * 1.1 {
                        st.vwithin += 1;
                    }
                    *st.volts.entry(v.to_bits()).or_insert(0) += 1;
                }
                if !w.is_nan() {
                    let t = b.time_us[i];
                    let start = t - t.rem_euclid(DEMAND_INTERVAL_US);
                    if start != current {
                        self.close_interval(&mut interval, current);
                        current = start;
                    }
                    match interval.iter_mut().find(|(ig, _, _)| *ig == g) {
                        Some((_, sum, n)) => {
                            *sum += w;
                            *n += 1;
                        }
                        None => interval.push((g, w, 1)),
                    }
                }
            }
            self.close_interval(&mut interval, current);
        }
    }

    fn close_interval(&mut self, interval: &mut Vec<(u32, f64, u32)>, start: i64) {
        for (g, sum, n) in interval.drain(..) {
            *self.demand.entry((g, start)).or_insert(0.0) += sum / f64::from(n);
        }
    }

    /// Turns the demand per interval, and the voltage counts of the groups
    /// made since the last call, into figures. Call it only when no more
    /// readings can reach those groups: at the end, or after each batch
    /// when groups are per device (a batch holds its devices whole).
    pub(super) fn settle(&mut self) {
        for ((g, start), d) in self.demand.drain() {
            let st = &mut self.groups[g as usize];
            st.demand_sum += d;
            st.demand_intervals += 1;
            // The earliest interval wins a tie, so the answer is stable.
            let better = match st.peak {
                None => true,
                Some((p, at)) => d > p || (d == p && start < at),
            };
            if better {
                st.peak = Some((d, start));
            }
        }
        for st in &mut self.groups[self.settled..] {
            if !st.volts.is_empty() {
                if !st.mixed_nominal {
                    st.quantiles = Some(quantiles(&st.volts, st.vcount, [0.5, 0.95, 0.99]));
                }
                st.volts = Default::default();
            }
        }
        self.settled = self.groups.len();
    }

    pub(super) fn run(mut self, settle_per_batch: bool) -> Result<Self, LakeError> {
        let readings = self.readings;
        let stride = readings.buckets_on_disk().max(1);
        readings.for_each_batch(|b| {
            self.add(b, stride);
            if settle_per_batch && self.keyed_by_device() {
                self.settle();
            }
            Ok(())
        })?;
        Ok(self)
    }

    pub(super) fn compare_keys(&self, a: &[i64], b: &[i64]) -> Ordering {
        for ((p, x), y) in self.parts.iter().zip(a).zip(b) {
            let o = match p {
                Part::Dim(_) | Part::Device => self.label(*p, *x).cmp(&self.label(*p, *y)),
                _ => x.cmp(y),
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }

    fn label(&self, part: Part, code: i64) -> Option<&'r str> {
        let code = u32::try_from(code).ok()?;
        match part {
            Part::Device => self.readings.devices.value(code),
            Part::Dim(d) => self.readings.dimensions.get(d)?.1.value(code),
            _ => None,
        }
    }

    /// The key columns of the given groups, named as the request named them.
    pub(super) fn key_columns(&self, by: &[GroupKey], groups: &[u32]) -> Vec<Column> {
        self.parts
            .iter()
            .zip(by)
            .enumerate()
            .map(|(j, (p, k))| {
                let name: PlSmallStr = k.column().into();
                let values = groups.iter().map(|&g| self.keys[g as usize][j]);
                match p {
                    Part::Dim(_) | Part::Device => {
                        Column::new(name, values.map(|c| self.label(*p, c)).collect::<Vec<_>>())
                    }
                    Part::Month => Column::new(name, values.map(|m| m as i32).collect::<Vec<_>>()),
                    _ => Column::new(name, values.collect::<Vec<_>>()),
                }
            })
            .collect()
    }
}
