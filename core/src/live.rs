//! The live view: what the operator's screen needs from the stream of
//! committed records, gathered between two UI refreshes.
//!
//! Ingest calls [`LiveView::observe`] after each commit; the shell calls
//! [`LiveView::take_batch`] a few times a second and sends the result to the
//! UI. Only what changed travels: the devices with new readings, the watched
//! device's new points, and one fleet point.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use gridwatch_types::{
    DeviceLatest, FleetPoint, LiveBatch, MeasureValue, PipelineStats, SeriesPoint,
};

use crate::codec::Record;

/// The measure whose per-device latest values sum to the fleet's power.
pub const POWER_MEASURE: &str = "watt";

/// Upper bound of points kept per measure for the watched device between two
/// batches, so a UI that stops taking batches cannot grow memory without end.
const MAX_WATCHED_POINTS: usize = 20_000;

#[derive(Default)]
struct Latest {
    time_us: i64,
    values: Vec<(String, f64)>,
}

struct LiveState {
    seq: u64,
    latest: HashMap<String, Latest>,
    changed: Vec<String>,
    watched: Option<String>,
    watched_new: BTreeMap<String, Vec<SeriesPoint>>,
    power: HashMap<String, f64>,
    total_watt: f64,
    newest_us: i64,
    stats: PipelineStats,
    readings_by_measure: BTreeMap<String, u64>,
    records_since_take: u64,
    last_take: Instant,
}

impl Default for LiveState {
    fn default() -> Self {
        LiveState {
            seq: 0,
            latest: HashMap::new(),
            changed: Vec::new(),
            watched: None,
            watched_new: BTreeMap::new(),
            power: HashMap::new(),
            total_watt: 0.0,
            newest_us: 0,
            stats: PipelineStats::default(),
            readings_by_measure: BTreeMap::new(),
            records_since_take: 0,
            last_take: Instant::now(),
        }
    }
}

#[derive(Default)]
pub struct LiveView {
    state: Mutex<LiveState>,
}

impl LiveView {
    pub fn new() -> Self {
        LiveView::default()
    }

    fn lock(&self) -> MutexGuard<'_, LiveState> {
        // A panic while holding the lock leaves counters at worst stale; the
        // view stays usable, so poisoning is ignored.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes note of readings that came again with another value.
    pub fn observe_conflicts(&self, conflicts: u64) {
        if conflicts > 0 {
            self.lock().stats.readings_conflicting += conflicts;
        }
    }

    /// Takes note of records just committed to the cache, and of records
    /// quarantined in the same batch.
    pub fn observe(&self, records: &[Record], quarantined: u64, readings_new: u64) {
        let mut guard = self.lock();
        let s = &mut *guard;
        s.stats.records_ingested += records.len() as u64;
        s.stats.readings_ingested += readings_new;
        s.stats.records_quarantined += quarantined;
        s.records_since_take += records.len() as u64;
        for r in records {
            for (m, _) in &r.measures {
                match s.readings_by_measure.get_mut(m.as_str()) {
                    Some(n) => *n += 1,
                    None => {
                        s.readings_by_measure.insert(m.clone(), 1);
                    }
                }
            }
            s.newest_us = s.newest_us.max(r.time_us);
            let latest = match s.latest.get_mut(&r.device_id) {
                Some(l) => l,
                None => s.latest.entry(r.device_id.clone()).or_default(),
            };
            if r.time_us < latest.time_us {
                continue; // late data never replaces a newer latest value
            }
            if latest.values.is_empty() || latest.time_us != r.time_us {
                s.changed.push(r.device_id.clone());
            }
            latest.time_us = r.time_us;
            latest.values.clear();
            latest.values.extend(r.measures.iter().cloned());
            if let Some((_, w)) = r.measures.iter().find(|(m, _)| m == POWER_MEASURE) {
                let old = s.power.insert(r.device_id.clone(), *w).unwrap_or(0.0);
                s.total_watt += w - old;
            }
            if s.watched.as_deref() == Some(r.device_id.as_str()) {
                for (m, v) in &r.measures {
                    let points = s.watched_new.entry(m.clone()).or_default();
                    if points.len() < MAX_WATCHED_POINTS {
                        points.push(SeriesPoint {
                            time_us: r.time_us,
                            value: *v,
                        });
                    }
                }
            }
        }
        s.stats.devices = s.latest.len() as u32;
    }

