//! The strategic views: energy, peak demand, load factor, voltage quality,
//! by any dimension and period.
//!
//! Each view is one fold over the readings, device by device in time
//! order: a device's energy counter needs the reading before it, and its
//! demand needs its readings of the same 15 minutes. Because every batch
//! of [`Readings`] holds whole devices, the fold is exact whether the
//! readings sit in memory or in buckets on disk; what it keeps across
//! batches is per group (sums, the demand per interval, and a count per
//! distinct voltage, from which the exact quantiles follow). Results are
//! polars frames.
//!
//! Definitions (the same ones `tests/tests/lake.rs` gives DuckDB):
//! - **energy** (kWh): the sum of each device's energy-counter increments,
//!   reading to reading in time order; a counter that goes down was reset
//!   and its new value is the increment. An increment belongs to the group
//!   of the later reading.
//! - **demand** of a group in a 15-minute interval: the sum over its devices
//!   of each device's average power in that interval. **Peak demand** is the
//!   largest, **peak_at** the start of that interval, and the **load
//!   factor** is the mean demand over the group's intervals divided by the
//!   peak.
//! - **voltage** p50/p95/p99: linear-interpolated quantiles; **compliance**:
//!   the share of voltage readings within +-10% of the device type's nominal
//!   (230 V meters, 400 V transformers, 11 kV feeders); **anomalies**: the
//!   voltage readings outside it.

use std::cmp::Ordering;
use std::str::FromStr;

use gridwatch_core::time::{MICROS_PER_DAY, MICROS_PER_HOUR, civil};
use gridwatch_types::nominal_voltage;
use polars::prelude::*;

use crate::LakeError;
// The operator's words for dimensions belong to the readings, which filter
// by them too; re-exported here, where callers met them first.
pub use crate::readings::dimension_column;
use crate::readings::{Batch, MEASURES, Readings, ReadingsQuery, WATT};
use crate::table::{DAY, DEMAND_INTERVAL_US, DEVICE, HOUR, INTERVAL, MONTH, WEEK, week_start};

/// What a view groups by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupKey {
    Device,
    Dimension(String),
    Hour,
    Day,
    Week,
    Month,
}

impl GroupKey {
    pub fn column(&self) -> &str {
        match self {
            GroupKey::Device => DEVICE,
            GroupKey::Dimension(d) => d,
            GroupKey::Hour => HOUR,
            GroupKey::Day => DAY,
            GroupKey::Week => WEEK,
            GroupKey::Month => MONTH,
        }
    }
}

impl FromStr for GroupKey {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "device" | "device_id" => GroupKey::Device,
            "hour" => GroupKey::Hour,
            "day" => GroupKey::Day,
            "week" => GroupKey::Week,
            "month" => GroupKey::Month,
            _ => GroupKey::Dimension(dimension_column(s.trim())),
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AggregateRequest {
    pub from_us: i64,
    pub to_us: i64,
    pub by: Vec<GroupKey>,
    /// Dimension = value; all must hold.
    pub filters: Vec<(String, String)>,
    /// Keep only the N groups with the most energy.
    pub top: Option<usize>,
}

impl AggregateRequest {
    /// The readings this request reads.
    pub fn query(&self) -> ReadingsQuery {
        ReadingsQuery {
            filters: self.filters.clone(),
            ..ReadingsQuery::new(self.from_us, self.to_us)
        }
    }
}

/// A group key resolved against the readings: a value per reading.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Part {
    Dim(usize),
    Device,
    Hour,
    Day,
    Week,
    Month,
}

/// `YYYYMM` of a time, remembering the last day asked (readings come in
/// time order, so most calls hit).
#[derive(Default)]
struct MonthOf {
    day: i64,
    month: i64,
}

impl MonthOf {
    fn get(&mut self, t: i64) -> i64 {
        let day = t - t.rem_euclid(MICROS_PER_DAY);
        if day != self.day || self.month == 0 {
            let c = civil(day);
            self.day = day;
            self.month = i64::from(c.year) * 100 + i64::from(c.month);
        }
        self.month
    }
}

