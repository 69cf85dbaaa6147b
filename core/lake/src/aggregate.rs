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
//! Definitions (the same ones `tests/tests/lake.rs` and
//! `tests/tests/lake_any.rs` give DuckDB):
//! - **energy** (kWh), of a device with an energy counter (any `energy`
//!   reading in the range): the sum of its counter increments, reading to
//!   reading in time order; a counter that goes down was reset and its new
//!   value is the increment. Of a device without one, integrated from its
//!   power: between each two of its consecutive `watt` readings in time
//!   order, the trapezoid (mean of the two powers times the time between
//!   them), when they are at most the gap limit apart
//!   ([`DEFAULT_MAX_GAP_US`], one hour, unless asked otherwise); a longer
//!   gap counts nothing (the device is taken as silent, not as drawing its
//!   last power). Either way an increment belongs to the group of the
//!   later reading, and `energy_source` says which rule made a group's
//!   energy (`counter`, `power`, or both).
//! - **demand** of a group in a 15-minute interval: the sum over its devices
//!   of each device's average power in that interval. **Peak demand** is the
//!   largest, **peak_at** the start of that interval, and the **load
//!   factor** is the mean demand over the group's intervals divided by the
//!   peak.
//! - **voltage** p50/p95/p99: linear-interpolated quantiles, none for a
//!   group that mixes device types of different nominal voltages (only
//!   when all types were asked for together); **compliance**:
//!   the share of voltage readings within +-10% of the device type's nominal
//!   (230 V meters, 400 V transformers, 11 kV feeders); **anomalies**: the
//!   voltage readings outside it.

//!
//! - **a measure's figures** (`--measure`): count, sum, min, max, mean
//!   and exact linear-interpolated p50/p90/p95/p99 of its readings.
//!
//! The parts: `keys` (group keys resolved against the readings), `fold`
//! (the one fold every view runs), `measures` (any measure's figures).
//! Here: the requests, and each view's figures as a table.

use std::str::FromStr;

use polars::prelude::*;

use crate::LakeError;
// The operator's words for dimensions belong to the readings, which filter
// by them too; re-exported here, where callers met them first.
pub use crate::readings::dimension_column;
use crate::readings::{MEASURES, Readings, ReadingsQuery, WATT, measure_name};
use crate::table::{DAY, DEMAND_INTERVAL_US, DEVICE, HOUR, INTERVAL, MONTH, WEEK};
use fold::{Fold, Group, device_time_order};
use keys::resolve;

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
    /// The figures of these measures (count, sum, min, max, mean,
    /// percentiles) instead of the energy figures.
    pub measures: Vec<String>,
    /// Every device type in one figure; by default (false) the view groups
    /// by `DeviceType` too, where the extracts have it.
    pub all_types: bool,
    /// The gap limit of energy integrated from power; `None`:
    /// [`DEFAULT_MAX_GAP_US`].
    pub max_gap_us: Option<i64>,
}

/// The dimension that says what kind of device a record came from.
pub const DEVICE_TYPE: &str = "DeviceType";

/// Power readings further apart than this integrate to no energy: an
/// hour, four of Gridwatch's 15-minute readings missed in a row.
pub const DEFAULT_MAX_GAP_US: i64 = 3_600_000_000;

impl AggregateRequest {
    /// The readings this request reads.
    pub fn query(&self) -> ReadingsQuery {
        let extra = self
            .measures
            .iter()
            .map(|m| measure_name(m))
            .filter(|m| !MEASURES.contains(&m.as_str()))
            .collect::<std::collections::BTreeSet<_>>();
        ReadingsQuery {
            filters: self.filters.clone(),
            measures: extra.into_iter().collect(),
            names: !self.measures.is_empty(),
            ..ReadingsQuery::new(self.from_us, self.to_us)
        }
    }

    /// The group keys as the view folds them: with `DeviceType` added
    /// (before the periods) unless all types were asked for together, the
    /// keys name it already, or a filter keeps one type; and only where
    /// the readings have the dimension. Says whether it was added.
    pub fn keys_for(&self, readings: &Readings) -> (Vec<GroupKey>, bool) {
        self.keys_with_type(readings.dimension(DEVICE_TYPE).is_some())
    }

