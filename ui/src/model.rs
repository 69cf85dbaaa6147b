//! The UI's own picture of the fleet, built from replies and live batches.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use gridwatch_types::{
    ChartSeries, DeviceInfo, DeviceLatest, FleetPoint, FleetStatus, LiveBatch, Mode, PipelineStats,
    ShardStatus,
};

/// How much live history the charts keep.
pub const LIVE_WINDOW_US: i64 = 15 * 60 * 1_000_000;
/// Most points kept per series; older ones drop first.
const MAX_POINTS: usize = 50_000;

#[derive(Debug, Clone, Default)]
pub struct DeviceRow {
    pub info: Option<DeviceInfo>,
    /// Shared with the heatmap's recent readings: one allocation a reading.
    pub latest: Option<Arc<DeviceLatest>>,
}

impl DeviceRow {
    pub fn dimension(&self, key: &str) -> Option<&str> {
        self.info
            .as_ref()
            .and_then(|i| i.dimensions.get(key))
            .map(String::as_str)
    }

    pub fn latest_value(&self, measure: &str) -> Option<f64> {
        self.latest
            .as_ref()?
            .values
            .iter()
            .find(|m| m.measure == measure)
            .map(|m| m.value)
    }
}

/// A time series as [seconds since epoch, value] pairs, ready for egui_plot.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub points: VecDeque<[f64; 2]>,
}

impl Series {
    pub fn push(&mut self, time_us: i64, value: f64) {
        let t = time_us as f64 / 1e6;
        // Live points arrive in order per device; one that is older than the
        // newest we hold came with history already loaded and is dropped.
        if self.points.back().is_some_and(|p| p[0] > t) {
            return;
        }
        self.points.push_back([t, value]);
        if self.points.len() > MAX_POINTS {
            self.points.pop_front();
        }
    }

    /// Drops points older than `cutoff_us`.
    pub fn trim_before(&mut self, cutoff_us: i64) {
        let cutoff = cutoff_us as f64 / 1e6;
        while self.points.front().is_some_and(|p| p[0] < cutoff) {
            self.points.pop_front();
        }
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    pub fn to_vec(&self) -> Vec<[f64; 2]> {
        self.points.iter().copied().collect()
    }
}

/// One measure across the fleet's latest readings.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasureStats {
    pub measure: String,
    /// The device type these devices share, when the fleet mixes types: a
    /// feeder's 11 kV and a meter's 230 V make no percentile together.
    pub device_type: Option<String>,
    pub devices: usize,
    pub avg: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
}

#[derive(Debug, Default)]
pub struct Model {
    pub status: Option<FleetStatus>,
    pub devices: BTreeMap<String, DeviceRow>,
    pub stats: PipelineStats,
    /// The device whose charts are shown.
    pub selected: Option<String>,
    /// Its series, per measure.
    pub series: BTreeMap<String, Series>,
    /// Fleet total power over time, in W.
    pub fleet: Series,
    pub last_fleet: Option<FleetPoint>,
    pub batches_received: u64,
    pub newest_us: i64,
    /// The stream's shards, in Kinesis mode.
    pub shards: Vec<ShardStatus>,
    pub alarms: crate::alarms::Alarms,
    /// Each device's recent readings, newest last, for the heatmap.
    pub recent: BTreeMap<String, VecDeque<Arc<DeviceLatest>>>,
    /// `fleet_stats()` as of the last live batch (drawn every frame,
    /// changed only by batches).
    pub fleet_summary: Vec<MeasureStats>,
    /// Readings received per measure since the pipeline started.
    pub readings_by_measure: BTreeMap<String, u64>,
    /// The values each dimension takes across the listed devices, for the
    /// pickers.
    pub dimension_values: BTreeMap<String, std::collections::BTreeSet<String>>,
    /// The clock times are shown in, in every view.
    pub clock: crate::format::Clock,
    /// Readings ingested per second, as the frames saw the count grow.
    pub rate: crate::freshness::Rate,
}

/// Readings kept per device for the heatmap.
pub const RECENT_PER_DEVICE: usize = 150;

