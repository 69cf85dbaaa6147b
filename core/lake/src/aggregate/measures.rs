//! Any measure's figures per group: count, sum, min, max, mean and exact
//! linear-interpolated p50/p90/p95/p99. No order is needed (unlike energy),
//! so each batch is walked as it lies; what a group keeps is a count per
//! distinct value, from which the exact quantiles follow.

use gridwatch_types::nominal_voltage;
use polars::prelude::*;

use super::GroupKey;
use super::fold::{Fold, quantiles};
use super::keys::{MonthOf, resolve};
use crate::LakeError;
use crate::readings::{Batch, MEASURES, Readings, VOLTAGE, measure_name};

/// The quantiles a measure's figures give.
const QUANTILES: [f64; 4] = [0.5, 0.9, 0.95, 0.99];
const QUANTILE_NAMES: [&str; 4] = ["p50", "p90", "p95", "p99"];

/// Where a measure's values are in a batch.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// One of watt, energy, voltage.
    Fixed(usize),
    Extra(usize),
}

impl Source {
    fn column(self, b: &Batch) -> &[f64] {
        match self {
            Source::Fixed(0) => &b.watt,
            Source::Fixed(1) => &b.energy,
            Source::Fixed(_) => &b.voltage,
            Source::Extra(j) => &b.extra[j],
        }
    }
}

/// One measure's state in one group.
#[derive(Debug, Default)]
struct Stats {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    /// Readings per distinct value (its bits).
    values: foldhash::HashMap<u64, u64>,
    /// Voltage only: the nominal of the first reading, and whether another
    /// came (no figure mixes 230 V and 11 kV readings).
    nominal: f64,
    mixed_nominal: bool,
}

impl Stats {
    fn add(&mut self, v: f64) {
        if self.count == 0 {
            self.min = v;
            self.max = v;
        } else {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
        self.count += 1;
        self.sum += v;
        *self.values.entry(v.to_bits()).or_insert(0) += 1;
    }
}

fn known_measures(readings: &Readings) -> String {
    readings.measure_names.join(", ")
}

impl Readings {
    /// The figures of each measure per group, sorted by the keys. A measure
    /// the extracts lack is refused with the ones they hold.
    pub fn measure_figures(
        &self,
        by: &[GroupKey],
        measures: &[String],
    ) -> Result<DataFrame, LakeError> {
        let names: Vec<String> = measures.iter().map(|m| measure_name(m)).collect();
        let mut sources = Vec::with_capacity(names.len());
        for name in &names {
            let seen = self.measure_names.iter().any(|m| m == name);
            if self.report.records > 0 && !seen {
                return Err(LakeError::UnknownKey {
                    name: format!("measure {name}"),
                    known: known_measures(self),
                });
            }
            let source = match MEASURES.iter().position(|m| m == name) {
                Some(i) => Source::Fixed(i),
                None => match self.extra.iter().position(|m| m == name) {
                    Some(j) => Source::Extra(j),
                    None => {
                        return Err(LakeError::UnknownKey {
                            name: format!("measure {name} (not read)"),
                            known: self.extra.join(", "),
                        });
                    }
                },
            };
            sources.push(source);
        }
        let mut fold = Fold::new(self, resolve(self, by)?);
        let mut stats: Vec<Vec<Stats>> = Vec::new();
        let mut key: Vec<i64> = Vec::with_capacity(by.len());
        let mut last_key: Vec<i64> = Vec::new();
        self.for_each_batch(|b| {
            let mut month = MonthOf::default();
            let mut last_group = u32::MAX;
            let columns: Vec<&[f64]> = sources.iter().map(|s| s.column(b)).collect();
            for i in 0..b.len() {
                key.clear();
                for p in &fold.parts {
                    key.push(p.value(b, i, &mut month));
                }
                if last_group == u32::MAX || key != last_key {
                    last_group = fold.group(&key);
                    last_key.clone_from(&key);
                    if stats.len() < fold.groups.len() {
                        stats.resize_with(fold.groups.len(), || {
                            (0..names.len()).map(|_| Stats::default()).collect()
                        });
                    }
                }
                let group = &mut stats[last_group as usize];
                for (m, col) in columns.iter().enumerate() {
                    let v = col[i];
                    if v.is_nan() {
                        continue;
                    }
                    let st = &mut group[m];
                    if names[m] == VOLTAGE {
                        let nominal = fold
                            .device_type
                            .and_then(|d| fold.nominal.get(b.dim(d, i) as usize).copied())
                            .unwrap_or_else(|| nominal_voltage(None));
                        if st.count == 0 {
                            st.nominal = nominal;
                        } else if st.nominal != nominal {
                            st.mixed_nominal = true;
                        }
                    }
                    st.add(v);
                }
            }
            Ok(())
        })?;
        let mut order: Vec<u32> = (0..fold.groups.len() as u32).collect();
        order.sort_by(|&a, &b| fold.compare_keys(&fold.keys[a as usize], &fold.keys[b as usize]));
        let mut columns = fold.key_columns(by, &order);
        for (m, name) in names.iter().enumerate() {
            let of = |g: u32| &stats[g as usize][m];
            let figure = |f: &dyn Fn(&Stats) -> f64| -> Vec<Option<f64>> {
                order
                    .iter()
                    .map(|&g| {
                        let st = of(g);
                        (st.count > 0 && !st.mixed_nominal).then(|| f(st))
                    })
                    .collect()
            };
            columns.push(Column::new(
                format!("{name}_count").into(),
                order
                    .iter()
                    .map(|&g| of(g).count as i64)
                    .collect::<Vec<_>>(),
            ));
            columns.push(Column::new(
                format!("{name}_sum").into(),
                figure(&|s| s.sum),
            ));
            columns.push(Column::new(
                format!("{name}_min").into(),
                figure(&|s| s.min),
            ));
            columns.push(Column::new(
                format!("{name}_max").into(),
                figure(&|s| s.max),
            ));
            columns.push(Column::new(
                format!("{name}_mean").into(),
                figure(&|s| s.sum / s.count as f64),
            ));
            let qs: Vec<Option<[f64; 4]>> = order
                .iter()
                .map(|&g| {
                    let st = of(g);
                    (st.count > 0 && !st.mixed_nominal)
                        .then(|| quantiles(&st.values, st.count, QUANTILES))
                })
                .collect();
            for (k, q) in QUANTILE_NAMES.iter().enumerate() {
                columns.push(Column::new(
                    format!("{name}_{q}").into(),
                    qs.iter().map(|v| v.map(|v| v[k])).collect::<Vec<_>>(),
                ));
            }
        }
        Ok(DataFrame::new(order.len(), columns)?)
    }
}