    /// [`AggregateRequest::keys_for`] where the readings have the
    /// `DeviceType` dimension or not (`has_type`): Athena's table always
    /// has the column.
    pub fn keys_with_type(&self, has_type: bool) -> (Vec<GroupKey>, bool) {
        const TYPE: &str = DEVICE_TYPE;
        let mut by = self.by.clone();
        let named = by
            .iter()
            .any(|k| matches!(k, GroupKey::Dimension(d) if d == TYPE));
        let filtered = self
            .filters
            .iter()
            .any(|(k, _)| dimension_column(k) == TYPE);
        if self.all_types || named || filtered || !has_type {
            return (by, false);
        }
        let at = by
            .iter()
            .position(|k| !matches!(k, GroupKey::Dimension(_) | GroupKey::Device))
            .unwrap_or(by.len());
        by.insert(at, GroupKey::Dimension(TYPE.into()));
        (by, true)
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

/// The energy views need power or an energy counter: one of the two.
fn require_power_or_energy(readings: &Readings) -> Result<(), LakeError> {
    let [watt, energy, _] = readings.measures_seen;
    if readings.report.records == 0 || watt || energy {
        return Ok(());
    }
    Err(LakeError::MissingMeasure("watt or energy"))
}

impl Readings {
    /// The strategic figures per group, sorted by the keys, or the `top`
    /// groups by energy.
    pub fn aggregate(&self, by: &[GroupKey], top: Option<usize>) -> Result<DataFrame, LakeError> {
        self.aggregate_with_gap(by, top, DEFAULT_MAX_GAP_US)
    }

    /// [`Readings::aggregate`] with another gap limit for energy from power.
    pub fn aggregate_with_gap(
        &self,
        by: &[GroupKey],
        top: Option<usize>,
        max_gap_us: i64,
    ) -> Result<DataFrame, LakeError> {
        require_power_or_energy(self)?;
        let mut fold = Fold::new(self, resolve(self, by)?);
        fold.max_gap_us = max_gap_us;
        let mut fold = fold.run(true)?;
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
            Column::new(
                "energy_source".into(),
                groups
                    .iter()
                    .map(|g| match (g.from_counter, g.from_power) {
                        (true, true) => Some("counter and power"),
                        (true, false) => Some(ENERGY_FROM_COUNTER),
                        (false, true) => Some(ENERGY_FROM_POWER),
                        (false, false) => None,
                    })
                    .collect::<Vec<_>>(),
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

/// `energy_source` of a group whose devices have energy counters.
pub const ENERGY_FROM_COUNTER: &str = "counter";
/// `energy_source` of a group whose energy was integrated from power.
pub const ENERGY_FROM_POWER: &str = "power";

/// Reads the request's range and computes its strategic figures, grouped
/// by exactly the request's keys.
pub fn aggregate(
    lake: &std::path::Path,
    req: &AggregateRequest,
) -> Result<(DataFrame, crate::LoadReport), LakeError> {
    let readings = Readings::scan(lake, &req.query())?;
    let gap = req.max_gap_us.unwrap_or(DEFAULT_MAX_GAP_US);
    let out = readings.aggregate_with_gap(&req.by, req.top, gap)?;
    Ok((out, readings.report))
}

/// The measures and dimensions the extracts of a range hold.
pub fn catalog(
    lake: &std::path::Path,
    from_us: i64,
    to_us: i64,
    cancel: &std::sync::atomic::AtomicBool,
) -> Result<(gridwatch_types::LakeCatalog, crate::LoadReport), LakeError> {
    let query = ReadingsQuery {
        names: true,
        ..ReadingsQuery::new(from_us, to_us)
    };
    let readings = Readings::scan_cancellable(lake, &query, cancel)?;
    let mut dimensions: Vec<String> = readings.dimensions.iter().map(|(n, _)| n.clone()).collect();
    dimensions.sort();
    let catalog = gridwatch_types::LakeCatalog {
        measures: readings.measure_names.clone(),
        dimensions,
        records: readings.report.records as u64,
    };
    Ok((catalog, readings.report))
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

mod fold;
mod keys;
mod measures;