impl Model {
    /// Takes a new status; a change of data source starts the picture afresh.
    pub fn apply_status(&mut self, status: FleetStatus) {
        let source = |s: &FleetStatus| (s.mode, s.stream.clone());
        if self
            .status
            .as_ref()
            .is_some_and(|old| source(old) != source(&status))
        {
            let batches = self.batches_received;
            let clock = self.clock;
            *self = Model {
                batches_received: batches,
                clock,
                ..Model::default()
            };
        }
        self.status = Some(status);
    }

    pub fn mode(&self) -> Mode {
        self.status.as_ref().map_or(Mode::Embedded, |s| s.mode)
    }

    /// Whether a simulated fleet is running (into any sink).
    pub fn fleet_running(&self) -> bool {
        self.status.as_ref().is_some_and(|s| s.running.is_some())
    }

    pub fn apply_devices(&mut self, list: Vec<DeviceInfo>) {
        for info in list {
            for (k, v) in &info.dimensions {
                if !self.dimension_values.get(k).is_some_and(|s| s.contains(v)) {
                    self.dimension_values
                        .entry(k.clone())
                        .or_default()
                        .insert(v.clone());
                }
            }
            let key = info.device_id.clone();
            self.devices.entry(key).or_default().info = Some(info);
        }
    }

    pub fn apply_live(&mut self, batch: LiveBatch) {
        self.batches_received += 1;
        self.stats = batch.stats;
        self.readings_by_measure = batch.readings_by_measure;
        for latest in batch.devices {
            let latest = Arc::new(latest);
            self.newest_us = self.newest_us.max(latest.time_us);
            let device_type = self
                .devices
                .get(&latest.device_id)
                .and_then(|r| r.dimension("DeviceType"));
            self.alarms.observe(&latest, device_type);
            // Known devices (nearly all) are found without allocating a key.
            let recent = match self.recent.get_mut(&latest.device_id) {
                Some(r) => r,
                None => self.recent.entry(latest.device_id.clone()).or_default(),
            };
            recent.push_back(latest.clone());
            if recent.len() > RECENT_PER_DEVICE {
                recent.pop_front();
            }
            match self.devices.get_mut(&latest.device_id) {
                Some(row) => row.latest = Some(latest),
                None => {
                    let key = latest.device_id.clone();
                    self.devices.entry(key).or_default().latest = Some(latest);
                }
            }
        }
        if let Some(f) = batch.fleet {
            if self.last_fleet.is_none_or(|last| last.time_us != f.time_us) {
                self.fleet.push(f.time_us, f.total_watt);
            }
            self.last_fleet = Some(f);
        }
        // Points of a device we no longer watch (the switch raced a batch)
        // are not ours to draw.
        if batch.watched_device.is_some() && batch.watched_device == self.selected {
            for (measure, points) in batch.watched {
                let series = self.series.entry(measure).or_default();
                for p in points {
                    series.push(p.time_us, p.value);
                }
            }
        }
        // Chosen before its first reading came (from the cached list):
        // its newest reading starts the charts.
        if self.series.is_empty() {
            self.chart_latest();
        }
        self.fleet_summary = self.fleet_stats();
        let cutoff = self.newest_us - LIVE_WINDOW_US;
        self.fleet.trim_before(cutoff);
        for s in self.series.values_mut() {
            s.trim_before(cutoff);
        }
    }

    /// History from the cache for the selected device: laid under what live
    /// points are already there.
    pub fn apply_chart(&mut self, chart: ChartSeries) {
        if chart.device_id != self.selected {
            return;
        }
        let mut history = Series::default();
        for c in &chart.columns {
            // Each pixel column becomes its extremes, in time order, so the
            // line still shows every spike the column holds.
            history.push(c.first_us, c.min);
            if c.count > 1 {
                history.push(c.last_us.max(c.first_us + 1), c.max);
            }
        }
        let live = self.series.remove(&chart.measure).unwrap_or_default();
        let after = history.points.back().map_or(f64::MIN, |p| p[0]);
        history
            .points
            .extend(live.points.into_iter().filter(|p| p[0] > after));
        self.series.insert(chart.measure, history);
    }

    /// Charts another device; its newest reading is on the charts at once,
    /// before its history and next readings arrive.
    pub fn select(&mut self, device: Option<String>) {
        self.selected = device;
        self.series.clear();
        self.chart_latest();
    }