    /// Chooses the device whose every new reading goes to the UI.
    pub fn watch(&self, device_id: Option<String>) {
        let mut s = self.lock();
        s.watched = device_id;
        s.watched_new.clear();
    }

    pub fn stats(&self) -> PipelineStats {
        self.lock().stats
    }

    /// Everything new since the previous call.
    pub fn take_batch(&self) -> LiveBatch {
        let mut guard = self.lock();
        let s = &mut *guard;
        s.seq += 1;
        let elapsed = s.last_take.elapsed().as_secs_f64();
        if elapsed > 0.0 {
            s.stats.records_per_s = s.records_since_take as f64 / elapsed;
        }
        s.records_since_take = 0;
        s.last_take = Instant::now();

        let mut changed = std::mem::take(&mut s.changed);
        changed.sort_unstable();
        changed.dedup();
        let devices = changed
            .into_iter()
            .filter_map(|d| {
                let l = s.latest.get(&d)?;
                Some(DeviceLatest {
                    time_us: l.time_us,
                    values: l
                        .values
                        .iter()
                        .map(|(m, v)| MeasureValue {
                            measure: m.clone(),
                            value: *v,
                        })
                        .collect(),
                    device_id: d,
                })
            })
            .collect();
        let fleet = (!s.power.is_empty()).then_some(FleetPoint {
            time_us: s.newest_us,
            total_watt: s.total_watt,
            devices_reporting: s.power.len() as u32,
        });
        LiveBatch {
            seq: s.seq,
            fleet,
            devices,
            watched_device: s.watched.clone(),
            watched: std::mem::take(&mut s.watched_new),
            stats: s.stats,
            readings_by_measure: s.readings_by_measure.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(d: &str, t: i64, w: f64) -> Record {
        Record {
            device_id: d.into(),
            time_us: t,
            time_adjusted: false,
            measure_keys: Vec::new(),
            measures: vec![("watt".into(), w), ("voltage".into(), 230.0)],
            dimensions: vec![],
        }
    }

    #[test]
    fn fleet_power_is_the_sum_of_each_devices_latest() {
        let live = LiveView::new();
        live.observe(&[rec("a", 1, 100.0), rec("b", 1, 50.0)], 0, 4);
        live.observe(&[rec("a", 2, 120.0)], 1, 2);
        let b = live.take_batch();
        let fleet = b.fleet.unwrap();
        assert_eq!(fleet.total_watt, 170.0);
        assert_eq!(fleet.devices_reporting, 2);
        assert_eq!(fleet.time_us, 2);
        assert_eq!(b.stats.records_ingested, 3);
        assert_eq!(b.stats.records_quarantined, 1);
        assert_eq!(b.readings_by_measure["watt"], 3);
        assert_eq!(b.readings_by_measure["voltage"], 3);
        let names: Vec<_> = b.devices.iter().map(|d| d.device_id.as_str()).collect();
        assert_eq!(names, vec!["a", "b"]);
        // Nothing new: no devices travel again.
        assert!(live.take_batch().devices.is_empty());
    }

    #[test]
    fn late_readings_do_not_replace_newer_ones() {
        let live = LiveView::new();
        live.observe(&[rec("a", 10, 100.0)], 0, 2);
        live.observe(&[rec("a", 5, 999.0)], 0, 2);
        let b = live.take_batch();
        assert_eq!(b.fleet.unwrap().total_watt, 100.0);
        assert_eq!(b.devices[0].time_us, 10);
    }

    #[test]
    fn only_the_watched_device_sends_its_points() {
        let live = LiveView::new();
        live.watch(Some("b".into()));
        live.observe(
            &[rec("a", 1, 1.0), rec("b", 1, 2.0), rec("b", 2, 3.0)],
            0,
            6,
        );
        let batch = live.take_batch();
        assert_eq!(batch.watched_device.as_deref(), Some("b"));
        let watts: Vec<f64> = batch.watched["watt"].iter().map(|p| p.value).collect();
        assert_eq!(watts, vec![2.0, 3.0]);
        assert!(live.take_batch().watched.is_empty());
    }
}
