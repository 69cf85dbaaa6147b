//! How fresh the picture is: the age of a reading, when a device or chart
//! is stale (past three of its intervals, as the alarm rules say), how far
//! the pipeline lags the clock, and how fast readings go in.

use std::collections::VecDeque;

use gridwatch_types::Mode;

use crate::model::{DeviceRow, Model};

/// The interval assumed when no fleet of ours says it (a followed stream).
const DEFAULT_INTERVAL_S: f64 = 1.0;
/// The window an ingest rate is measured over.
const RATE_WINDOW_S: f64 = 3.0;

/// Readings per second, from the pipeline's running count as frames see
/// it: the same count the top bar shows, so the two always agree.
#[derive(Debug, Default)]
pub struct Rate {
    samples: VecDeque<(f64, u64)>,
}

impl Rate {
    /// Takes the count `total` at `now_s`.
    pub fn observe(&mut self, now_s: f64, total: u64) {
        if self.samples.back().is_some_and(|(_, n)| *n > total) {
            // A new pipeline started its count again.
            self.samples.clear();
        }
        self.samples.push_back((now_s, total));
        while self
            .samples
            .front()
            .is_some_and(|(t, _)| now_s - t > RATE_WINDOW_S)
            && self.samples.len() > 2
        {
            self.samples.pop_front();
        }
    }

    /// Per second over the window; None until there is a window.
    pub fn per_s(&self) -> Option<f64> {
        let (t0, n0) = self.samples.front()?;
        let (t1, n1) = self.samples.back()?;
        (t1 - t0 >= 0.5).then(|| (n1 - n0) as f64 / (t1 - t0))
    }
}

impl Model {
    /// Whether something feeds the live view: a fleet of ours, or a stream.
    pub fn feeding(&self) -> bool {
        self.fleet_running() || self.mode() == Mode::Kinesis
    }

    /// The readings' interval, in seconds: the running fleet's.
    pub fn interval_s(&self) -> f64 {
        self.status
            .as_ref()
            .and_then(|s| s.running.as_ref())
            .map_or(DEFAULT_INTERVAL_S, |spec| spec.interval_ms as f64 / 1000.0)
    }

    /// A reading older than this is stale: the rules' intervals (three by
    /// default) of the fleet's interval.
    pub fn stale_after_s(&self) -> f64 {
        f64::from(self.alarms.rules.stale_intervals.max(1)) * self.interval_s()
    }

    /// How far the newest reading the pipeline delivered lags the clock,
    /// in seconds, while something feeds it.
    pub fn lag_s(&self, now_us: i64) -> Option<f64> {
        (self.feeding() && self.newest_us > 0)
            .then(|| ((now_us - self.newest_us) as f64 / 1e6).max(0.0))
    }

    /// Whether a device reported within the stale limit of the newest
    /// reading the pipeline delivered. Measured against the pipeline, not
    /// the clock: a backlog delays every device alike and makes none of
    /// them offline.
    pub fn online(&self, row: &DeviceRow) -> bool {
        row.latest
            .as_ref()
            .is_some_and(|l| (self.newest_us - l.time_us) as f64 / 1e6 <= self.stale_after_s())
    }
}

/// The age of a reading at `time_us`, in seconds, by the clock.
pub fn age_s(now_us: i64, time_us: i64) -> f64 {
    ((now_us - time_us) as f64 / 1e6).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_is_the_counts_change_over_the_window() {
        let mut r = Rate::default();
        assert_eq!(r.per_s(), None);
        r.observe(0.0, 0);
        r.observe(1.0, 50_000);
        r.observe(2.0, 100_000);
        assert_eq!(r.per_s(), Some(50_000.0));
        r.observe(10.0, 100_000);
        assert_eq!(r.per_s(), Some(0.0));
    }
}