    /// Puts the selected device's newest reading on its charts.
    fn chart_latest(&mut self) {
        let latest = self
            .selected
            .as_ref()
            .and_then(|d| self.devices.get(d))
            .and_then(|r| r.latest.clone());
        if let Some(l) = latest {
            for v in &l.values {
                self.series
                    .entry(v.measure.clone())
                    .or_default()
                    .push(l.time_us, v.value);
            }
        }
    }

    /// Across the fleet's latest readings, per measure (and per device type
    /// when the fleet has several): how many devices report it, the
    /// average, and the 90th, 95th and 99th percentiles.
    pub fn fleet_stats(&self) -> Vec<MeasureStats> {
        let mut types = self
            .devices
            .values()
            .filter_map(|r| r.dimension("DeviceType"))
            .collect::<std::collections::BTreeSet<_>>();
        let mixed = types.len() > 1;
        types.clear();
        let mut groups: BTreeMap<(&str, Option<&str>), Vec<f64>> = BTreeMap::new();
        for row in self.devices.values() {
            if let Some(l) = &row.latest {
                let kind = if mixed {
                    row.dimension("DeviceType")
                } else {
                    None
                };
                for v in &l.values {
                    groups
                        .entry((v.measure.as_str(), kind))
                        .or_default()
                        .push(v.value);
                }
            }
        }
        groups
            .into_iter()
            .map(|((m, kind), mut values)| {
                values.sort_by(f64::total_cmp);
                // Linear interpolation between closest ranks.
                let q = |p: f64| {
                    let pos = p * (values.len() - 1) as f64;
                    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
                    values[lo] + (values[hi] - values[lo]) * (pos - lo as f64)
                };
                MeasureStats {
                    measure: m.to_owned(),
                    device_type: kind.map(str::to_owned),
                    devices: values.len(),
                    avg: values.iter().sum::<f64>() / values.len() as f64,
                    p90: q(0.90),
                    p95: q(0.95),
                    p99: q(0.99),
                }
            })
            .collect()
    }

    /// The heatmap of `measure`: for each of `devices`, the average of its
    /// readings in each of `columns` equal spans ending at the newest reading.
    pub fn heatmap(
        &self,
        devices: &[String],
        measure: &str,
        span_us: i64,
        columns: usize,
    ) -> Vec<Vec<Option<f64>>> {
        let end = self.newest_us + 1;
        let start = end - span_us;
        devices
            .iter()
            .map(|d| {
                let mut sums = vec![(0.0, 0u32); columns];
                for r in self.recent.get(d).into_iter().flatten() {
                    if r.time_us < start || r.time_us >= end {
                        continue;
                    }
                    let col =
                        ((r.time_us - start) as i128 * columns as i128 / span_us as i128) as usize;
                    if let Some(v) = r.values.iter().find(|v| v.measure == measure) {
                        sums[col.min(columns - 1)].0 += v.value;
                        sums[col.min(columns - 1)].1 += 1;
                    }
                }
                sums.into_iter()
                    .map(|(s, n)| (n > 0).then(|| s / f64::from(n)))
                    .collect()
            })
            .collect()
    }

