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

//!
//! The parts: `keys` (group keys resolved against the readings), `fold`
//! (the one fold every view runs). Here: the requests, and each view's
//! figures as a table.

use std::str::FromStr;

use polars::prelude::*;

use crate::LakeError;
// The operator's words for dimensions belong to the readings, which filter
// by them too; re-exported here, where callers met them first.
pub use crate::readings::dimension_column;
use crate::readings::{MEASURES, Readings, ReadingsQuery, WATT};
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

mod fold;
mod keys;