impl Part {
    fn value(self, b: &Batch, i: usize, month: &mut MonthOf) -> i64 {
        let t = b.time_us[i];
        match self {
            Part::Dim(d) => i64::from(b.dim(d, i)),
            Part::Device => i64::from(b.device[i]),
            Part::Hour => t - t.rem_euclid(MICROS_PER_HOUR),
            Part::Day => t - t.rem_euclid(MICROS_PER_DAY),
            Part::Week => week_start(t),
            Part::Month => month.get(t),
        }
    }
}

/// The dimensions every Gridwatch lake's records carry (the simulator's and
/// the operator's words for them in [`dimension_column`]).
const LAYOUT_DIMENSIONS: [&str; 3] = ["Region", "Feeder", "DeviceType"];

fn known_keys(readings: &Readings) -> String {
    let mut known = vec![DEVICE.to_owned()];
    if readings.dimensions.is_empty() {
        known.extend(LAYOUT_DIMENSIONS.map(String::from));
    }
    known.extend(readings.dimensions.iter().map(|(n, _)| n.clone()));
    known.extend([HOUR, DAY, WEEK, MONTH].map(String::from));
    known.join(", ")
}

fn resolve(readings: &Readings, by: &[GroupKey]) -> Result<Vec<Part>, LakeError> {
    by.iter()
        .map(|k| match k {
            GroupKey::Device => Ok(Part::Device),
            GroupKey::Hour => Ok(Part::Hour),
            GroupKey::Day => Ok(Part::Day),
            GroupKey::Week => Ok(Part::Week),
            GroupKey::Month => Ok(Part::Month),
            GroupKey::Dimension(d) if d == DEVICE => Ok(Part::Device),
            GroupKey::Dimension(d) => match readings.dimension(d) {
                Some(i) => Ok(Part::Dim(i)),
                // With no readings at all the view is empty, but only a
                // word the layout knows makes an empty view rather than
                // an error: a typo must not pass for "nothing there".
                None if readings.report.records == 0 && LAYOUT_DIMENSIONS.contains(&d.as_str()) => {
                    Ok(Part::Dim(usize::MAX))
                }
                None => Err(LakeError::UnknownKey {
                    name: d.clone(),
                    known: known_keys(readings),
                }),
            },
        })
        .collect()
}

/// What a view keeps per group.
#[derive(Debug, Default)]
struct Group {
    records: u64,
    energy_kwh: f64,
    /// Readings per distinct voltage (its bits): exact quantiles in memory
    /// that grows with the distinct values, not with the readings.
    volts: foldhash::HashMap<u64, u64>,
    vcount: u64,
    vwithin: u64,
    quantiles: Option<[f64; 3]>,
    /// The largest demand and the start of its interval.
    peak: Option<(f64, i64)>,
    demand_sum: f64,
    demand_intervals: u64,
}