    /// Measures the selected device reports, from its latest reading.
    pub fn selected_measures(&self) -> Vec<String> {
        self.selected
            .as_ref()
            .and_then(|d| self.devices.get(d))
            .and_then(|row| row.latest.as_ref())
            .map(|l| l.values.iter().map(|m| m.measure.clone()).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridwatch_types::{ChartColumn, MeasureValue, SeriesPoint};

    fn batch(seq: u64, device: &str, t: i64, watched: Option<&str>) -> LiveBatch {
        let mut w = BTreeMap::new();
        if watched.is_some() {
            w.insert(
                "watt".to_string(),
                vec![SeriesPoint {
                    time_us: t,
                    value: 5.0,
                }],
            );
        }
        LiveBatch {
            seq,
            fleet: Some(FleetPoint {
                time_us: t,
                total_watt: 2000.0,
                devices_reporting: 1,
            }),
            devices: vec![DeviceLatest {
                device_id: device.into(),
                time_us: t,
                values: vec![MeasureValue {
                    measure: "watt".into(),
                    value: 5.0,
                }],
            }],
            watched_device: watched.map(String::from),
            readings_by_measure: BTreeMap::from([("watt".to_string(), seq)]),
            watched: w,
            stats: PipelineStats::default(),
        }
    }

    #[test]
    fn live_batches_fill_the_list_the_fleet_and_the_watched_series() {
        let mut m = Model::default();
        m.select(Some("a".into()));
        m.apply_live(batch(1, "a", 1_000_000, Some("a")));
        m.apply_live(batch(2, "b", 2_000_000, Some("a")));
        assert_eq!(m.devices.len(), 2);
        assert_eq!(m.fleet.to_vec(), vec![[1.0, 2000.0], [2.0, 2000.0]]);
        assert_eq!(m.series["watt"].len(), 2);
        // A batch for a device we no longer watch is ignored.
        m.apply_live(batch(3, "b", 3_000_000, Some("b")));
        assert_eq!(m.series["watt"].len(), 2);
        // The fleet panel's reading counts come from the pipeline.
        assert_eq!(m.readings_by_measure["watt"], 3);
    }

    #[test]
    fn history_goes_under_live_points() {
        let mut m = Model::default();
        m.select(Some("a".into()));
        m.apply_live(batch(1, "a", 10_000_000, Some("a")));
        m.apply_chart(ChartSeries {
            device_id: Some("a".into()),
            measure: "watt".into(),
            columns: vec![ChartColumn {
                first_us: 1_000_000,
                last_us: 2_000_000,
                min: 1.0,
                max: 3.0,
                sum: 4.0,
                count: 2,
            }],
        });
        let ts: Vec<f64> = m.series["watt"].to_vec().iter().map(|p| p[0]).collect();
        assert_eq!(ts, vec![1.0, 2.0, 10.0]);
    }

    #[test]
    fn fleet_stats_interpolate_percentiles() {
        let mut m = Model::default();
        for i in 0..=100 {
            m.apply_live(batch(i, &format!("d{i}"), 1, None));
            m.devices
                .get_mut(&format!("d{i}"))
                .unwrap()
                .latest
                .as_mut()
                .map(Arc::make_mut)
                .unwrap()
                .values[0]
                .value = i as f64;
        }
        let s = &m.fleet_stats()[0];
        assert_eq!((s.measure.as_str(), s.devices), ("watt", 101));
        assert_eq!(s.avg, 50.0);
        assert_eq!((s.p90, s.p95, s.p99), (90.0, 95.0, 99.0));
    }

    #[test]
    fn a_mixed_fleet_gets_its_figures_per_device_type() {
        let mut m = Model::default();
        let info = |id: &str, kind: &str| DeviceInfo {
            device_id: id.into(),
            dimensions: BTreeMap::from([("DeviceType".to_string(), kind.to_string())]),
            first_seen_us: 0,
            last_seen_us: 0,
        };
        m.apply_devices(vec![info("m1", "smart_meter"), info("f1", "feeder")]);
        for (d, v) in [("m1", 230.0), ("f1", 11_000.0)] {
            let mut b = batch(1, d, 1, None);
            b.devices[0].values[0] = MeasureValue {
                measure: "voltage".into(),
                value: v,
            };
            m.apply_live(b);
        }
        let stats = m.fleet_stats();
        let by_type: Vec<(Option<&str>, f64)> = stats
            .iter()
            .map(|s| (s.device_type.as_deref(), s.avg))
            .collect();
        assert_eq!(
            by_type,
            vec![(Some("feeder"), 11_000.0), (Some("smart_meter"), 230.0)]
        );
    }

    #[test]
    fn the_heatmap_averages_each_devices_readings_per_column() {
        let mut m = Model::default();
        for (i, t) in [1_000_000, 1_500_000, 9_000_000].iter().enumerate() {
            let mut b = batch(i as u64, "a", *t, None);
            b.devices[0].values[0].value = (i + 1) as f64;
            m.apply_live(b);
        }
        let h = m.heatmap(&["a".into(), "b".into()], "watt", 10_000_000, 2);
        // Columns cover (0, 5 s] and (5 s, 10 s]: 1 and 2 average to 1.5.
        assert_eq!(h[0], vec![Some(1.5), Some(3.0)]);
        assert_eq!(h[1], vec![None, None]);
    }

    #[test]
    fn old_points_leave_the_window() {
        let mut m = Model::default();
        m.apply_live(batch(1, "a", 0, None));
        m.apply_live(batch(2, "a", LIVE_WINDOW_US + 1_000_000, None));
        assert_eq!(m.fleet.len(), 1);
    }
}