/// Linear-interpolated quantiles (as polars' and DuckDB's `quantile_cont`)
/// of `n` readings given as counts per distinct value.
fn quantiles(volts: &foldhash::HashMap<u64, u64>, n: u64, qs: [f64; 3]) -> [f64; 3] {
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
fn device_time_order(b: &Batch, devices: usize, stride: usize) -> (Vec<u32>, Vec<u32>) {
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
struct Fold<'r> {
    readings: &'r Readings,
    parts: Vec<Part>,
    index: foldhash::HashMap<Box<[i64]>, u32>,
    keys: Vec<Box<[i64]>>,
    groups: Vec<Group>,
    /// Demand per (group, interval start): the sum of its devices' mean
    /// power in that interval.
    demand: foldhash::HashMap<(u32, i64), f64>,
    /// Nominal voltage per DeviceType code.
    nominal: Vec<f64>,
    device_type: Option<usize>,
    /// Groups before this one have their quantiles.
    settled: usize,
}

impl<'r> Fold<'r> {
    fn new(readings: &'r Readings, parts: Vec<Part>) -> Self {
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
        }
    }

    fn keyed_by_device(&self) -> bool {
        self.parts.contains(&Part::Device)
    }

    fn group(&mut self, key: &[i64]) -> u32 {
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
            let mut previous_energy: Option<f64> = None;
            let mut current = i64::MIN;
            for &i in &order[run[0] as usize..run[1] as usize] {
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
                let v = b.voltage[i];
                if !v.is_nan() {
                    // ABSENT is past the end of `nominal`: no type, the default.
                    let nominal = self
                        .device_type
                        .and_then(|d| self.nominal.get(b.dim(d, i) as usize).copied())
                        .unwrap_or_else(|| nominal_voltage(None));
                    st.vcount += 1;
                    if v >= nominal * 0.9 && v <= nominal * 1.1 {
                        st.vwithin += 1;
                    }
                    *st.volts.entry(v.to_bits()).or_insert(0) += 1;
                }
                let w = b.watt[i];
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
    fn settle(&mut self) {
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
                st.quantiles = Some(quantiles(&st.volts, st.vcount, [0.5, 0.95, 0.99]));
                st.volts = Default::default();
            }
        }
        self.settled = self.groups.len();
    }

    fn run(mut self, settle_per_batch: bool) -> Result<Self, LakeError> {
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

    fn compare_keys(&self, a: &[i64], b: &[i64]) -> Ordering {
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
    fn key_columns(&self, by: &[GroupKey], groups: &[u32]) -> Vec<Column> {
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

fn require_measures(readings: &Readings, which: &[&'static str]) -> Result<(), LakeError> {
    if readings.report.records == 0 {
        return Ok(());
    }
    for (name, seen) in MEASURES.iter().zip(readings.measures_seen) {
        if which.contains(name) && !seen {
            return Err(LakeError::MissingMeasure(name));
        }
    }
    Ok(())
}

impl Readings {
    /// The strategic figures per group, sorted by the keys, or the `top`
    /// groups by energy.
    pub fn aggregate(&self, by: &[GroupKey], top: Option<usize>) -> Result<DataFrame, LakeError> {
        require_measures(self, &MEASURES)?;
        let mut fold = Fold::new(self, resolve(self, by)?).run(true)?;
        fold.settle();
        let mut order: Vec<u32> = (0..fold.groups.len() as u32).collect();
        match top {
            Some(n) => {
                order.sort_by(|&a, &b| {
                    let e = |g: u32| fold.groups[g as usize].energy_kwh;
                    e(b).total_cmp(&e(a)).then_with(|| {
                        fold.compare_keys(&fold.keys[a as usize], &fold.keys[b as usize])
                    })
                });
                order.truncate(n);
            }
            None => order.sort_by(|&a, &b| {
                fold.compare_keys(&fold.keys[a as usize], &fold.keys[b as usize])
            }),
        }
        let groups: Vec<&Group> = order.iter().map(|&g| &fold.groups[g as usize]).collect();
        let mut columns = fold.key_columns(by, &order);
        let f = |name: &str, v: Vec<Option<f64>>| Column::new(name.into(), v);
        let q = |i: usize| groups.iter().map(|g| g.quantiles.map(|q| q[i])).collect();
        columns.extend([
            Column::new(
                "records".into(),
                groups.iter().map(|g| g.records).collect::<Vec<_>>(),
            ),
            Column::new(
                "energy_kwh".into(),
                groups.iter().map(|g| g.energy_kwh).collect::<Vec<_>>(),
            ),
            f(
                "peak_demand_w",
                groups.iter().map(|g| g.peak.map(|p| p.0)).collect(),
            ),
            Column::new(
                "peak_at_us".into(),
                groups
                    .iter()
                    .map(|g| g.peak.map(|p| p.1))
                    .collect::<Vec<_>>(),
            ),
            f(
                "load_factor",
                groups
                    .iter()
                    .map(|g| {
                        g.peak
                            .map(|(p, _)| g.demand_sum / g.demand_intervals as f64 / p)
                    })
                    .collect(),
            ),
            f("voltage_p50", q(0)),
            f("voltage_p95", q(1)),
            f("voltage_p99", q(2)),
            f(
                "voltage_compliance",
                groups
                    .iter()
                    .map(|g| (g.vcount > 0).then(|| g.vwithin as f64 / g.vcount as f64))
                    .collect(),
            ),
            Column::new(
                "voltage_anomalies".into(),
                groups
                    .iter()
                    .map(|g| (g.vcount - g.vwithin) as i64)
                    .collect::<Vec<_>>(),
            ),
        ]);
        Ok(DataFrame::new(order.len(), columns)?)
    }

    /// The load duration curve: each group's interval demands, largest
    /// first.
    pub fn load_duration(&self, by: &[GroupKey]) -> Result<DataFrame, LakeError> {
        require_measures(self, &[WATT])?;
        let fold = Fold::new(self, resolve(self, by)?).run(false)?;
        let mut rows: Vec<(u32, i64, f64)> =
            fold.demand.iter().map(|(&(g, s), &d)| (g, s, d)).collect();
        rows.sort_by(|a, b| {
            fold.compare_keys(&fold.keys[a.0 as usize], &fold.keys[b.0 as usize])
                .then_with(|| b.2.total_cmp(&a.2))
                .then_with(|| a.1.cmp(&b.1))
        });
        let groups: Vec<u32> = rows.iter().map(|r| r.0).collect();
        let mut columns = fold.key_columns(by, &groups);
        columns.push(Column::new(
            INTERVAL.into(),
            rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        ));
        columns.push(Column::new(
            "demand_w".into(),
            rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        ));
        Ok(DataFrame::new(rows.len(), columns)?)
    }

    /// Device availability: the share of 15-minute intervals in
    /// [from, to) in which a device reported at least once, averaged over
    /// the devices seen.
    pub fn availability(&self, from_us: i64, to_us: i64) -> Result<Option<f64>, LakeError> {
        let stride = self.buckets_on_disk().max(1);
        let (mut devices, mut reported) = (0u64, 0u64);
        self.for_each_batch(|b| {
            let (order, starts) = device_time_order(b, self.devices.len(), stride);
            for run in starts.windows(2).filter(|r| r[0] < r[1]) {
                devices += 1;
                let mut last = i64::MIN;
                for &i in &order[run[0] as usize..run[1] as usize] {
                    let t = b.time_us[i as usize];
                    let start = t - t.rem_euclid(DEMAND_INTERVAL_US);
                    if start != last {
                        reported += 1;
                        last = start;
                    }
                }
            }
            Ok(())
        })?;
        let intervals = ((to_us - from_us) as f64 / DEMAND_INTERVAL_US as f64).ceil();
        Ok((devices > 0).then(|| (reported as f64 / devices as f64 / intervals.max(1.0)).min(1.0)))
    }
}

/// Reads the request's range and computes its strategic figures.
pub fn aggregate(
    lake: &std::path::Path,
    req: &AggregateRequest,
) -> Result<(DataFrame, crate::LoadReport), LakeError> {
    let readings = Readings::scan(lake, &req.query())?;
    let out = readings.aggregate(&req.by, req.top)?;
    Ok((out, readings.report))
}

/// Reads the request's range and computes its load duration curve.
pub fn load_duration(
    lake: &std::path::Path,
    req: &AggregateRequest,
) -> Result<(DataFrame, crate::LoadReport), LakeError> {
    let readings = Readings::scan(lake, &req.query())?;
    let out = readings.load_duration(&req.by)?;
    Ok((out, readings.report))
}
